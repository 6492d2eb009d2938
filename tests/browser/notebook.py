"""Drive one notebook in a JupyterLab page: open it, run all cells, find errors, move panel controls.

Everything goes through the application object (`window.jupyterapp`, exposed by
`--LabApp.expose_app_in_browser`), because the toolbar's execution indicator says "idle" before a
kernel even exists. Every wait is bounded: a wait whose outcome is a finding (widgets drawn, plot
changed, control moved) returns it; the others raise playwright's TimeoutError.
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
# A control redraws itself from its widget model, a moment after the key that moved it.
CONTROL_TIMEOUT_S = 2.0
# anywidget gives a model 2 s to load and initialize its JavaScript module; past that, every later
# message from the kernel to the model is dropped (anywidget 0.11 Runtime: `AbortSignal.timeout(2000)`
# rejects `ready`, and `_handle_comm_msg` awaits it), so a FigureWidget stays empty and deaf to its
# panel. plotly's module is 5 MB, which a busy machine does not evaluate in 2 s: the harness grants
# it this long instead, so that the test reports the notebooks, not the load on the machine.
ANYWIDGET_INIT_TIMEOUT_MS = 60_000
# Chromium refuses to capture images taller than about 16384 px.
MAX_SCREENSHOT_HEIGHT = 16000

PANEL_SELECTOR = ".lnviz-panel"
PLOT_SELECTOR = ".js-plotly-plot"
WIDGET_ERROR_TEXT = "Error displaying widget"
# ipywidgets 8 draws a view that failed to load as an icon that shows its message when clicked.
ERROR_WIDGET_SELECTOR = ".jupyter-widgets-error-widget"
CONSOLE_HINT = "[Open Browser Console"
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

# Stretches anywidget's 2 s (only anywidget's: its caller shows in the stack) to the `%d` ms given.
_ANYWIDGET_PATIENCE_JS = """(() => {
    const timeout = AbortSignal.timeout.bind(AbortSignal);
    AbortSignal.timeout = (ms) =>
        timeout(ms === 2000 && /\\/extensions\\/anywidget\\//.test(new Error().stack) ? %d : ms);
})();"""

_RUN_ALL_JS = """async (timeoutMs) => {
    const timeout = new Promise((_, reject) => setTimeout(
        () => reject(new Error(`notebook:run-all-cells did not finish within ${timeoutMs} ms`)), timeoutMs));
    return await Promise.race([window.jupyterapp.commands.execute('notebook:run-all-cells'), timeout]);
}"""

# Code cells as nbformat JSON (execution_count and outputs), read from the notebook model so that
# nothing depends on how an output is drawn, plus the text of each widget that failed to draw.
_CODE_CELLS_JS = f"""([errorText, errorWidgetSelector]) => {{
    const panel = {_CURRENT};
    return panel.content.widgets
        .filter((cell) => cell.model.type === 'code')
        .map((cell) => ({{
            execution_count: cell.model.executionCount,
            outputs: cell.model.outputs.toJSON(),
            widget_errors: [
                ...[...cell.node.querySelectorAll(errorWidgetSelector)].map((node) => node.textContent),
                ...[...cell.node.querySelectorAll('.jp-OutputArea-output')].map((node) => node.textContent)
                    .filter((text) => text.includes(errorText)),
            ],
        }}));
}}"""

# What is still missing on screen: widget outputs that say "Loading widget...", panels without a
# plot, and plots without traces (a FigureWidget whose data never reached its view stays empty).
_UNSETTLED_JS = f"""([panelSelector, plotSelector, loadingText]) => {{
    const notebook = {_CURRENT}.content.node;
    const loading = [...notebook.querySelectorAll('.jp-OutputArea-output')]
        .filter((node) => node.textContent.includes(loadingText)).length;
    const missing = loading ? [`${{loading}} widget output(s) still say "${{loadingText}}"`] : [];
    [...notebook.querySelectorAll(panelSelector)].forEach((panel, index) => {{
        const plots = [...panel.querySelectorAll(plotSelector)];
        if (!plots.some((plot) => plot._fullLayout)) {{
            missing.push(`panel ${{index}}: no plot drawn`);
        }} else if (!plots.some((plot) => plot.data && plot.data.length)) {{
            missing.push(`panel ${{index}}: plot has no traces`);
        }}
    }});
    return missing;
}}"""

# The traces a panel draws: what a control is expected to change. Layout sizes are left out because
# a resize changes them without any control being touched.
_PLOT_STATE_JS = f"""(panel) => {{
    const plots = [...panel.querySelectorAll('{PLOT_SELECTOR}')];
    const plain = (key, value) => key === 'uid' ? undefined
        : ArrayBuffer.isView(value) ? Array.from(value) : value;
    return JSON.stringify(plots.map((plot) => ({{
        data: plot.data,
        shapes: plot.layout && plot.layout.shapes,
        annotations: plot.layout && plot.layout.annotations,
        title: plot.layout && plot.layout.title,
    }})), plain);
}}"""

# Scrolls the notebook to its top and returns how far its last cell reaches below the viewport.
_SCROLL_TO_TOP_JS = f"""() => {{
    const notebook = {_CURRENT}.content;
    const scroller = notebook.node.querySelector('.jp-WindowedPanel-outer') || notebook.node;
    scroller.scrollTop = 0;
    const last = notebook.widgets[notebook.widgets.length - 1];
    const bottom = last ? last.node.getBoundingClientRect().bottom : 0;
    return Math.max(0, Math.ceil(bottom - scroller.getBoundingClientRect().bottom) + 24);
}}"""


def open_notebook(
    page: Page,
    server: LabServer,
    path: str,
    workspace: str,
    anywidget_init_timeout_ms: int = ANYWIDGET_INIT_TIMEOUT_MS,
) -> list[str]:
    """Open `path` (relative to the server root) alone in a fresh `workspace`; wait for an idle kernel.

    `?reset` starts from an empty layout, so tabs restored from an earlier page never compete for
    the main area. Returns a list that collects, from now on, the page's uncaught exceptions.
    """
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.add_init_script(_ANYWIDGET_PATIENCE_JS % anywidget_init_timeout_ms)
    page.goto(server.url(f"lab/workspaces/{workspace}/tree/{path}?reset"))
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=KERNEL_TIMEOUT_S * 1000)
    # The file browser would take a third of every screenshot.
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    return page_errors


def run_all_cells(page: Page) -> bool:
    """Run every cell through the command registry and wait for the run to finish and the kernel to idle.

    Returns the command's verdict: False when a cell failed (JupyterLab then skips the cells after it).
    """
    succeeded = page.evaluate(_RUN_ALL_JS, RUN_ALL_TIMEOUT_S * 1000)
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=KERNEL_TIMEOUT_S * 1000)
    return bool(succeeded)


def wait_for_widgets(page: Page, timeout_s: float = RENDER_TIMEOUT_S) -> list[str]:
    """Wait until every widget output has loaded and every panel shows a plot with traces.

    Returns what is still missing after `timeout_s`, one line each; empty when all is drawn.
    """
    arg = [PANEL_SELECTOR, PLOT_SELECTOR, WIDGET_LOADING_TEXT]
    try:
        page.wait_for_function(f"(arg) => ({_UNSETTLED_JS})(arg).length === 0", arg=arg, timeout=timeout_s * 1000)
    except PlaywrightTimeoutError:
        return [str(line) for line in page.evaluate(_UNSETTLED_JS, arg)]
    return []


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


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    return next((line for line in lines if line and not line.startswith(CONSOLE_HINT)), "")


def notebook_problems(page: Page, page_errors: list[str]) -> list[str]:
    """Everything that shows the notebook did not run cleanly, one line each; empty when it did.

    Reports, by index among the code cells: error outputs and tracebacks printed to stderr, cells
    without an execution count (skipped after a failure, or the kernel died), and widgets that
    failed to draw ("Error displaying widget", or ipywidgets' error icon, which this clicks open
    to read its message; the screenshot then shows the message too). Then `page_errors`, the
    page's uncaught exceptions (from `open_notebook`): a widget can break without a visible sign.
    """
    icons = page.locator(f"{ERROR_WIDGET_SELECTOR}.icon-error")
    for _ in range(icons.count()):
        icons.first.click()  # the icon turns into the message, so `first` moves on to the next icon
    problems = []
    for index, cell in enumerate(page.evaluate(_CODE_CELLS_JS, [WIDGET_ERROR_TEXT, ERROR_WIDGET_SELECTOR])):
        problems += [f"code cell {index}: {_describe(out)}" for out in cell["outputs"] if _is_traceback(out)]
        problems += [f"code cell {index}: widget: {_first_line(text)}" for text in cell["widget_errors"]]
        if cell["execution_count"] is None:
            problems.append(f"code cell {index}: not executed")
    return problems + [f"page error: {error}" for error in page_errors]


def panels(page: Page) -> list[Locator]:
    """The notebook's panels (widget containers with the class lnviz-panel), in document order."""
    found = page.locator(PANEL_SELECTOR)
    return [found.nth(index) for index in range(found.count())]


def plot_state(panel: Locator) -> str:
    """The JSON of the traces (and shapes, annotations, title) of the plot(s) inside `panel`."""
    return str(panel.evaluate(_PLOT_STATE_JS))


@dataclass
class ControlMove:
    """What `nudge_first_control` did: the control's kind and label, the key pressed (or
    "select_option"), and the control's value before and after."""

    kind: str
    label: str
    action: str
    before: str
    after: str


def _label(control: Locator) -> str:
    # ipywidgets puts a control and its description label side by side in one `.widget-inline-hbox`.
    box = control.locator("xpath=ancestor::*[contains(@class, 'widget-inline-hbox')][1]")
    label = box.locator(".widget-label").first if box.count() else None
    return label.inner_text().strip() if label is not None and label.count() else ""


def _press_until_changed(control: Locator, keys: tuple[str, ...], read: str) -> tuple[str, str, str]:
    """Focus `control` and press keys[0]; if its value (read by the JS function `read`) has not moved
    within CONTROL_TIMEOUT_S, press the next key. Returns the key that worked (else the last one)
    and the value before and after, as JS strings."""
    # Pinned to the element: a locator such as "the first inactive button" matches another one
    # as soon as the key has done its job.
    element = control.element_handle()
    value = f"(node) => String(({read})(node))"
    before = str(element.evaluate(value))
    element.focus()
    for key in keys:
        element.press(key)
        try:
            control.page.wait_for_function(
                f"([node, before]) => ({value})(node) !== before",
                arg=[element, before],
                timeout=CONTROL_TIMEOUT_S * 1000,
            )
            break
        except PlaywrightTimeoutError:
            continue
    return key, before, str(element.evaluate(value))


def nudge_first_control(panel: Locator) -> ControlMove:
    """Move the panel's first enabled control one step, as a user would.

    Sliders are preferred (ipywidgets 8 draws them with noUiSlider, whose focused handle takes the
    arrow keys; one at its maximum is moved down instead), then dropdowns, then toggle buttons
    (Space). Raises ValueError when the panel has no enabled control.
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
        # A collapsed <select> loses its arrow and letter keys to JupyterLab's command-mode shortcuts
        # (jupyter-widgets/ipywidgets#3912: ArrowDown selects the next cell), so a dropdown is moved
        # the way a mouse user moves it: to its next option, or its previous one from the last.
        select = selects.first
        before = select.input_value()
        options = select.locator("option").evaluate_all("(nodes) => nodes.map((node) => node.value)")
        index = options.index(before)
        select.select_option(options[index + 1] if index + 1 < len(options) else options[index - 1])
        return ControlMove("dropdown", _label(select), "select_option", before, select.input_value())
    buttons = panel.locator("button.widget-toggle-button:not([disabled]):not(.mod-active)")
    if buttons.count():
        button = buttons.first
        key, before, after = _press_until_changed(button, ("Space",), "(node) => node.classList.contains('mod-active')")
        return ControlMove("toggle button", button.inner_text().strip(), key, before, after)
    raise ValueError(f"expected a slider, dropdown or toggle button in {PANEL_SELECTOR}, found none enabled")


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
    if viewport is None:
        raise ValueError("expected a page with a fixed viewport (new_context(viewport=...)), got none")
    hidden = int(page.evaluate(_SCROLL_TO_TOP_JS))
    page.set_viewport_size(
        {"width": viewport["width"], "height": min(viewport["height"] + hidden, MAX_SCREENSHOT_HEIGHT)}
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(viewport)
