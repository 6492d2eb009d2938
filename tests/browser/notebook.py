"""Drive one notebook in a JupyterLab page: open it, run all cells, find errors, move panel controls.

Everything goes through the application object (`window.jupyterapp`, exposed by
`--LabApp.expose_app_in_browser`), because the toolbar's execution indicator says "idle" before a
kernel even exists. Every wait is bounded; a timeout raises playwright's TimeoutError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .lab import LabServer

KERNEL_TIMEOUT_S = 60.0
RUN_ALL_TIMEOUT_S = 120.0
RENDER_TIMEOUT_S = 60.0
PLOT_CHANGE_TIMEOUT_S = 20.0
# Chromium refuses to capture images taller than about 16384 px.
MAX_SCREENSHOT_HEIGHT = 16000

PANEL_SELECTOR = ".lnviz-panel"
PLOT_SELECTOR = ".js-plotly-plot"
WIDGET_ERROR_TEXT = "Error displaying widget"
WIDGET_LOADING_TEXT = "Loading widget..."

# The notebook panel in the main area, with its kernel session.
_CURRENT = "window.jupyterapp && window.jupyterapp.shell.currentWidget"

_KERNEL_IDLE_JS = f"""() => {{
    const panel = {_CURRENT};
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return Boolean(panel && panel.content && kernel && kernel.status === 'idle'
        && kernel.connectionStatus === 'connected');
}}"""

_RUN_ALL_JS = """async (timeoutMs) => {
    const timeout = new Promise((_, reject) => setTimeout(
        () => reject(new Error(`notebook:run-all-cells did not finish within ${timeoutMs} ms`)), timeoutMs));
    return await Promise.race([window.jupyterapp.commands.execute('notebook:run-all-cells'), timeout]);
}"""

# Code cells as nbformat JSON (execution_count and outputs), read from the notebook model, so that
# nothing depends on how (or whether) an output is drawn.
_CODE_CELLS_JS = f"""() => {{
    const panel = {_CURRENT};
    return panel.content.widgets
        .filter((cell) => cell.model.type === 'code')
        .map((cell) => ({{
            execution_count: cell.model.executionCount,
            outputs: cell.model.outputs.toJSON(),
        }}));
}}"""

_WIDGETS_SETTLED_JS = f"""([panelSelector, plotSelector, loadingText]) => {{
    const notebook = {_CURRENT}.content.node;
    const outputs = [...notebook.querySelectorAll('.jp-OutputArea-output')];
    if (outputs.some((node) => node.textContent.includes(loadingText))) return false;
    return [...notebook.querySelectorAll(panelSelector)].every((panel) =>
        [...panel.querySelectorAll(plotSelector)].some((plot) => plot._fullLayout && plot.data));
}}"""

_WIDGET_ERRORS_JS = f"""(errorText) => {{
    const notebook = {_CURRENT}.content.node;
    return [...notebook.querySelectorAll('.jp-OutputArea-output')]
        .map((node) => node.textContent.trim())
        .filter((text) => text.includes(errorText));
}}"""

# The traces a panel draws: what a control is expected to change. Layout sizes are left out because
# a resize changes them without any control being touched.
_PLOT_STATE_JS = """(panel) => {
    const plots = [...panel.querySelectorAll('.js-plotly-plot')];
    const plain = (key, value) => key === 'uid' ? undefined
        : ArrayBuffer.isView(value) ? Array.from(value) : value;
    return JSON.stringify(plots.map((plot) => ({
        data: plot.data,
        shapes: plot.layout && plot.layout.shapes,
        annotations: plot.layout && plot.layout.annotations,
        title: plot.layout && plot.layout.title,
    })), plain);
}"""

_NOTEBOOK_SCROLL_HEIGHT_JS = f"""() => {{
    const node = {_CURRENT}.content.node;
    const scroller = node.querySelector('.jp-WindowedPanel-outer') || node;
    return scroller.scrollHeight - scroller.clientHeight;
}}"""


def open_notebook(page: Page, server: LabServer, path: str, workspace: str) -> None:
    """Open `path` (relative to the server root) alone in a fresh `workspace`; wait for an idle kernel.

    `?reset` starts from an empty layout, so tabs restored from an earlier page never compete for
    the main area.
    """
    page.goto(server.url(f"lab/workspaces/{workspace}/tree/{path}?reset"))
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=KERNEL_TIMEOUT_S * 1000)
    # The file browser would take a third of every screenshot.
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")


def run_all_cells(page: Page) -> bool:
    """Run every cell through the command registry and wait for the run to finish and the kernel to idle.

    Returns the command's verdict: False when a cell failed (JupyterLab then skips the cells after it).
    """
    succeeded = page.evaluate(_RUN_ALL_JS, RUN_ALL_TIMEOUT_S * 1000)
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=KERNEL_TIMEOUT_S * 1000)
    return bool(succeeded)


def wait_for_widgets(page: Page) -> None:
    """Wait until no widget output says "Loading widget..." and every panel has drawn its plot."""
    page.wait_for_function(
        _WIDGETS_SETTLED_JS,
        arg=[PANEL_SELECTOR, PLOT_SELECTOR, WIDGET_LOADING_TEXT],
        timeout=RENDER_TIMEOUT_S * 1000,
    )


def _is_traceback(output: dict[str, object]) -> bool:
    # tqdm draws its progress bar on stderr: stderr is an error only when it carries a traceback.
    if output.get("output_type") == "error":
        return True
    return (
        output.get("output_type") == "stream"
        and output.get("name") == "stderr"
        and "Traceback (most recent call last)" in str(output.get("text", ""))
    )


def _describe(output: dict[str, object]) -> str:
    if output.get("output_type") == "error":
        return f"{output.get('ename')}: {output.get('evalue')}"
    return str(output.get("text", "")).strip().splitlines()[-1]


def notebook_problems(page: Page) -> list[str]:
    """Everything that shows the notebook did not run cleanly, one line each; empty when it did.

    Reports error outputs and tracebacks printed to stderr (cell index among code cells), code cells
    without an execution count (skipped after a failure, or the kernel died), and widget outputs that
    say "Error displaying widget".
    """
    problems = []
    for index, cell in enumerate(page.evaluate(_CODE_CELLS_JS)):
        problems += [f"code cell {index}: {_describe(out)}" for out in cell["outputs"] if _is_traceback(out)]
        if cell["execution_count"] is None:
            problems.append(f"code cell {index}: not executed")
    problems += [f"widget output: {text}" for text in page.evaluate(_WIDGET_ERRORS_JS, WIDGET_ERROR_TEXT)]
    return problems


def panels(page: Page) -> list[Locator]:
    """The notebook's panels (widget containers with the class lnviz-panel), in document order."""
    found = page.locator(PANEL_SELECTOR)
    return [found.nth(index) for index in range(found.count())]


def plot_state(panel: Locator) -> str:
    """The JSON of the traces (and shapes, annotations, title) of the plot(s) inside `panel`."""
    return str(panel.evaluate(_PLOT_STATE_JS))


@dataclass
class ControlMove:
    """What `nudge_first_control` did: the control's kind and label, the key pressed, and its value."""

    kind: str
    label: str
    key: str
    before: str
    after: str


def _label(control: Locator) -> str:
    # ipywidgets puts a control and its description label side by side in one `.widget-inline-hbox`.
    box = control.locator("xpath=ancestor::*[contains(@class, 'widget-inline-hbox')][1]")
    label = box.locator(".widget-label").first if box.count() else None
    return label.inner_text().strip() if label is not None and label.count() else ""


def _press_until_changed(control: Locator, keys: tuple[str, str], read: str) -> tuple[str, str, str]:
    """Focus `control`, press keys[0]; if its value (read by JS `read`) did not move, press keys[1]."""
    before = str(control.evaluate(read))
    control.focus()
    for key in keys:
        control.press(key)
        after = str(control.evaluate(read))
        if after != before:
            return key, before, after
    return keys[-1], before, after


def nudge_first_control(panel: Locator) -> ControlMove:
    """Move the panel's first enabled control one step with the keyboard, as a user would.

    Sliders (ipywidgets 8 draws them with noUiSlider, whose handle takes arrow keys) are preferred,
    then dropdowns (arrow keys), then toggle buttons (Space). A control already at its maximum is
    moved down instead. Raises ValueError when the panel has no enabled control.
    """
    handles = panel.locator(".noUi-target:not([disabled]) .noUi-handle")
    if handles.count():
        handle = handles.first
        key, before, after = _press_until_changed(
            handle, ("ArrowRight", "ArrowLeft"), "(node) => node.getAttribute('aria-valuenow')"
        )
        return ControlMove("slider", _label(handle), key, before, after)
    selects = panel.locator("select:not([disabled])")
    if selects.count():
        select = selects.first
        key, before, after = _press_until_changed(select, ("ArrowDown", "ArrowUp"), "(node) => node.value")
        return ControlMove("dropdown", _label(select), key, before, after)
    buttons = panel.locator("button.widget-toggle-button:not([disabled]):not(.mod-active)")
    if buttons.count():
        button = buttons.first
        key, before, after = _press_until_changed(
            button, ("Space",), "(node) => node.classList.contains('mod-active')"
        )
        return ControlMove("toggle button", button.inner_text().strip(), key, before, after)
    raise ValueError(
        f"expected a slider, dropdown or toggle button in {PANEL_SELECTOR}, found none enabled"
    )


def wait_for_plot_change(panel: Locator, before: str, timeout_s: float = PLOT_CHANGE_TIMEOUT_S) -> bool:
    """Wait up to `timeout_s` for the panel's plot state to differ from `before`; return whether it did."""
    try:
        panel.page.wait_for_function(
            f"([panel, before]) => ({_PLOT_STATE_JS})(panel) !== before",
            arg=[panel.element_handle(), before],
            timeout=timeout_s * 1000,
        )
    except PlaywrightTimeoutError:
        return False
    return True


def screenshot_notebook(page: Page, path: Path) -> None:
    """Save a screenshot of the whole notebook to `path`.

    JupyterLab scrolls inside the notebook, not the page, so a "full page" screenshot would show one
    screen: the viewport is stretched to the notebook's height for the capture, then restored.
    """
    viewport = page.viewport_size
    assert viewport is not None, "pages are created with a fixed viewport"
    hidden = int(page.evaluate(_NOTEBOOK_SCROLL_HEIGHT_JS))
    page.set_viewport_size(
        {"width": viewport["width"], "height": min(viewport["height"] + hidden, MAX_SCREENSHOT_HEIGHT)}
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(viewport)

