"""Render the lessons, executed, to self-contained HTML pages and to reveal.js slides.

    python -m lnviz.export [--out DIR] [--jobs N] [--reveal-prefix URL] [--mathjax-url URL] [NAMES...]

NAMES are lesson numbers or file names ("01", "03_dynamics"); none means every lesson.
Each lesson is executed once, in a fresh kernel, and written twice: `DIR/NN_topic.html` and
`DIR/NN_topic.slides.html` (the cells' `slideshow` metadata decides the slides).

What a page holds, and why:

- plotly.js, inlined once in the page's head: figures draw with no network and no kernel, and plotly
  frames (a Play button, a step slider) animate in the browser alone.
- A panel (ipywidgets controls wired to a FigureWidget) cannot move without a kernel, and its widget
  state would ship plotly's 5 MB JavaScript module once per FigureWidget. The export kernel gives every
  widget that holds a figure a static HTML rendering instead: its figures as plain plotly figures and
  its controls as text ("method: layer norm"), in the panel's layout. The notebook is executed without
  storing widget state, so nbconvert shows that rendering in place of the widget.
- No require.js, jQuery, mermaid or widget manager is loaded: the pages need none of them.
- Equations are typeset by MathJax 3 when it can be fetched (`--mathjax-url`, from a CDN by default);
  the page loads it asynchronously, so that offline nothing waits and the equations stay as TeX source.
  Point `--mathjax-url` at a local `tex-chtml.js` (MathJax 3) to typeset them offline.
- Slides load reveal.js from `--reveal-prefix` (a CDN by default): offline, pass a local copy of
  reveal.js 4 (the folder that holds `dist/` and `plugin/`).
"""

from __future__ import annotations

import argparse
import html
import json
import multiprocessing
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ipywidgets as widgets
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell

DEFAULT_OUT = Path("build") / "lectures"
DEFAULT_NOTEBOOKS = Path("notebooks")
#: reveal.js 4.0.2: the version nbconvert's reveal template and its CSS are written for.
DEFAULT_REVEAL_PREFIX = "https://unpkg.com/reveal.js@4.0.2"
DEFAULT_MATHJAX_URL = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"
#: The plotly renderer the export kernel registers and makes the default.
RENDERER = "lnviz_static"
#: Longest a single cell may run (the training cells of the later lessons take a while on a laptop).
CELL_TIMEOUT_S = 600
#: What nbconvert warns when an output has no mimetype the page can show: the output is dropped.
UNREPRESENTABLE = "not able to be represented"

# Kernel-side set-up, run before the first cell without taking an execution count. `__import__` binds
# no name, so a lesson that forgot `import lnviz` still fails here as it would in JupyterLab.
_KERNEL_SETUP = '__import__("lnviz.export").export.install_static_display(get_ipython())'

# MathJax 3, asynchronously and only if it can be fetched: offline, the page does not wait for it.
_MATHJAX_LOADER = """\
<script>
window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
        processEscapes: true},
  startup: {typeset: true}
};
(function () {
  var script = document.createElement("script");
  script.async = true;
  script.src = {{ resources.lnviz.mathjax_url | tojson }};
  document.head.appendChild(script);
})();
</script>"""

# Both templates extend nbconvert's own and replace only what loads code from the network.
_HTML_TEMPLATE = (
    """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<script>{{ resources.lnviz.plotly_js }}</script>
{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
"""
    + _MATHJAX_LOADER
    + """
{%- endblock html_head_js_mathjax -%}
"""
)

_SLIDES_TEMPLATE = (
    """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<script>{{ resources.lnviz.plotly_js }}</script>
{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}
"""
    + _MATHJAX_LOADER
    + """
{%- endblock html_head_js_mathjax -%}
{%- block footer_js -%}
<script src="{{ reveal_url_prefix }}/dist/reveal.js"></script>
<script src="{{ reveal_url_prefix }}/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({
  controls: true,
  progress: true,
  history: true,
  transition: {{ reveal_transition | tojson }},
  slideNumber: {{ reveal_number | tojson }},
  width: {{ reveal_width }},
  height: {{ reveal_height }},
  plugins: [RevealNotes]
});
function show(event) {
  var slide = event.currentSlide, height = Reveal.getConfig().height;
  // A slide taller than the screen scrolls, instead of running off its bottom edge.
  if (slide.scrollHeight > height) {
    slide.style.height = height + "px";
    slide.style.overflowY = "auto";
  }
  // A figure drawn while its slide was hidden has no size: size it when its slide shows.
  slide.querySelectorAll(".js-plotly-plot").forEach(function (plot) { Plotly.Plots.resize(plot); });
}
Reveal.on("ready", show);
Reveal.on("slidechanged", show);
</script>
{%- endblock footer_js -%}
"""
)


# ---------------------------------------------------------------------------------------------
# In the export kernel: how figures and widgets display


def _figure_html(figure: Any, div_id: str | None = None) -> str:
    """A plotly figure (Figure, FigureWidget or its dict) as HTML that draws with the page's plotly.js:
    no copy of plotly.js, no MathJax, and an animation waits for its Play button."""
    import plotly.io as pio

    return pio.to_html(
        figure,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        auto_play=False,
        default_width="100%",
        validate=False,
        div_id=div_id,
    )


def _descendants(widget: widgets.Widget) -> list[widgets.Widget]:
    return [widget] + [d for child in getattr(widget, "children", ()) for d in _descendants(child)]


def _control_text(control: widgets.ValueWidget) -> str:
    # A selection shows its label ("layer norm"), not the value behind it ("layer").
    shown = getattr(control, "label", None)
    if shown is None:
        shown = control.value
    if isinstance(shown, tuple):
        shown = ", ".join(map(str, shown))
    elif isinstance(shown, (int, float)) and hasattr(control, "readout_format"):
        shown = format(shown, control.readout_format)  # as the slider's own readout shows it
    return f"{control.description}: {shown}"


def _static(widget: widgets.Widget, prefix: str) -> str:
    import ipywidgets as widgets
    from plotly.basewidget import BaseFigureWidget

    if isinstance(widget, BaseFigureWidget):
        return _figure_html(widget, div_id=f"{prefix}{widget.model_id}")
    if isinstance(widget, widgets.Box):
        direction = "row" if isinstance(widget, widgets.HBox) else "column"
        classes = html.escape(" ".join(["lnviz-static-box", *widget._dom_classes]))
        inner = "".join(_static(child, prefix) for child in widget.children)
        return f'<div class="{classes}" style="display: flex; flex-flow: {direction} wrap; gap: 4px 24px">{inner}</div>'
    if isinstance(widget, (widgets.HTML, widgets.HTMLMath)):
        return f'<div class="lnviz-static-html">{widget.value}</div>'
    if isinstance(widget, widgets.Label):
        return f'<div class="lnviz-static-label">{html.escape(str(widget.value))}</div>'
    # Without a kernel a button does nothing, an Output widget holds nothing and a progress bar is done.
    if isinstance(widget, (widgets.Button, widgets.Output, widgets.FloatProgress, widgets.IntProgress)):
        return ""
    if isinstance(widget, widgets.ValueWidget) and getattr(widget, "description", ""):
        return f'<div class="lnviz-static-control">{html.escape(_control_text(widget))}</div>'
    return ""


def widget_html(widget: widgets.Widget, prefix: str = "lnviz-") -> str | None:
    """A static rendering of `widget` for a page without a kernel, or None when it holds no figure.

    Boxes keep their direction (HBox a row, VBox a column) and CSS classes, FigureWidgets become plain
    plotly figures (with the div id `prefix + model_id`), HTML and Label widgets keep their text, and
    controls with a description show it with their value ("normalization: layer norm"). Buttons,
    Output widgets and progress bars are left out: without a kernel they do nothing and hold nothing.
    """
    from plotly.basewidget import BaseFigureWidget

    if not any(isinstance(w, BaseFigureWidget) for w in _descendants(widget)):
        return None
    return _static(widget, prefix)


class StaticDisplays:
    """Displays each widget that holds a figure with a static rendering (`widget_html`) beside its
    widget view, and re-renders it after every cell, so that a page shows each panel as the last cell
    left it (a cell may train the model behind a panel displayed earlier). The re-rendering goes out
    as an update of the earlier display, which nbclient applies to that output.
    """

    def __init__(self) -> None:
        # [display handle, widget, its widget view, the static HTML last sent]
        self.shown: list[list[Any]] = []

    def display(self, widget: widgets.Widget) -> None:
        from IPython.display import display

        view = widget._repr_mimebundle_()
        view = (view[0] if isinstance(view, tuple) else view) or {}  # anywidget answers (data, metadata)
        static = widget_html(widget, prefix=f"lnviz-{len(self.shown)}-")
        if static is None:  # as IPython would show it: the widget view, and its text for a page
            display({"text/plain": repr(widget), **view}, raw=True)
            return
        handle = display({**view, "text/html": static}, raw=True, display_id=True)
        self.shown.append([handle, widget, view, static])

    def refresh(self, *_: Any) -> None:
        for index, entry in enumerate(self.shown):
            handle, widget, view, before = entry
            static = widget_html(widget, prefix=f"lnviz-{index}-")
            if static != before:
                handle.update({**view, "text/html": static}, raw=True)
                entry[3] = static


def install_static_display(shell: InteractiveShell) -> None:
    """Make `shell` display figures and figure-holding widgets as static HTML, for an exported page.

    Registers and selects the plotly renderer RENDERER (HTML that draws with the page's plotly.js),
    has every ipywidget displayed by a `StaticDisplays`, and refreshes those after every cell.
    """
    import ipywidgets as widgets
    import plotly.io as pio
    from plotly.io.base_renderers import MimetypeRenderer

    class StaticHtmlRenderer(MimetypeRenderer):
        def to_mimebundle(self, fig_dict: dict) -> dict[str, str]:
            return {"text/html": _figure_html(fig_dict)}

    pio.renderers[RENDERER] = StaticHtmlRenderer()
    pio.renderers.default = RENDERER
    displays = StaticDisplays()
    shell.display_formatter.ipython_display_formatter.for_type(widgets.Widget, displays.display)
    shell.events.register("post_run_cell", displays.refresh)


# ---------------------------------------------------------------------------------------------
# In this process: execute and convert


@dataclass
class Exported:
    """What `export_notebook` wrote: the page, the slides, and the executed notebook they came from."""

    html: Path
    slides: Path
    notebook: nbformat.NotebookNode


class ExportError(RuntimeError):
    """A lesson could not be exported faithfully: a cell failed, or an output would be dropped."""


def execute(source: Path, timeout: int = CELL_TIMEOUT_S, static: bool = True) -> nbformat.NotebookNode:
    """Run the lesson `source` (a jupytext .py or an .ipynb) top to bottom in a fresh python3 kernel, in
    the lesson's folder, as "Restart Kernel and Run All" does; with `static`, the kernel is set up by
    `install_static_display` for an export.

    Widget state is not stored (store_widget_state=False): with FigureWidgets it would make a 5 MB
    notebook. Raises nbclient's CellExecutionError on the first failing cell.
    """
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(source)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        store_widget_state=False,
        extra_arguments=[f"--IPKernelApp.exec_lines={json.dumps([_KERNEL_SETUP])}"] if static else [],
        resources={"metadata": {"path": str(source.parent)}},
    )
    client.execute()
    return notebook


def _exporters(reveal_prefix: str) -> tuple[Any, Any]:
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter, SlidesExporter

    loader = DictLoader({"lnviz_lab.html.j2": _HTML_TEMPLATE, "lnviz_reveal.html.j2": _SLIDES_TEMPLATE})
    page = HTMLExporter(template_name="lab", template_file="lnviz_lab.html.j2", extra_loaders=[loader])
    slides = SlidesExporter(
        template_name="reveal",
        template_file="lnviz_reveal.html.j2",
        extra_loaders=[loader],
        reveal_url_prefix=reveal_prefix,
    )
    return page, slides


def convert(
    notebook: nbformat.NotebookNode,
    name: str,
    reveal_prefix: str = DEFAULT_REVEAL_PREFIX,
    mathjax_url: str = DEFAULT_MATHJAX_URL,
) -> tuple[str, str]:
    """The page and the slides, as HTML text, of an executed notebook titled `name`.

    Raises ExportError when an output has no mimetype a page can show (nbconvert would drop it).
    """
    from plotly.offline import get_plotlyjs

    def resources() -> dict[str, Any]:  # a fresh copy for each exporter, which adds to it
        return {"metadata": {"name": name}, "lnviz": {"plotly_js": plotly_js, "mathjax_url": mathjax_url}}

    plotly_js = get_plotlyjs()
    page_exporter, slides_exporter = _exporters(reveal_prefix)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page, _ = page_exporter.from_notebook_node(notebook, resources=resources())
        slides, _ = slides_exporter.from_notebook_node(notebook, resources=resources())
    dropped = sorted({str(w.message) for w in caught if UNREPRESENTABLE in str(w.message)})
    if dropped:
        raise ExportError(
            f"{name}: expected every output to be shown, but nbconvert would drop "
            f"{len(dropped)} kind(s): " + "; ".join(dropped)
        )
    return page, slides


def export_notebook(
    source: Path, out: Path, reveal_prefix: str = DEFAULT_REVEAL_PREFIX, mathjax_url: str = DEFAULT_MATHJAX_URL
) -> Exported:
    """Execute the lesson `source` and write `out/<stem>.html` and `out/<stem>.slides.html`."""
    notebook = execute(source)
    page, slides = convert(notebook, source.stem, reveal_prefix, mathjax_url)
    out.mkdir(parents=True, exist_ok=True)
    html_path, slides_path = out / f"{source.stem}.html", out / f"{source.stem}.slides.html"
    html_path.write_text(page, encoding="utf-8")
    slides_path.write_text(slides, encoding="utf-8")
    return Exported(html_path, slides_path, notebook)


def lessons(directory: Path, names: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """The lessons' jupytext sources (`NN_topic.py`) in `directory`, all of them or those whose file
    name starts with one of `names` ("01", "03_hidden", "02_invariance.ipynb").

    Raises ValueError naming what was expected when a name matches no lesson.
    """
    found = sorted(directory.glob("[0-9][0-9]_*.py"))
    if not names:
        if not found:
            raise ValueError(f"expected lessons NN_topic.py in {directory}, found none")
        return found
    chosen = []
    for name in names:
        stem = Path(name).stem if name.endswith((".py", ".ipynb")) else Path(name).name
        matches = [path for path in found if path.stem.startswith(stem)]
        if not matches:
            raise ValueError(
                f"expected a lesson in {directory} whose name starts with {stem!r}, "
                f"found none among {[path.stem for path in found]}"
            )
        chosen += [path for path in matches if path not in chosen]
    return chosen


def _export_and_report(source: Path, out: Path, reveal_prefix: str, mathjax_url: str) -> str:
    """Export one lesson; return the line to print about it, which starts with "FAILED" if it failed.
    Runs in a worker process with --jobs, so it returns text, which always crosses back."""
    start = time.perf_counter()
    try:
        exported = export_notebook(source, out, reveal_prefix, mathjax_url)
    except Exception as error:  # a lecturer wants every other lesson exported all the same
        return f"FAILED {source.stem}: {type(error).__name__}: {error}"
    sizes = ", ".join(f"{path} ({path.stat().st_size / 1e6:.1f} MB)" for path in (exported.html, exported.slides))
    return f"{source.stem}: {time.perf_counter() - start:.0f} s, wrote {sizes}"


def _print_report(report: str) -> None:
    print(report, file=sys.stderr if report.startswith("FAILED") else sys.stdout, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lnviz.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAMES", help="lessons to export (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=DEFAULT_NOTEBOOKS,
        help=f"folder of the lessons (default: {DEFAULT_NOTEBOOKS})",
    )
    parser.add_argument(
        "--reveal-prefix",
        default=DEFAULT_REVEAL_PREFIX,
        help="reveal.js 4 for the slides: a URL or a local folder holding dist/ and plugin/",
    )
    parser.add_argument(
        "--mathjax-url", default=DEFAULT_MATHJAX_URL, help="MathJax 3 tex-chtml.js: a URL or a local path"
    )
    parser.add_argument("--jobs", type=int, default=1, help="lessons executed at the same time (default: 1)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"expected --jobs of at least 1, got {args.jobs}")
    try:
        sources = lessons(args.notebooks, args.names)
    except ValueError as error:
        parser.error(str(error))
    work = [(source, args.out, args.reveal_prefix, args.mathjax_url) for source in sources]
    reports = []
    if args.jobs == 1:
        for job in work:
            reports.append(_export_and_report(*job))
            _print_report(reports[-1])
    else:
        # Processes, not threads: each runs its own nbclient event loop and its own kernel.
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for future in as_completed([pool.submit(_export_and_report, *job) for job in work]):
                reports.append(future.result())
                _print_report(reports[-1])
    failed = sum(report.startswith("FAILED") for report in reports)
    if failed:
        print(f"{failed} of {len(sources)} lessons failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
