"""`python3 dev.py present NN`: a lesson served by Voila as an app, code hidden, a kernel behind it.

The quick tests check the command line (bad lessons give a usage message and exit 2; Voila's options
pass through; loopback by default) and the template (nothing from a CDN). The browser tests start
`python -m lnviz.present` as a lecturer would, open it in headless Chromium with every request off
loopback aborted and recorded, and check that every panel draws, that a slider moves its plot, that
no code shows, that the equations are typeset and that nothing was requested from outside; then
axe-core runs its WCAG 2.0 and 2.1 A and AA rules on the page. The time to the first drawn plot, from
a slider's key press to the changed plot, and axe-core's counts are printed (`pytest -s`). Lessons
01 and 02 by default (LNVIZ_PRESENT_LESSONS to choose). Screenshots go to $LNVIZ_SCREENSHOTS (default
tests/_screenshots/).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser.lab import free_port
from browser.notebook import nudge_first_control, panels, plot_state, wait_for_plot_change
from playwright.sync_api import Browser, Page, Request, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from lnviz import present

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("LNVIZ_SCREENSHOTS", REPO / "tests" / "_screenshots"))
VIEWPORT = {"width": 1280, "height": 900}
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
STARTUP_TIMEOUT_S = 60.0
#: Voila runs the whole lesson before it shows the page; the training lessons take a while.
RENDER_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 20.0
#: After Voila shows the page, how long the widgets may take to draw (present.WIDGET_LOAD_TIMEOUT_MS and more).
WIDGET_TIMEOUT_S = 90.0
#: jupyterlab-plotly's renderer of a plain figure, once it has drawn, stores a PNG of it in its output's
#: model with `setData`, which Voila's output models lack: the figure shows, and this error is thrown.
PLOTLY_PNG_CACHE_ERROR = "setData is not a function"
#: The lessons the browser tests serve, one Voila each: by default two whose cells run in seconds;
#: LNVIZ_PRESENT_LESSONS="03 07" serves others.
BROWSER_LESSONS = tuple(os.environ.get("LNVIZ_PRESENT_LESSONS", "01 02").split())

# Every plotly plot on the page: drawn, shown, with traces in its data and trace groups in its SVG
# (a scatter or bar trace is a `.trace` group, a heatmap an `.hm` image, a table a `.table` child).
_PLOTS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map((plot) => ({
    drawn: Boolean(plot._fullLayout) && plot.offsetWidth > 0 && plot.offsetHeight > 0,
    traces: (plot.data || []).length,
    svgTraces: plot.querySelectorAll('.main-svg .trace, .main-svg .hm, .main-svg .table > g').length,
}))"""

# Voila's page scrolls inside #rendered_cells: how far its content reaches below the viewport.
_HIDDEN_HEIGHT_JS = """() => {
    const cells = document.querySelector('#rendered_cells');
    cells.scrollTop = 0;
    return Math.max(0, cells.scrollHeight - cells.clientHeight);
}"""
MAX_SCREENSHOT_HEIGHT = 16000

# Voila shows the rendered cells once the kernel has run them all and the widgets' views exist.
_RENDERED_JS = """() => {
    const cells = document.querySelector('#rendered_cells');
    return Boolean(cells) && getComputedStyle(cells).display !== 'none'
        && !document.querySelector('#loading');
}"""

# What is still missing on screen: widget outputs that say "Loading widget..." or show an error, no
# panel at all, and panels without a drawn plot with traces.
_UNSETTLED_JS = f"""() => {{
    const plots = {_PLOTS_JS};
    const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
    const missing = [];
    const loading = outputs.filter((node) => node.textContent.includes('Loading widget...')).length;
    if (loading) missing.push(`${{loading}} widget output(s) still say "Loading widget..."`);
    const failed = outputs.filter((node) => node.textContent.includes('Error displaying widget')
        || node.querySelector('.jupyter-widgets-error-widget')).length;
    if (failed) missing.push(`${{failed}} widget output(s) show an error`);
    const panels = [...document.querySelectorAll('.lnviz-panel')];
    if (!panels.length) missing.push('no panel shown');
    const drawn = new Set(plots().map((p, index) => p.drawn && p.traces > 0 && p.svgTraces > 0 ? index : -1));
    const all = [...document.querySelectorAll('.js-plotly-plot')];
    panels.forEach((panel, index) => {{
        const own = [...panel.querySelectorAll('.js-plotly-plot')].map((plot) => all.indexOf(plot));
        if (!own.length || !own.every((i) => drawn.has(i))) missing.push(`panel ${{index}}: no plot with traces drawn`);
    }});
    return missing;
}}"""

# Code a viewer could see: a code cell's input area or prompt, an editor. (A markdown cell's rendered
# text sits in an input area too.)
_VISIBLE_CODE_JS = """() => [...document.querySelectorAll(
        '.jp-CodeCell .jp-InputArea, .jp-CodeCell .jp-InputPrompt, .cm-editor, .CodeMirror')]
    .filter((node) => node.offsetWidth > 0 && node.offsetHeight > 0)
    .map((node) => node.className)"""

# Outputs a class should not see: errors and anything written to stderr.
_ERROR_OUTPUTS_JS = """() => [...document.querySelectorAll(
        '[data-mime-type="application/vnd.jupyter.stderr"], .jp-OutputArea-output.jp-mod-error')]
    .map((node) => node.textContent.slice(0, 200))"""


# ---------------------------------------------------------------------------------------------
# The command line and the template: no browser


def _lesson_stems() -> list[str]:
    return [path.stem for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))]


@pytest.mark.parametrize("argv", [["99"], ["nonesuch"], ["0"], ["--port=8870"], []])
def test_bad_or_missing_lesson_gives_usage_listing_lessons_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert present.main(argv) == 2
    out = capsys.readouterr()
    message = out.out + out.err
    assert "usage: python3 dev.py present NN" in message
    assert all(stem in message for stem in _lesson_stems()), message
    assert "Traceback" not in message


def test_help_lists_the_lessons_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert present.main(["--help"]) == 0
    assert "02_invariance" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["2", "02", "02_inv", "02_invariance", "02_invariance.py", "02_invariance.ipynb"])
def test_a_lesson_is_named_by_number_or_name(name: str) -> None:
    assert present.choose_lesson(name) == REPO / "notebooks" / "02_invariance.py"


def test_dev_py_present_exits_2_on_a_bad_lesson() -> None:
    # Through dev.py, as a lecturer types it (set-up is a no-op once the environment is there).
    done = subprocess.run(
        [sys.executable, str(REPO / "dev.py"), "present", "nonesuch"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "01_batch_vs_layer" in done.stderr and "Traceback" not in done.stderr


def test_voila_listens_on_loopback_and_user_options_come_last(tmp_path: Path) -> None:
    command = present.voila_command(tmp_path / "lesson.ipynb", ["--no-browser", "--port=8870"])
    assert command[1:4] == ["-m", "voila", str(tmp_path / "lesson.ipynb")]
    assert "--Voila.ip=127.0.0.1" in command and "--strip_sources=True" in command
    assert command[-2:] == ["--no-browser", "--port=8870"]  # traitlets: the last value given wins


def test_the_served_notebook_is_the_lesson_source(tmp_path: Path) -> None:
    import jupytext
    import nbformat

    source = REPO / "notebooks" / "02_invariance.py"
    served = nbformat.read(present.write_notebook(source, tmp_path), as_version=4)
    expected = jupytext.read(source)
    # Solutions' code runs with its output captured (test_solutions_are_not_shown_but_still_run).
    assert [cell.source.removeprefix("%%capture\n") for cell in served.cells] == [
        cell.source for cell in expected.cells
    ]
    assert served.metadata.kernelspec.name == "python3"


def test_solutions_are_not_shown_but_still_run(tmp_path: Path) -> None:
    import jupytext
    import nbformat

    source = REPO / "notebooks" / "03_dynamics.py"
    served = nbformat.read(present.write_notebook(source, tmp_path), as_version=4).cells
    lesson = jupytext.read(source).cells
    notes = [i for i, cell in enumerate(lesson) if "solution" in cell.metadata.get("tags", [])]
    code = [i for i, cell in enumerate(lesson) if present.SOLUTION_MARK in cell.source]
    assert notes and code, "expected lesson 3 to hold an exercise with a solution"
    assert all(served[i].metadata["transient"]["remove_source"] for i in notes)
    assert all(served[i].source == "%%capture\n" + lesson[i].source for i in code)
    kept = [i for i in range(len(lesson)) if i not in code]
    assert [served[i].source for i in kept] == [lesson[i].source for i in kept]


def test_template_is_found_first_and_removes_the_lab_templates_cdn_links(tmp_path: Path) -> None:
    """Voila finds the template in the folder `present` writes; the CDN links of Voila's lab template
    are exactly those it removes (a Voila that links others fails here; the browser test sees them)."""
    present.write_template(tmp_path)
    script = (
        "import json; from voila.paths import collect_template_paths; "
        f"print(json.dumps(collect_template_paths(['voila', 'nbconvert'], {present.TEMPLATE!r}, prune=True)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=present.voila_env(tmp_path), check=True
    )
    paths = json.loads(done.stdout)
    assert paths[0] == str(tmp_path / "voila" / "templates" / present.TEMPLATE)
    assert "voila/templates/lab/index.html.j2" in (Path(paths[0]) / "index.html.j2").read_text()
    lab = Path(paths[1]) / "index.html.j2"
    assert lab.parent.name == "lab"
    assert [line.strip() for line in lab.read_text().splitlines() if "https://" in line and "<link" in line] == list(
        present._CDN_LINKS
    )


# ---------------------------------------------------------------------------------------------
# In the browser


@dataclass
class Presented:
    """A running `python -m lnviz.present` and what it serves."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    outside: list[str] = field(default_factory=list)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return True
        except OSError:
            time.sleep(0.25)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, which lnviz.present passes on to Voila (it shuts its kernel down); then the group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=STOP_TIMEOUT_S)


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Presented]:
    port = free_port()
    log_path = tmp_path / "present.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lnviz.present", request.param, "--no-browser", f"--port={port}"],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    presented = Presented(process, f"http://127.0.0.1:{port}/", log_path)
    try:
        if not _wait_for_port(port, process, STARTUP_TIMEOUT_S):
            pytest.fail(f"lnviz.present did not listen on 127.0.0.1:{port}:\n{presented.log_tail()}")
        yield presented
    finally:
        _stop(process)


@pytest.fixture
def page(chromium: Browser, served: Presented) -> Iterator[Page]:
    context = chromium.new_context(viewport=VIEWPORT)

    def only_loopback(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname in LOOPBACK or request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            served.outside.append(request.url)
            route.abort()

    context.route("**/*", only_loopback)
    try:
        yield context.new_page()
    finally:
        context.close()


def _code_lines(stem: str) -> list[str]:
    """The longest line of each code cell of the lesson `stem`: none of them may show on the page."""
    import jupytext

    cells = jupytext.read(REPO / "notebooks" / f"{stem}.py").cells
    return [
        max(cell.source.splitlines(), key=len).strip() for cell in cells if cell.cell_type == "code" and cell.source
    ]


def screenshot_page(page: Page, path: Path) -> None:
    """Save the whole lesson to `path`: the viewport is stretched to the content's height, then restored."""
    viewport = page.viewport_size or VIEWPORT
    hidden = int(page.evaluate(_HIDDEN_HEIGHT_JS))
    page.set_viewport_size(
        {"width": viewport["width"], "height": min(viewport["height"] + hidden, MAX_SCREENSHOT_HEIGHT)}
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(500)  # plotly's responsive resize after the viewport change
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(viewport)


def open_presented(page: Page, served: Presented) -> tuple[float, list[str]]:
    """Open the lesson; wait for its first drawn plot, then for the whole page. Returns the seconds to
    the first plot with traces and the page's uncaught exceptions (a live list)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    start = time.monotonic()
    # Voila streams the page while the kernel runs the cells: "commit" returns at the first byte.
    page.goto(served.url, wait_until="commit", timeout=RENDER_TIMEOUT_S * 1000)
    page.wait_for_function(
        f"() => ({_PLOTS_JS})().some((p) => p.drawn && p.traces > 0 && p.svgTraces > 0)",
        timeout=RENDER_TIMEOUT_S * 1000,
        polling=100,
    )
    first_plot_s = time.monotonic() - start
    page.wait_for_function(_RENDERED_JS, timeout=RENDER_TIMEOUT_S * 1000)
    try:
        page.wait_for_function(f"() => ({_UNSETTLED_JS})().length === 0", timeout=WIDGET_TIMEOUT_S * 1000)
    except PlaywrightTimeoutError:
        pass  # the caller's assertion says what is missing
    return first_plot_s, errors


@pytest.mark.browser
@pytest.mark.parametrize("served", BROWSER_LESSONS, indirect=True)
def test_presented_lesson_draws_moves_and_hides_code(page: Page, served: Presented) -> None:
    first_plot_s, errors = open_presented(page, served)
    stem = present.choose_lesson(served.process.args[3]).stem  # type: ignore[index]
    unsettled = page.evaluate(_UNSETTLED_JS)
    plots = page.evaluate(_PLOTS_JS)
    found = panels(page)
    screenshot_page(page, SCREENSHOTS / f"present-{stem}-1-open.png")

    assert unsettled == [], f"{stem}: not every panel drew: {unsettled}\n{served.log_tail()}"
    empty = [index for index, plot in enumerate(plots) if not (plot["drawn"] and plot["traces"] and plot["svgTraces"])]
    assert not empty, f"{stem}: plots {empty} of {len(plots)} have no traces drawn: {plots}"
    assert page.evaluate(_VISIBLE_CODE_JS) == [], f"{stem}: code is visible"
    shown = page.locator("body").inner_text()
    assert [line for line in _code_lines(stem) if line in shown] == [], f"{stem}: code shows on the page"
    assert page.locator("mjx-container").count() > 0, f"{stem}: no equation typeset"
    assert page.evaluate(_ERROR_OUTPUTS_JS) == [], f"{stem}: error outputs shown"

    # A slider moves its plot, as the lecturer moves it: with the keyboard.
    panel = next((p for p in found if p.locator(".noUi-target:not([disabled]) .noUi-handle").count()), None)
    assert panel is not None, f"{stem}: expected a panel with a slider"
    panel.scroll_into_view_if_needed()
    before = plot_state(panel)
    start = time.monotonic()
    move = nudge_first_control(panel)
    changed = wait_for_plot_change(panel, before)
    slider_to_plot_s = time.monotonic() - start
    screenshot_page(page, SCREENSHOTS / f"present-{stem}-2-moved.png")
    print(
        f"\n{stem}: first plot after {first_plot_s:.1f} s; {len(found)} panels, {len(plots)} plots; "
        f"slider {move.label!r} {move.before} -> {move.after}, plot changed after {slider_to_plot_s * 1000:.0f} ms"
    )
    assert move.after != move.before, f"{stem}: {move.action} did not move slider {move.label!r}"
    named = panel.locator(".noUi-target:not([disabled]) .noUi-handle").first.get_attribute("aria-label")
    assert named == move.label, f"{stem}: slider {move.label!r} is named {named!r} for screen readers"
    assert changed, f"{stem}: slider {move.label!r} went {move.before} -> {move.after} but the plot did not change"
    unexpected = [error for error in errors if not error.endswith(PLOTLY_PNG_CACHE_ERROR)]
    assert unexpected == [], f"{stem}: uncaught exceptions in the page: {unexpected}"
    assert served.outside == [], f"{stem}: requests outside loopback: {served.outside}"


#: axe-core's rule tags for WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.mark.browser
@pytest.mark.parametrize("served", BROWSER_LESSONS, indirect=True)
def test_presented_lesson_passes_axe_wcag_a_and_aa(page: Page, served: Presented) -> None:
    from axe_playwright_python.sync_playwright import Axe

    open_presented(page, served)
    assert page.evaluate(_UNSETTLED_JS) == [], "the lesson must be fully drawn before axe-core looks at it"
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
    violations = results.response["violations"]
    counts = {violation["id"]: len(violation["nodes"]) for violation in violations}
    print(f"\naxe-core {results.response['testEngine']['version']}, {' '.join(WCAG_TAGS)}: {counts or 'no violations'}")
    found = [
        f"{violation['id']} ({violation['help']}): {node['target']} {node['html'][:120]}"
        for violation in violations
        for node in violation["nodes"]
    ]
    assert found == [], "axe-core violations:\n" + "\n".join(found)
    assert served.outside == [], f"requests outside loopback: {served.outside}"
