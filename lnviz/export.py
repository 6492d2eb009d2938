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
- Exercise solutions are left out of both (`without_solutions`): the pages are handed to students.
- Nothing loads from the network by default. MathJax 3 (`tex-svg-full.js`: every TeX extension, SVG
  output, no font files) is inlined in every page and slide deck and typesets the equations in the
  browser. The slides inline reveal.js 4.0.2, its notes plugin, and its white theme with the theme's
  fonts (nbconvert's default theme would fetch its fonts from Google). These files are vendored,
  unchanged and with their licences, in `lnviz/_vendor/`.
- The slides are laid out at 1280x720 (SLIDE_WIDTH, SLIDE_HEIGHT) and scaled by reveal.js to the screen.
  A code cell with outputs shows them without its code (`slides_notebook`). When a slide shows, a script fits
  its content into it: figures give up some plotting height, then the content is zoomed out, so a slide
  never scrolls and never cuts off a figure or an equation.
- `--mathjax-url URL` loads MathJax 3 from a URL instead (asynchronously: if it cannot be fetched
  nothing waits and the equations stay as TeX source), and `--reveal-prefix URL` loads reveal.js 4
  from a folder holding `dist/` and `plugin/` (a CDN such as CDN_REVEAL_PREFIX): smaller files, for
  lectures given online.
"""

from __future__ import annotations

import argparse
import base64
import functools
import html
import json
import multiprocessing
import re
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
#: The vendored front-end files (lnviz/_vendor/README.md says where each comes from, and its licence).
VENDOR = Path(__file__).resolve().parent / "_vendor"
#: reveal.js 4.0.2: the version nbconvert's reveal template and its CSS are written for.
REVEAL_DIR = VENDOR / "reveal.js"
#: nbconvert's default theme ("simple") imports its fonts from Google Fonts; "white" ships its own.
REVEAL_THEME = "white"
MATHJAX_JS = VENDOR / "mathjax" / "es5" / "tex-svg-full.js"
#: Where the same files are on a CDN, for `--reveal-prefix` / `--mathjax-url` (never the default).
CDN_REVEAL_PREFIX = "https://unpkg.com/reveal.js@4.0.2"
CDN_MATHJAX_URL = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-svg-full.js"
#: The plotly renderer the export kernel registers and makes the default.
RENDERER = "lnviz_static"
#: Longest a single cell may run (the training cells of the later lessons take a while on a laptop).
CELL_TIMEOUT_S = 600
#: What nbconvert warns when an output has no mimetype the page can show: the output is dropped.
UNREPRESENTABLE = "not able to be represented"
#: A slide's size in CSS px: a 16:9 projector's 1280x720. reveal.js lays every slide out at this size and
#: scales the whole deck to the screen, keeping MARGIN (a fraction of the size) free around it.
SLIDE_WIDTH, SLIDE_HEIGHT = 1280, 720
SLIDE_MARGIN = 0.04
#: How far reveal.js may scale the deck to a screen: down to a phone, up to a 4K projector.
SLIDE_MIN_SCALE, SLIDE_MAX_SCALE = 0.2, 3.0
#: A figure on a slide too full for its natural height gives up height from its plotting area (its
#: titles, legend and margins keep theirs), but keeps at least this fraction of it: below that its axes
#: crowd each other. A figure with rows of subplots keeps more, since the titles between its rows have
#: only the space that shrinks with it. Past that the slide's content is zoomed out as a whole.
SLIDE_FIGURE_MIN_PLOT_FRACTION = 0.6
SLIDE_FIGURE_ROWS_MIN_PLOT_FRACTION = 0.85

# Kernel-side set-up, run before the first cell without taking an execution count. `__import__` binds
# no name, so a lesson that forgot `import lnviz` still fails here as it would in JupyterLab.
_KERNEL_SETUP = '__import__("lnviz.export").export.install_static_display(get_ipython())'

# MathJax 3's configuration. After typesetting it marks the page (tests wait for that) and tells the
# slides, whose layout depends on the height of the typeset equations.
_MATHJAX_CONFIG = """\
<script>
window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
        processEscapes: true},
  svg: {fontCache: "global"},
  startup: {
    typeset: true,
    pageReady: function () {
      return MathJax.startup.defaultPageReady().then(function () {
        document.documentElement.dataset.lnvizTypeset = "done";
        document.dispatchEvent(new Event("lnviz-typeset"));
      });
    }
  }
};
</script>"""

# MathJax from a URL: asynchronously, so that offline nothing waits and the equations stay as TeX.
_MATHJAX_REMOTE = """\
<script>
(function () {
  var script = document.createElement("script");
  script.async = true;
  script.src = {{ resources.lnviz.mathjax_url | tojson }};
  document.head.appendChild(script);
})();
</script>"""

_MATHJAX_LOADER = (
    _MATHJAX_CONFIG
    + """
{%- if resources.lnviz.mathjax_js -%}
<script>{{ resources.lnviz.mathjax_js }}</script>
{%- else -%}
"""
    + _MATHJAX_REMOTE
    + """
{%- endif -%}"""
)

# JupyterLab's light theme, which both templates style the cells with, draws prompts at half opacity and
# highlights code in colours below WCAG AA's contrast of 4.5:1 on the code's #f5f5f5 (comments 4.2,
# numbers 4.3, operators 4.4, quotes 3.5, atoms 2.8). The same hues, darkened to at least 5:1.
_CONTRAST_CSS = """\
<style>
:root {
  --jp-cell-prompt-not-active-opacity: 1;
  --jp-cell-inprompt-font-color: #1f66a8;
  --jp-cell-outprompt-font-color: #a64b30;
  --jp-mirror-editor-atom-color: #4f4fd9;
  --jp-mirror-editor-bracket-color: #6b6b4a;
  --jp-mirror-editor-builtin-color: #007000;
  --jp-mirror-editor-comment-color: #306b6b;
  --jp-mirror-editor-error-color: #c00000;
  --jp-mirror-editor-hr-color: #666666;
  --jp-mirror-editor-keyword-color: #007000;
  --jp-mirror-editor-meta-color: #7d1fcc;
  --jp-mirror-editor-number-color: #007000;
  --jp-mirror-editor-operator-color: #7d1fcc;
  --jp-mirror-editor-quote-color: #116611;
}
</style>"""

# Both templates extend nbconvert's own and replace only what would load code from the network.
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
{%- block html_head_css -%}
"""
    + _CONTRAST_CSS
    + """
{%- endblock html_head_css -%}
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
{%- block html_head_css -%}
"""
    + _CONTRAST_CSS
    + """
<style>
/* The white theme capitalises headings; a lesson's headings keep the case they have in the notebook. */
.reveal .slides h1, .reveal .slides h2, .reveal .slides h3,
.reveal .slides h4, .reveal .slides h5, .reveal .slides h6 { text-transform: none; }
/* Code cells show only their outputs (`slides_notebook`), so no cell needs a prompt's margin: the
   slide's width goes to its text and figures. */
.reveal .jp-InputPrompt, .reveal .jp-OutputPrompt, .reveal .jp-Collapser { display: none; }
/* The code left on a slide (a cell without output) wraps its long lines rather than hiding them behind
   a scroll bar, and its padding stays inside its width. */
.reveal .slides pre { box-sizing: border-box; white-space: pre-wrap; overflow-wrap: anywhere; }
/* What `fitSlide` measures and zooms: a slide's content, its children's margins inside it. */
.reveal .lnviz-fit { display: flow-root; }
</style>
{%- endblock html_head_css -%}
{%- block footer_js -%}
{%- if resources.lnviz.reveal_js -%}
<script>{{ resources.lnviz.reveal_js }}</script>
<script>{{ resources.lnviz.reveal_notes_js }}</script>
{%- else -%}
<script src="{{ reveal_url_prefix }}/dist/reveal.js"></script>
<script src="{{ reveal_url_prefix }}/plugin/notes/notes.js"></script>
{%- endif -%}
<script>
Reveal.initialize({
  controls: true,
  progress: true,
  history: true,
  transition: {{ reveal_transition | tojson }},
  slideNumber: {{ reveal_number | tojson }},
  width: {{ resources.lnviz.slide.width }},
  height: {{ resources.lnviz.slide.height }},
  margin: {{ resources.lnviz.slide.margin }},
  minScale: {{ resources.lnviz.slide.min_scale }},
  maxScale: {{ resources.lnviz.slide.max_scale }},
  plugins: [RevealNotes]
});
var FIT = {{ resources.lnviz.slide | tojson }};

// A slide's content, moved once into one box that `fitSlide` measures and, if need be, zooms.
function slideContent(slide) {
  var box = slide.querySelector(":scope > .lnviz-fit");
  if (!box) {
    box = document.createElement("div");
    box.className = "lnviz-fit";
    while (slide.firstChild) box.appendChild(slide.firstChild);
    slide.appendChild(box);
  }
  return box;
}

// How many rows of subplots a drawn figure has: its y axes' distinct domains.
function subplotRows(plot) {
  var starts = {};
  Object.keys(plot._fullLayout).forEach(function (key) {
    if (/^yaxis[0-9]*$/.test(key) && plot._fullLayout[key].domain) starts[plot._fullLayout[key].domain[0]] = true;
  });
  return Object.keys(starts).length;
}

// Fit a slide's content into the slide: a slide never scrolls and never cuts its content off. Figures
// give up height first, in proportion, from their plotting areas and down to a fraction of them
// (FIT.figure_min_plot_fraction, or FIT.figure_rows_min_plot_fraction for rows of subplots; text keeps
// its size); what is still too tall or too wide is zoomed out as a whole. Marks the slide
// data-lnviz-fit="done".
function fitSlide(slide) {
  var run = (slide.lnvizFitRun || 0) + 1;
  slide.lnvizFitRun = run;
  slide.dataset.lnvizFit = "pending";
  var box = slideContent(slide);
  box.style.zoom = "";
  var padding = getComputedStyle(slide);
  var room = FIT.height - parseFloat(padding.paddingTop) - parseFloat(padding.paddingBottom);
  var plots = Array.prototype.slice.call(box.querySelectorAll(".js-plotly-plot"));
  plots.forEach(function (plot) {
    if (!plot.dataset.lnvizHeight) {
      // the figure's own height, and its container follows the figure instead of fixing it
      plot.dataset.lnvizHeight = plot._fullLayout.height;
      plot.parentElement.style.height = "auto";
      plot.style.height = plot.dataset.lnvizHeight + "px";
    }
  });
  // A figure drawn while its slide was hidden has no width: size it now its slide shows (and forget a
  // width set for a zoom, below).
  return Promise.all(plots.map(function (plot) {
    if (!plot.dataset.lnvizZoomWidth) return null;
    delete plot.dataset.lnvizZoomWidth;
    return Plotly.relayout(plot, {width: null});
  }))
    .then(function () { return Promise.all(plots.map(function (plot) { return Plotly.Plots.resize(plot); })); })
    .then(function () {
      var natural = plots.map(function (plot) { return Number(plot.dataset.lnvizHeight); });
      var fixed = plots.map(function (plot, index) {  // titles, legend and margins
        return Math.min(natural[index], plot._fullLayout.margin.t + plot._fullLayout.margin.b);
      });
      var figures = plots.reduce(function (sum, plot) { return sum + plot.offsetHeight; }, 0);
      var spare = room - (box.offsetHeight - figures);
      var total = natural.reduce(function (sum, height) { return sum + height; }, 0);
      var fixedTotal = fixed.reduce(function (sum, height) { return sum + height; }, 0);
      var factor = total <= spare ? 1 : Math.max(spare - fixedTotal, 0) / (total - fixedTotal);
      return Promise.all(plots.map(function (plot, index) {
        var floor = subplotRows(plot) > 1 ? FIT.figure_rows_min_plot_fraction : FIT.figure_min_plot_fraction;
        var height = Math.round(fixed[index] + (natural[index] - fixed[index]) * Math.min(Math.max(factor, floor), 1));
        if (Math.abs(plot.offsetHeight - height) < 1) return null;
        plot.style.height = height + "px";
        return Plotly.relayout(plot, {height: height});
      }));
    })
    .then(function () {
      // Zoomed out, the content is laid out wider (the box keeps the slide's width on screen), so its
      // text wraps into fewer lines: search for the largest zoom that fits rather than taking a ratio.
      var scale = Reveal.getScale();
      function fits(zoom) {
        box.style.zoom = zoom === 1 ? "" : String(zoom);
        return box.getBoundingClientRect().height <= room * scale + 0.5 && box.scrollWidth <= box.clientWidth + 1;
      }
      if (!fits(1)) {
        var low = Math.min(room / box.offsetHeight, box.clientWidth / box.scrollWidth), high = 1;
        while (!fits(low) && low > 0.1) low *= 0.9;
        for (var step = 0; step < 8; step++) {
          var middle = (low + high) / 2;
          if (fits(middle)) low = middle; else high = middle;
        }
        fits(Math.floor(low * 1000) / 1000);
      }
      // The figures take the width the zoomed box gives them. Plotly would read the width as the screen
      // shows it (computed styles are zoomed), so it is given in the box's own pixels.
      var zoom = Number(box.style.zoom || 1);
      return Promise.all(plots.map(function (plot) {
        if (zoom === 1) return null;
        var width = Math.floor(plot.parentElement.getBoundingClientRect().width / (scale * zoom));
        plot.dataset.lnvizZoomWidth = width;
        return Plotly.relayout(plot, {width: width, height: plot._fullLayout.height});
      }));
    })
    .then(function () {
      if (slide.lnvizFitRun === run) {
        Reveal.layout();  // centres the slide again, at its new height
        slide.dataset.lnvizFit = "done";
      }
    });
}

function show(event) {
  fitSlide(event.currentSlide);
}
Reveal.on("ready", show);
Reveal.on("slidechanged", show);
// Typeset equations and loaded fonts change the slides' heights: fit the current slide again.
function refit() {
  if (Reveal.isReady()) {
    Reveal.layout();
    fitSlide(Reveal.getCurrentSlide());
  }
}
document.addEventListener("lnviz-typeset", refit);
document.fonts.ready.then(refit);
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
        extra_arguments=[
            # The kernel warns at every start that it talks over TCP without encryption: it does, on
            # loopback, to this process alone. Only its errors reach the export's output.
            "--IPKernelApp.log_level=ERROR",
            *([f"--IPKernelApp.exec_lines={json.dumps([_KERNEL_SETUP])}"] if static else []),
        ],
        resources={"metadata": {"path": str(source.parent)}},
    )
    client.execute()
    return notebook


#: What the slides template is given as reveal.js's URL prefix when reveal.js is inlined: every URL that
#: starts with it must be replaced by the file's content, or the export stops (`_inline_reveal_css`).
_INLINED_REVEAL = "lnviz-inlined-reveal.js"
_FONT_TYPES = {".woff": "font/woff", ".woff2": "font/woff2"}
_CSS_IMPORT = re.compile(r"""@import\s+url\(\s*['"]?([^'")]+?)['"]?\s*\)\s*;""")
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""")
_CSS_SRC = re.compile(r"\bsrc\s*:([^;]*);")


@functools.lru_cache
def inline_script(path: Path) -> str:
    """The script `path`, safe to write between `<script>` and `</script>`.

    An HTML parser ends a script at `</script` and, after `<!--`, takes a `<script` for a nested one;
    the vendored scripts have both inside strings and regular expressions. There `\\x3C` means `<`, so
    each `<` that starts one of them is written as `\\x3C`.
    """
    return re.sub(r"<(?=!--|/?script)", r"\\x3C", path.read_text(encoding="utf-8"), flags=re.IGNORECASE)


def _font_sources(declaration: re.Match[str], folder: Path) -> str:
    """A `src:` declaration with each font it lists as a data URI, leaving out the fonts not vendored
    (reveal.js lists .eot, .woff and .ttf copies; only .woff is vendored, which every browser reads)."""
    kept = []
    for source in declaration[1].split(","):
        found = _CSS_URL.search(source)
        if found is None or found[1].startswith("data:"):
            kept.append(source.strip())
            continue
        font = folder / re.split(r"[?#]", found[1])[0]
        if not font.is_file():
            continue
        data = base64.b64encode(font.read_bytes()).decode("ascii")
        kept.append(source.replace(found[0], f"url(data:{_FONT_TYPES[font.suffix]};base64,{data})").strip())
    return f"src: {', '.join(kept)};" if kept else ""


@functools.lru_cache
def inline_style(path: Path) -> str:
    """The style sheet `path`, with the sheets it imports written in place and its fonts as data URIs,
    so that it loads nothing. Raises ValueError naming any other URL it would still load."""
    folder = path.parent
    css = path.read_text(encoding="utf-8")
    # a sheet imported from the network stays, to be named in the error below
    css = _CSS_IMPORT.sub(lambda found: inline_style(folder / found[1]) if "//" not in found[1] else found[0], css)
    css = _CSS_SRC.sub(lambda found: _font_sources(found, folder), css)
    remote = [url for url in _CSS_URL.findall(css) if not url.startswith("data:")]
    if remote or "</style" in css.lower():
        raise ValueError(f"expected {path} to inline completely, but it still loads {remote or '</style'}")
    return css


def _inline_reveal_css(slides: str) -> str:
    """The slides with reveal.js's style sheet and theme, which nbconvert's template links from the
    reveal.js prefix, written into the page. Raises ExportError if the template loads anything else
    from that prefix: the slides would look for a file that does not exist."""
    sheets = {"dist/reveal.css": "", f"dist/theme/{REVEAL_THEME}.css": ' id="theme"'}
    for sheet, attributes in sheets.items():
        link = re.compile(rf"""<link\b[^<>]*\bhref=["']?{re.escape(f"{_INLINED_REVEAL}/{sheet}")}["']?[^<>]*>""")
        style = f"<style{attributes}>{inline_style(REVEAL_DIR / sheet)}</style>"
        slides = link.sub(lambda _, style=style: style, slides)  # a function: the CSS holds backslashes
    if _INLINED_REVEAL in slides:
        left = sorted(set(re.findall(rf"<[^<>]*{re.escape(_INLINED_REVEAL)}[^<>]*>", slides)))
        raise ExportError(
            f"expected every reveal.js file of nbconvert's slides template inlined, but it also loads {left}: "
            "pass --reveal-prefix (a CDN or a folder holding reveal.js 4)"
        )
    return slides


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
        reveal_theme=REVEAL_THEME,
    )
    return page, slides


#: The slides' layout, for reveal.js and for the script that fits each slide's content into it.
SLIDE_LAYOUT = {
    "width": SLIDE_WIDTH,
    "height": SLIDE_HEIGHT,
    "margin": SLIDE_MARGIN,
    "min_scale": SLIDE_MIN_SCALE,
    "max_scale": SLIDE_MAX_SCALE,
    "figure_min_plot_fraction": SLIDE_FIGURE_MIN_PLOT_FRACTION,
    "figure_rows_min_plot_fraction": SLIDE_FIGURE_ROWS_MIN_PLOT_FRACTION,
}


def without_solutions(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `notebook` without its exercises' solution cells and the notes that point at them
    (`lnviz.student.is_solution_cell`): a page or a deck handed to a class must not give the answers
    away. The stub a student completes and its check stay. The solutions still run in the export's
    kernel (the cells after them may use what they define); only what is shown leaves them out."""
    import copy

    from lnviz.student import is_solution_cell

    shown = copy.deepcopy(notebook)
    shown.cells = [cell for cell in shown.cells if not is_solution_cell(cell)]
    return shown


def slides_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `notebook` for the slides, in which every code cell with an output shows only its outputs.

    Slides are for the room: a panel, a figure or a printed result is what the slide is about, not the
    line that made it (the lessons' printed lines name what they measured), and at a slide's size the
    code would push the figures off the slide or zoom its text out of reading. A code cell without
    output (a definition, an exercise's function to fill in) keeps its code: that is all it has to show.
    The page (`convert`) keeps all the code, for the reader who follows along in the notebook.
    """
    import copy

    shown = copy.deepcopy(notebook)
    for cell in shown.cells:
        if cell.cell_type == "code" and cell.get("outputs"):
            # what nbconvert's templates read to leave a cell's source out (its TagRemovePreprocessor sets it)
            cell.metadata["transient"] = {"remove_source": True}
    return shown


def convert(
    notebook: nbformat.NotebookNode,
    name: str,
    reveal_prefix: str | None = None,
    mathjax_url: str | None = None,
) -> tuple[str, str]:
    """The page and the slides, as HTML text, of an executed notebook titled `name`.

    MathJax is inlined unless `mathjax_url` says where to load it from; in the slides, reveal.js is
    inlined unless `reveal_prefix` says where to load it from (a URL or folder holding reveal.js 4's
    `dist/` and `plugin/`). Neither shows an exercise's solution (`without_solutions`). The slides
    (SLIDE_LAYOUT) show code cells' outputs without their code
    (`slides_notebook`), and fit each slide's content into the slide when it shows. Raises ExportError
    when an output has no mimetype a page can show (nbconvert would drop it).
    """
    from plotly.offline import get_plotlyjs

    def resources() -> dict[str, Any]:  # a fresh copy for each exporter, which adds to it
        return {"metadata": {"name": name}, "lnviz": dict(scripts)}

    scripts = {
        "slide": SLIDE_LAYOUT,
        "plotly_js": get_plotlyjs(),
        "mathjax_url": mathjax_url or "",
        "mathjax_js": "" if mathjax_url else inline_script(MATHJAX_JS),
        "reveal_js": "" if reveal_prefix else inline_script(REVEAL_DIR / "dist" / "reveal.js"),
        "reveal_notes_js": "" if reveal_prefix else inline_script(REVEAL_DIR / "plugin" / "notes" / "notes.js"),
    }
    page_exporter, slides_exporter = _exporters(reveal_prefix.rstrip("/") if reveal_prefix else _INLINED_REVEAL)
    shown = without_solutions(notebook)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page, _ = page_exporter.from_notebook_node(shown, resources=resources())
        slides, _ = slides_exporter.from_notebook_node(slides_notebook(shown), resources=resources())
    dropped = sorted({str(w.message) for w in caught if UNREPRESENTABLE in str(w.message)})
    if dropped:
        raise ExportError(
            f"{name}: expected every output to be shown, but nbconvert would drop "
            f"{len(dropped)} kind(s): " + "; ".join(dropped)
        )
    if not reveal_prefix:
        slides = _inline_reveal_css(slides)
    return page, slides


def export_notebook(
    source: Path, out: Path, reveal_prefix: str | None = None, mathjax_url: str | None = None
) -> Exported:
    """Execute the lesson `source` and write `out/<stem>.html` and `out/<stem>.slides.html` (`convert`
    says what `reveal_prefix` and `mathjax_url` change)."""
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


def _export_and_report(source: Path, out: Path, reveal_prefix: str | None, mathjax_url: str | None) -> str:
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
        metavar="URL",
        help="load reveal.js 4 for the slides from URL, which holds dist/ and plugin/ "
        f"(e.g. {CDN_REVEAL_PREFIX}; default: the bundled copy, inlined)",
    )
    parser.add_argument(
        "--mathjax-url",
        metavar="URL",
        help=f"load MathJax 3 from URL (e.g. {CDN_MATHJAX_URL}; default: the bundled copy, inlined)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="lessons executed at the same time (default: 1)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"expected --jobs of at least 1, got {args.jobs}")
    for option, value in (("--reveal-prefix", args.reveal_prefix), ("--mathjax-url", args.mathjax_url)):
        if value is not None and not value.strip():
            parser.error(f"expected a URL after {option}, got an empty string (leave {option} out to inline)")
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
