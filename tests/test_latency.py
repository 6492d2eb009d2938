"""Sliders and their plots in the real browser, the part of the latency issue a test can hold without timing.

How fast a key press moves a plot depends on the machine, so it is measured, not asserted:
benchmarks/bench_browser_latency.py (target: median at most 100 ms for every slider with continuous
updates). Here, in JupyterLab in headless Chromium (tests/browser/), every lesson runs and:

- a key press on EVERY slider of every panel changes the panel's plot (tests/test_browser.py moves
  only the first control of each panel), whether the slider updates while it moves or on release;
- a slider that acts on release shows that it is working: "updating…" appears in its panel while
  its update runs.

Without a browser: the sliders whose updates were measured too slow for continuous updates act on
release, and a panel's busy label says "updating…" exactly while such an update runs.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import pytest
from browser.lab import LabServer, start_lab, stop_lab
from browser.notebook import (
    PANEL_SELECTOR,
    _press_until_changed,
    notebook_problems,
    open_notebook,
    plot_state,
    run_all_cells,
    wait_for_plot_change,
    wait_for_widgets,
)
from playwright.sync_api import Locator, Page

from lnviz.panels import BatchDependencePanel, InvariancePanel, WeightPlanePanel
from lnviz.panels.base import BUSY_TEXT

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
BUSY_WORDS = re.sub(r"<[^>]+>", "", BUSY_TEXT)

#: Sliders whose update took longer than a moving slider can wait (plotly redraws 800 dots, or a
#: loss contour, on every change; bench_browser_latency measured 100-200 ms medians): on release.
ON_RELEASE = {
    BatchDependencePanel: ("batch_size",),
    WeightPlanePanel: ("norm", "degrees", "lr"),
}


@functools.cache
def _bench():
    """benchmarks/bench_browser_latency.py as a module: its kernel query lists the sliders of a lesson."""
    path = REPO / "benchmarks" / "bench_browser_latency.py"
    spec = importlib.util.spec_from_file_location("bench_browser_latency", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("cls", list(ON_RELEASE), ids=lambda cls: cls.__name__)
def test_slow_sliders_act_on_release_and_say_updating(cls: type) -> None:
    panel = cls()
    assert panel.busy is not None and panel.busy in panel.widget.children[0].children
    seen = []
    compute = panel.compute
    panel.compute = lambda: (seen.append(panel.busy.value), compute())[1]
    for name in ON_RELEASE[cls]:
        control = panel.controls[name]
        assert control.continuous_update is False, f"{cls.__name__}.{name} updates while it moves"
        before = panel.figure.to_json()
        if getattr(control, "options", None):
            control.value = control.options[0]
        elif isinstance(control, widgets.FloatLogSlider):  # min is an exponent
            control.value = control.base**control.min
        else:
            control.value = control.min
        assert panel.figure.to_json() != before, f"{cls.__name__}.{name} did not change the figure"
    assert seen and set(seen) == {BUSY_TEXT}
    assert panel.busy.value == ""


def test_a_panel_without_release_controls_has_no_busy_label() -> None:
    panel = InvariancePanel()
    assert panel.busy is None
    assert all(getattr(c, "continuous_update", True) for c in panel.controls.values())


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    root = tmp_path_factory.mktemp("latency-root")
    (root / "notebooks").mkdir()
    for path in NOTEBOOKS:
        shutil.copy(path, root / "notebooks" / path.name)
    # the kernels inherit the server's environment: the training lessons train briefly
    previous = os.environ.get("LNVIZ_QUICK")
    os.environ["LNVIZ_QUICK"] = "1"
    try:
        server = start_lab(root, tmp_path_factory.mktemp("latency-state"))
    finally:
        if previous is None:
            del os.environ["LNVIZ_QUICK"]
        else:
            os.environ["LNVIZ_QUICK"] = previous
    try:
        yield server
    finally:
        stop_lab(server)


# Records whether `words` appear anywhere in the panel from now on (a label may show them only briefly).
_WATCH_JS = """([panel, words]) => {
    window.__lnvizSeen = false;
    const observer = new MutationObserver(() => {
        if (panel.textContent.includes(words)) window.__lnvizSeen = true;
    });
    observer.observe(panel, {subtree: true, childList: true, characterData: true});
    window.__lnvizWatch = observer;
}"""


# A slider's value as shown: its readout (aria-valuenow has one decimal, too few for a step of 0.01).
_VALUE_JS = """(node) => {
    const box = node.closest('.widget-inline-hbox');
    const readout = box && box.querySelector('.widget-readout');
    return readout ? readout.textContent : node.getAttribute('aria-valuenow');
}"""


def _press(panel: Locator, handle: Locator) -> tuple[str, str, bool]:
    """Press the slider one step (down at its maximum; once more if the first press did not move it
    within the harness's CONTROL_TIMEOUT_S); its value before and after, and whether the plot changed.
    Returns once the kernel is idle again and the panel no longer says it is busy."""
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    key = "ArrowLeft" if at_max else "ArrowRight"
    before_plot = plot_state(panel)
    handle.scroll_into_view_if_needed()
    _, before, after = _press_until_changed(handle, (key, key), _VALUE_JS)
    changed = wait_for_plot_change(panel, before_plot)
    page = panel.page
    page.wait_for_function(_bench()._KERNEL_IDLE_JS, timeout=60_000)
    idle = "([panel, words]) => !panel.textContent.includes(words)"
    page.wait_for_function(idle, arg=[panel.element_handle(), BUSY_WORDS])
    return before, after, changed


@pytest.mark.browser
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_every_slider_moves_its_plot(notebook: Path, page: Page, lab: LabServer) -> None:
    bench = _bench()
    page_errors = open_notebook(page, lab, f"notebooks/{notebook.name}", notebook.stem)
    run_all_cells(page)
    problems = wait_for_widgets(page) + notebook_problems(page, page_errors)
    assert not problems, f"{notebook.name} did not run cleanly:\n" + "\n".join(problems)
    output = page.evaluate(bench._EXECUTE_JS, bench.SLIDERS_CODE)
    assert "SLIDERS" in output, f"the kernel did not list the panels' sliders: {output}"
    kernel_panels = json.loads(output.split("SLIDERS", 1)[1])

    failures = []
    found = page.locator(PANEL_SELECTOR)
    for index in range(found.count()):
        panel = found.nth(index)
        handles = panel.locator(bench.HANDLE_SELECTOR)
        labels = [bench._label(handles.nth(i)) for i in range(handles.count())]
        match = [p["sliders"] for p in kernel_panels if sorted(p["sliders"]) == sorted(labels)]
        assert match or not labels, f"panel {index}'s sliders {labels} match no panel in the kernel"
        for i, label in enumerate(labels):
            updates = match[0][label]
            panel_class = next(p["panel"] for p in kernel_panels if p["sliders"] is match[0])
            # a training setting (used when Run is pressed), or a slider that acts only in another state
            if updates == "run" or (panel_class, label) in bench.ACTS_ONLY_WHEN:
                continue
            page.evaluate(_WATCH_JS, [panel.element_handle(), BUSY_WORDS])
            before, after, changed = _press(panel, handles.nth(i))
            seen = page.evaluate("() => { window.__lnvizWatch.disconnect(); return window.__lnvizSeen; }")
            where = f"panel {index} slider {label!r} ({updates})"
            if before == after:
                failures.append(f"{where}: the key did not move it from {before}")
            elif not changed:
                failures.append(f"{where}: {before} -> {after} but the plot did not change")
            elif updates == "release" and not seen:
                failures.append(f"{where}: the panel never said {BUSY_WORDS!r} while it updated")
    assert not failures, f"{notebook.name}:\n" + "\n".join(failures)
    assert not notebook_problems(page, page_errors)
