"""Accessibility of the panels: colour is never the only thing that tells two curves apart (no
browser), and in JupyterLab: every control of a lesson works from the keyboard alone, every figure
draws with its data on a CPU slowed 4x, and axe-core's WCAG 2.0/2.1 A and AA rules on a lesson page.

Each figure's text alternative (`Panel.summary`) is tested without a browser in test_panels.py and
here as the page shows it.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from browser.lab import LabServer, copy_lessons, start_lab, stop_lab
from browser.notebook import (
    notebook_problems,
    open_notebook,
    panels,
    plot_state,
    run_all_cells,
    screenshot_notebook,
    wait_for_plot_change,
    wait_for_widgets,
)
from panel_examples import all_panels, make
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from lnviz.panels.base import SUMMARY_CLASS

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("LNVIZ_SCREENSHOTS", REPO / "tests" / "_screenshots"))
#: The lesson driven by keyboard alone: two dropdowns and a slider.
KEYBOARD_LESSON = "02_invariance"
#: Lessons run with the CPU slowed 4x (Chromium's DevTools `Emulation.setCPUThrottlingRate`).
THROTTLED_LESSONS = ("01_batch_vs_layer", "02_invariance")
CPU_SLOWDOWN = 4
#: anywidget's own patience for a model's module, in ms: the slow-CPU tests keep it, where the other
#: browser tests stretch it (browser.notebook.ANYWIDGET_INIT_TIMEOUT_MS).
ANYWIDGET_OWN_TIMEOUT_MS = 2000
#: axe-core's rule tags for WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# How many Tab presses may lie between one control and the next (a label or the busy text may not).
MAX_TABS = 4
CONTROL_TIMEOUT_MS = 2000


# -- colour is never the only carrier (no browser) ------------------------------------------------


def line_look(trace) -> tuple | None:
    """How a line trace looks apart from its colour (dash, marker symbol, text on it); None when the
    trace draws no line (markers, areas, heatmaps, bars, hidden)."""
    if trace.type not in ("scatter", "scattergl") or trace.visible is False or trace.line.width == 0:
        return None
    points = max(len(trace.x if trace.x is not None else ()), len(trace.y if trace.y is not None else ()))
    # plotly's default mode: lines and markers below 20 points, else lines
    mode = trace.mode or ("lines+markers" if points < 20 else "lines")
    if "lines" not in mode:
        return None
    marker = (trace.marker.symbol or "circle") if "markers" in mode else None
    return (trace.line.dash or "solid", marker, "text" in mode)


def colour_only(figure) -> list[str]:
    """Pairs of line traces in one subplot that look alike but for their colour, one line each."""
    groups = defaultdict(list)
    for index, trace in enumerate(figure.data):
        look = line_look(trace)
        if look is not None:
            groups[(trace.xaxis or "x", trace.yaxis or "y", look)].append((index, trace.name, trace.line.color))
    found = []
    for (x, y, look), traces in groups.items():
        for a, (i, name_i, colour_i) in enumerate(traces):
            for j, name_j, colour_j in traces[a + 1 :]:
                # an unset colour takes the next colour of the colourway: different from any other trace's
                if colour_i is None or colour_j is None or colour_i != colour_j:
                    found.append(f"{x}/{y}: traces {i} {name_i!r} and {j} {name_j!r} differ only in colour ({look})")
    return found


def test_colour_only_check_finds_a_pair_told_apart_by_colour_alone():
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.add_scatter(y=list(range(30)), line=dict(color="red"))
    figure.add_scatter(y=list(range(30)), line=dict(color="blue"))
    assert len(colour_only(figure)) == 1
    figure.data[1].line.dash = "dash"
    assert colour_only(figure) == []
    figure.add_scatter(y=list(range(30)), mode="markers", marker=dict(color="green"))
    assert colour_only(figure) == []


@pytest.mark.parametrize("cls", all_panels(), ids=lambda c: c.__name__)
def test_colour_is_never_the_only_carrier(cls):
    """Any two line traces in the same subplot with the same dash and marker but different colour fail."""
    found = colour_only(make(cls).figure)
    assert found == [], f"{cls.__name__}:\n" + "\n".join(found)


# -- in JupyterLab --------------------------------------------------------------------------------


#: A panel's figure beside a plain FigureWidget, for the test of what anywidget's dropped messages do.
DROPPED_NOTEBOOK = "dropped.ipynb"
_DROPPED_CELLS = (
    "from lnviz.panels import GainBiasPanel\n\nGainBiasPanel()",
    "import plotly.graph_objects as go\n\ngo.FigureWidget(go.Figure(go.Scatter(y=[0.0, 1.0, 0.5])))",
)


#: A panel whose figure alone loses anywidget's race (`_FIRST_MODEL_LATE_JS`), deaf after 1 s unanswered.
DEAF_NOTEBOOK = "deaf.ipynb"
_DEAF_CELLS = (
    "import lnviz.panels.base\n\nlnviz.panels.base.DEAF_AFTER_S = 1.0",
    "from lnviz.panels import GainBiasPanel\n\nGainBiasPanel()",
)
# The first anywidget model of the page (the panel's figure) gets 1 ms to load its module, as on a
# machine too slow for anywidget's 2 s; the later ones (the figure that replaces it) get a minute.
_FIRST_MODEL_LATE_JS = """(() => {
    const timeout = AbortSignal.timeout.bind(AbortSignal);
    let models = 0;
    AbortSignal.timeout = (ms) => {
        if (ms !== 2000 || !/\\/extensions\\/anywidget\\//.test(new Error().stack)) return timeout(ms);
        models += 1;
        return timeout(models === 1 ? 1 : 60000);
    };
})();"""


def _write_notebook(path: Path, cells: tuple[str, ...]) -> None:
    notebook = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}
    )
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    root = tmp_path_factory.mktemp("lab-root")
    copy_lessons(REPO / "notebooks", root / "notebooks")
    _write_notebook(root / DROPPED_NOTEBOOK, _DROPPED_CELLS)
    _write_notebook(root / DEAF_NOTEBOOK, _DEAF_CELLS)
    server = start_lab(root, tmp_path_factory.mktemp("lab-state"))
    try:
        yield server
    finally:
        stop_lab(server)


# Every plotly plot in the notebook, and whether plotly.js drew it with traces that hold data.
_PLOTS_JS = """() => [...window.jupyterapp.shell.currentWidget.content.node.querySelectorAll('.js-plotly-plot')]
    .map((plot) => {
        const filled = (trace) => ['x', 'y', 'z', 'values'].some((key) => trace[key] && trace[key].length > 0)
            || Boolean(trace.cells && trace.cells.values && trace.cells.values.length);
        return {drawn: Boolean(plot._fullLayout), traces: (plot.data || []).length,
                filled: (plot.data || []).filter(filled).length};
    })"""


def _plots(page: Page) -> list[dict]:
    return list(page.evaluate(_PLOTS_JS))


def _wait_for_filled_plots(page: Page, count: int, timeout_s: float) -> list[dict]:
    """Wait until `count` plots are drawn, each with a trace that holds data; return every plot's state."""
    try:
        page.wait_for_function(
            f"(count) => {{ const plots = ({_PLOTS_JS})(); "
            "return plots.length >= count && plots.every((p) => p.drawn && p.filled > 0); }",
            arg=count,
            timeout=timeout_s * 1000,
        )
    except PlaywrightTimeoutError:
        pass  # the caller reports what is missing
    return _plots(page)


def _run(page: Page, lab: LabServer, path: str, anywidget_timeout_ms: int) -> list[str]:
    errors = open_notebook(page, lab, path, Path(path).stem.replace("_", "-"), anywidget_timeout_ms)
    run_all_cells(page)
    return errors


def test_panel_figure_draws_its_data_when_anywidget_drops_every_message(page: Page, lab: LabServer) -> None:
    """With anywidget's patience cut to 1 ms, every message after a model's creation is dropped, as
    happens on a slow machine: a plain FigureWidget stays empty, a panel's figure still draws its data."""
    _run(page, lab, DROPPED_NOTEBOOK, anywidget_timeout_ms=1)
    plots = _wait_for_filled_plots(page, 2, timeout_s=30)
    screenshot_notebook(page, SCREENSHOTS / "accessibility-dropped-messages.png")
    assert len(plots) == 2, plots
    panel_plot, plain_plot = plots
    assert panel_plot["drawn"] and panel_plot["filled"] > 0, f"the panel's figure drew no data: {panel_plot}"
    # the contrast that shows the test reproduces the dropped messages
    assert plain_plot["traces"] == 0, f"a plain FigureWidget got its traces after all: {plain_plot}"
    # a control's update is dropped too, until the panel replaces its figure (the next test), reported
    panel = panels(page)[0]
    before = plot_state(panel)
    handle = panel.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    print(f"\nwith every message dropped, a slider moved the plot: {wait_for_plot_change(panel, before, 5)}")


def test_a_deaf_figure_is_replaced_and_follows_its_controls_again(page: Page, lab: LabServer) -> None:
    """The panel's figure loses anywidget's race and stops hearing its panel: a key moves nothing. A
    key after DEAF_AFTER_S has the panel put a new figure in its place, which shows the current state."""
    page.add_init_script(_FIRST_MODEL_LATE_JS)
    _run(page, lab, DEAF_NOTEBOOK, anywidget_timeout_ms=ANYWIDGET_OWN_TIMEOUT_MS)
    plots = _wait_for_filled_plots(page, 1, timeout_s=60)
    assert plots and all(p["drawn"] and p["filled"] for p in plots), plots
    panel = panels(page)[0]
    handle = panel.locator(".noUi-handle").first.element_handle()
    before = plot_state(panel)
    handle.focus()
    handle.press("ArrowRight")
    assert not wait_for_plot_change(panel, before, 3), "the figure heard its panel: the test did not make it deaf"
    handle.focus()
    handle.press("ArrowRight")
    # the old plot goes at once; the new one draws once plotly's module has loaded for it
    wait_for_plot_change(panel, before)
    plots = _wait_for_filled_plots(page, 1, timeout_s=60)
    screenshot_notebook(page, SCREENSHOTS / "accessibility-deaf-figure.png")
    assert len(plots) == 1 and plots[0]["filled"], f"no figure drawn after the key: {plots}"
    assert plot_state(panel) != before, "the panel did not replace its deaf figure"


@pytest.mark.parametrize("lesson", THROTTLED_LESSONS)
def test_figures_draw_with_their_data_on_a_slow_cpu(lesson: str, page: Page, lab: LabServer) -> None:
    """Chromium's CPU slowed 4x while the lesson runs, anywidget's own 2 s kept: every plotly figure
    draws traces with data."""
    errors = open_notebook(
        page, lab, f"notebooks/{lesson}.ipynb", f"slow-{lesson.replace('_', '-')}", ANYWIDGET_OWN_TIMEOUT_MS
    )
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    try:
        run_all_cells(page)
        missing = wait_for_widgets(page)
        plots = _plots(page)
        screenshot_notebook(page, SCREENSHOTS / f"{lesson}-cpu-{CPU_SLOWDOWN}x.png")
        empty = [f"plot {i}: {p}" for i, p in enumerate(plots) if not (p["drawn"] and p["filled"])]
        # whether a control still reaches its figure (reported, not asserted: see the README)
        moved = []
        for index, panel in enumerate(panels(page)):
            before = plot_state(panel)
            handle = panel.locator(".noUi-handle").first
            if not handle.count():
                continue
            handle.focus()
            handle.press("ArrowLeft")
            if wait_for_plot_change(panel, before, 10):
                moved.append(f"panel {index}: changed")
                continue
            # a deaf figure: past DEAF_AFTER_S (10 s, most of it waited above) the next key has the panel
            # replace it
            page.wait_for_timeout(2000)
            handle.focus()
            handle.press("ArrowLeft")
            wait_for_plot_change(panel, before, 10)
            filled = _wait_for_filled_plots(page, len(plots), timeout_s=60)
            again = plot_state(panel) != before and all(p["filled"] for p in filled)
            moved.append(f"panel {index}: unchanged, then {'changed' if again else 'unchanged'} at the next key")
    finally:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    timed_out = sum("[anywidget] Failed to initialize model" in error for error in errors)
    print(
        f"\n{lesson} at {CPU_SLOWDOWN}x CPU: {len(plots)} plots, {len(empty)} without data; "
        f"{timed_out} widget model(s) past anywidget's 2 s; after a key: {moved}"
    )
    assert plots, f"{lesson}: no plotly figure on the page"
    assert not empty and not missing, f"{lesson} at {CPU_SLOWDOWN}x CPU:\n" + "\n".join(empty + missing)
    problems = [p for p in notebook_problems(page, errors) if "[anywidget] Failed to initialize model" not in p]
    assert problems == [], f"{lesson}:\n" + "\n".join(problems)


# -- keyboard alone -------------------------------------------------------------------------------

# The focusable part of each control of a panel, in document order: a slider's handle, a dropdown's
# select, each toggle button not pressed (Space presses it).
_CONTROL_PARTS = ".noUi-handle, select, button.widget-toggle-button:not(.mod-active)"


def _focused_in(element) -> bool:
    return bool(element.evaluate("(node) => node === document.activeElement || node.contains(document.activeElement)"))


_VALUE_JS = """(node) => String(node.matches('.noUi-handle') ? node.getAttribute('aria-valuenow')
    : node.matches('select') ? node.value
    : node.closest('.widget-toggle-buttons').querySelector('.mod-active').textContent)"""


def _value(element) -> str:
    return str(element.evaluate(_VALUE_JS))


def _change_by_keyboard(page: Page, element) -> tuple[str, list[str], str, str]:
    """Press the keys a keyboard user would, one after another, until the control's value moves.
    Returns the keys that worked ('' if none), those tried before in vain, and the value before and after."""
    before = _value(element)
    kind = str(element.evaluate("(node) => node.tagName === 'SELECT' ? 'select' : node.className"))
    if kind == "select":
        # a closed select's own keys, then opening its list (Alt+ArrowDown, Space) and choosing in it
        attempts = (
            ("ArrowDown",),
            ("ArrowUp",),
            ("Alt+ArrowDown", "ArrowDown", "Enter"),
            ("Space", "ArrowDown", "Enter"),
        )
    elif "noUi-handle" in kind:
        attempts = (("ArrowRight",), ("ArrowLeft",))
    else:
        attempts = (("Space",), ("Enter",))
    tried = []
    for keys in attempts:
        element.focus()
        for key in keys:
            page.keyboard.press(key)
        try:
            page.wait_for_function(
                f"([node, before]) => ({_VALUE_JS})(node) !== before", arg=[element, before], timeout=CONTROL_TIMEOUT_MS
            )
            return "+".join(keys), tried, before, _value(element)
        except PlaywrightTimeoutError:
            tried.append("+".join(keys))
    return "", tried, before, _value(element)


def _tab_to(page: Page, element, start) -> int:
    """Press Tab from `start` (focused) until `element` has the focus; the number of presses, or -1."""
    start.focus()
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        if _focused_in(element):
            return presses
    return -1


def _active_cell_index(page: Page) -> int:
    return int(page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"))


def test_a_lesson_works_from_the_keyboard_alone(page: Page, lab: LabServer) -> None:
    """Lesson 02 by keyboard: from each control Tab reaches the next, keys change it, the plot follows,
    and the figure's text alternative follows the title."""
    errors = _run(page, lab, f"notebooks/{KEYBOARD_LESSON}.ipynb", anywidget_timeout_ms=60_000)
    assert wait_for_widgets(page) == []
    report, failures = [], []
    for p_index, panel in enumerate(panels(page)):
        parts = panel.locator(_CONTROL_PARTS)
        elements = [parts.nth(i).element_handle() for i in range(parts.count())]
        previous = None
        for element in elements:
            label = str(
                element.evaluate(
                    "(node) => { const box = node.closest('.widget-inline-hbox');"
                    " const label = box && box.querySelector('.widget-label');"
                    " return label ? label.textContent.trim() : node.textContent.trim(); }"
                )
            )
            if previous is not None:
                tabs = _tab_to(page, element, previous)
                if tabs < 0:
                    failures.append(f"panel {p_index}: Tab from the previous control never reached {label!r}")
            previous = element
            before_plot = plot_state(panel)
            summary_before = _summary(panel)
            cell_before = _active_cell_index(page)
            keys, tried, before, after = _change_by_keyboard(page, element)
            moved_cell = _active_cell_index(page) != cell_before
            if not keys:
                failures.append(
                    f"panel {p_index}: no key changed {label!r} ({before})"
                    + (" ; the keys moved JupyterLab's active cell instead" if moved_cell else "")
                )
                report.append(f"{label}: keyboard did not change it")
                continue
            changed = wait_for_plot_change(panel, before_plot)
            in_vain = f" ({', '.join(tried)} did nothing to it)" if tried else ""
            report.append(f"{label}: {keys} {before} -> {after}{in_vain}, plot {'changed' if changed else 'UNCHANGED'}")
            if not changed:
                failures.append(f"panel {p_index}: {label!r} went {before} -> {after} by {keys}, plot unchanged")
            elif _summary(panel) == summary_before and _titles(panel) != []:
                failures.append(f"panel {p_index}: {label!r} changed the plot, the text alternative stayed")
    screenshot_notebook(page, SCREENSHOTS / f"{KEYBOARD_LESSON}-keyboard.png")
    print(f"\n{KEYBOARD_LESSON} by keyboard:\n  " + "\n  ".join(report))
    assert report, f"{KEYBOARD_LESSON}: no control found"
    assert failures == [], "\n".join(failures)
    assert notebook_problems(page, errors) == []


def _summary(panel: Locator) -> str:
    return str(panel.locator(f".{SUMMARY_CLASS}").first.text_content())


def _titles(panel: Locator) -> list[str]:
    return list(panel.evaluate("(panel) => [...panel.querySelectorAll('.gtitle')].map((n) => n.textContent)"))


def test_text_alternatives_on_the_page(page: Page, lab: LabServer) -> None:
    """Each panel's figure has its summary in the page right before it, naming it and holding its title."""
    _run(page, lab, f"notebooks/{KEYBOARD_LESSON}.ipynb", anywidget_timeout_ms=60_000)
    assert wait_for_widgets(page) == []
    found = panels(page)
    assert found
    for panel in found:
        summary = panel.locator(f".{SUMMARY_CLASS}")
        assert summary.count() == 1
        assert summary.get_attribute("role") == "status"
        text = _summary(panel)
        title = " ".join(_titles(panel)[0].split()) if _titles(panel) else ""
        assert text.startswith("Figure: ") and title and title.replace(" ", "") in text.replace(" ", ""), (text, title)
        # before the plot in reading order
        assert panel.evaluate(
            f"(panel) => panel.querySelector('.{SUMMARY_CLASS}').compareDocumentPosition("
            "panel.querySelector('.js-plotly-plot')) & Node.DOCUMENT_POSITION_FOLLOWING"
        )
        # the plot is an image named by the summary (set in the page by lnviz.panels.base.Names)
        plot = panel.locator(".js-plotly-plot").first
        page.wait_for_function(
            "(plot) => plot.getAttribute('aria-labelledby')", arg=plot.element_handle(), timeout=10_000
        )
        assert plot.get_attribute("role") == "img"
        assert plot.get_attribute("aria-labelledby") == summary.get_attribute("id")
        handles = panel.locator(".noUi-handle")
        labels = [str(handles.nth(i).get_attribute("aria-label") or "") for i in range(handles.count())]
        assert all(labels), f"slider handles without a name: {labels}"


# -- axe-core -------------------------------------------------------------------------------------


def test_axe_on_a_lesson_page(page: Page, lab: LabServer) -> None:
    """axe-core's WCAG 2.0/2.1 A and AA rules on lesson 02 in JupyterLab, after Run All. Violations are
    printed by rule; those in lnviz's HTML (text alternatives, busy label, named slider handles) fail,
    JupyterLab's and ipywidgets' are reported (README, Accessibility)."""
    from axe_playwright_python.sync_playwright import Axe

    _run(page, lab, f"notebooks/{KEYBOARD_LESSON}.ipynb", anywidget_timeout_ms=60_000)
    assert wait_for_widgets(page) == []
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
    violations = results.response["violations"]
    counts = {v["id"]: len(v["nodes"]) for v in violations}
    print(f"\naxe-core {results.response['testEngine']['version']} on {KEYBOARD_LESSON} in JupyterLab: {counts}")
    for violation in violations:
        for node in violation["nodes"][:3]:
            print(f"  {violation['id']}: {node['target']} {node['html'][:100]}")
    ours = [
        f"{v['id']}: {node['target']}"
        for v in violations
        for node in v["nodes"]
        # lnviz names the slider handles ipywidgets leaves unnamed (lnviz.panels.base.Names)
        if SUMMARY_CLASS in node["html"] or "updating" in node["html"] or "noUi-handle" in node["html"]
    ]
    assert ours == [], "violations in lnviz's own HTML:\n" + "\n".join(ours)
