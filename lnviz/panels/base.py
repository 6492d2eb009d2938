"""Panels: ipywidgets controls wired to one plotly FigureWidget each, updated in place.

The contract, for every panel of every lesson:

- A subclass's `__init__` computes its numbers, builds the figure once with its lesson's figure
  builder (`lnviz.figures.<stem>.<name>_figure`) and calls `self._assemble(figure, controls)`.
- A subclass implements `compute() -> Update`: the figure update for the current control values,
  made by the same lesson's `<name>_update`. Every control change applies it in place
  (`_on_change`), so the figure is never re-created.
- Afterwards a panel has its controls in `panel.controls` (a dict by name), its figure in
  `panel.figure` and the whole thing in `panel.widget`. Observers fire synchronously, so a test (or
  a benchmark) can set `panel.controls["batch_size"].value = 4` and read `panel.figure.data` at once,
  with no kernel and no browser. In a notebook, a panel displays itself.
- Right before its figure, `panel.summary` is the figure's text alternative: its name and what its
  title and subplot titles say now, re-read from the figure after every update (`_on_change`,
  `_redraw`). A subclass that changes its figure another way calls `_describe()` after.
"""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Callable

import anywidget
import ipywidgets as widgets
import plotly.graph_objects as go

from lnviz.figures.core import Update, apply, changes
from lnviz.style import FIGURE_CONFIG

#: The CSS class every panel's outer box carries; the browser tests find panels by it.
PANEL_CLASS = "lnviz-panel"

WIDE = widgets.Layout(width="460px")
STYLE = {"description_width": "150px"}
#: What a panel's busy label says while a control that acts on release is being computed and drawn.
BUSY_TEXT = "<i>updating…</i>"
#: How long a figure's views may leave an update unanswered before the figure counts as deaf (`PanelFigure`).
DEAF_AFTER_S = 10.0
#: The CSS class of the text alternative placed right before each panel's figure (`Panel.summary`).
SUMMARY_CLASS = "lnviz-figure-summary"
# Visually hidden, still read by screen readers (the usual "sr-only" rules): sighted readers have the
# figure's title, which says the same.
_SR_ONLY = (
    "position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;"
    "clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap"
)


class Panel:
    """Controls + one FigureWidget. Subclasses call `_assemble` and implement `compute()` (see the module)."""

    controls: dict[str, widgets.ValueWidget]
    figure: go.FigureWidget
    widget: widgets.Box
    #: The figure's text alternative, right before it: its name and what its title and subplot titles
    #: say now, re-read from the figure after every update (plotly's SVG has no text alternative).
    summary: widgets.HTML
    #: Beside the controls when some act on release (`continuous_update=False`, because an update takes
    #: longer than a moving slider can wait): says BUSY_TEXT while such a control's update runs. Else None.
    busy: widgets.HTML | None = None

    def _assemble(
        self, figure: go.Figure, controls: dict[str, widgets.ValueWidget], note: widgets.Widget | None = None
    ) -> None:
        self.controls = controls
        self.figure = PanelFigure(figure, FIGURE_CONFIG)
        self.summary = widgets.HTML(layout=widgets.Layout(height="0px", min_height="0px", margin="0px"))
        self._summary_id = f"{SUMMARY_CLASS}-{uuid.uuid4().hex}"
        self._describe()
        on_release = [c for c in controls.values() if getattr(c, "continuous_update", True) is False]
        row = list(controls.values())
        if on_release:
            self.busy = widgets.HTML("", layout=widgets.Layout(width="100px"))
            row.append(self.busy)
        children = [widgets.HBox(row, layout=widgets.Layout(flex_flow="row wrap"))]
        if note is not None:
            children.append(note)
        children += [self.summary, self.figure, FitWidth(), Names()]
        self.widget = widgets.VBox(children)
        self.widget.add_class(PANEL_CLASS)
        for control in controls.values():
            released = any(control is c for c in on_release)
            control.observe(self._on_release if released else self._on_change, names="value")

    def _on_change(self, change: dict) -> None:
        self._revive_if_deaf()
        apply(self.figure, self.compute())
        self.figure.sent()
        self._describe()

    def _on_release(self, change: dict) -> None:
        # The label's two messages reach the browser before and after the figure's, so it shows while
        # the kernel computes and while plotly redraws.
        busy = self.busy  # set by _assemble whenever a control observes with this method
        assert busy is not None
        busy.value = BUSY_TEXT
        try:
            self._on_change(change)
        finally:
            busy.value = ""

    def _redraw(self) -> None:
        """Apply `compute()`'s update, only the properties that differ from the last update this
        method applied (set `_drawn` to what the figure builder drew to skip the first full one).

        For panels whose updates carry many unchanged arrays: plotly validates and compares every
        property it is given, changed or not. Not the default, because a property left
        out is not reset: an axis range a user zoomed stays zoomed.
        """
        update = self.compute()
        drawn = getattr(self, "_drawn", None)
        apply(self.figure, update if drawn is None else changes(update, drawn))
        self.figure.sent()
        self._drawn = update
        self._describe()

    def _revive_if_deaf(self) -> None:
        """Put a new figure, with the same state, in the place of one that no longer hears its panel
        (`PanelFigure.deaf`): the new one's state reaches the page with it.

        Called on a control's change only: the kernel has then read every answer that reached it
        before the change. While a panel trains, answers wait unread until the run ends.
        """
        old = self.figure
        if not old.deaf():
            return
        self.figure = PanelFigure(go.Figure(old), old._config)
        self.widget.children = tuple(self.figure if child is old else child for child in self.widget.children)
        old.close()

    def figure_name(self) -> str:
        """What the figure shows, in a sentence: the first sentence of the panel's docstring."""
        doc = " ".join((type(self).__doc__ or type(self).__name__).split())
        return re.split(r"(?<=[.!?])\s", doc, maxsplit=1)[0]

    def summary_text(self) -> str:
        """The figure's text alternative as plain text: its name, then what its title and subplot
        titles say now, read from the figure itself so that it says what the figure shows."""
        layout = self.figure.layout
        titles = [layout.title.text] + [a.text for a in layout.annotations or () if a.xref == "paper"]
        shown = "; ".join(text for text in (plain_text(t) for t in titles if t) if text)
        return f"Figure: {self.figure_name()}" + (f" Shown now: {shown}." if shown else "")

    def _describe(self) -> None:
        text = html.escape(self.summary_text())
        self.summary.value = (
            f'<p id="{self._summary_id}" class="{SUMMARY_CLASS}" role="status" aria-live="polite" '
            f'style="{_SR_ONLY}">{text}</p>'
        )

    def compute(self) -> Update:
        """The figure update for the current control values."""
        raise NotImplementedError

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def plain_text(text: str) -> str:
    """A plotly text without its HTML: line breaks become spaces, tags go, entities are decoded."""
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


class PanelFigure(go.FigureWidget):
    """A FigureWidget whose front end receives its traces, layout and config in the message that
    creates it, not in messages after it.

    anywidget drops every message to a model whose JavaScript module took more than 2 s to load
    (its `ready` promise rejects for good and `_handle_comm_msg` awaits it). plotly's module is
    5 MB, evaluated once per figure: on a slow laptop that takes longer, and a plain FigureWidget,
    which opens its comm empty and then sends its traces, stays empty. This one opens its comm
    only once its state is complete, so its figure draws whenever the module has loaded.

    Its updates are lost all the same: a panel asks `deaf()` (a view drew it, and has not answered an
    update for DEAF_AFTER_S) before each update and then replaces it with a new one.
    """

    def __init__(self, figure: go.Figure, config: dict[str, object]) -> None:
        self._open_later = True
        try:
            super().__init__(figure)
            self._config = {**self._config, **config}
        finally:
            self._open_later = False
        self.open()
        # The edit ids a view last reported (None until one has drawn), and since when an update sent
        # has gone unanswered.
        self._heard: list[int] | None = None
        self._unanswered_since: float | None = None
        self.observe(self._view_reported, names=["_js2py_traceDeltas", "_js2py_layoutDelta"])

    def open(self) -> None:
        if not self._open_later:
            super().open()

    def _view_reported(self, change: dict) -> None:
        # plotly's view reports the edit ids it has drawn, when it first draws and after each update
        report = change["new"]
        if not report:
            return
        heard = self._heard or [0, 0]
        if "trace_edit_id" in report:
            heard[0] = max(heard[0], report["trace_edit_id"])
        if "layout_edit_id" in report:
            heard[1] = max(heard[1], report["layout_edit_id"])
        self._heard = heard
        if self._answered():
            self._unanswered_since = None

    def _answered(self) -> bool:
        heard = self._heard or [0, 0]
        return heard[0] >= self._last_trace_edit_id and heard[1] >= self._last_layout_edit_id

    def sent(self) -> None:
        """Note that an update went out (the time its answer is awaited from)."""
        if self._unanswered_since is None and not self._answered():
            self._unanswered_since = time.monotonic()

    def deaf(self) -> bool:
        """Whether a view has drawn this figure but left an update unanswered for DEAF_AFTER_S: its
        module loaded too late for anywidget, which then drops every message to it for good."""
        since = self._unanswered_since
        return self._heard is not None and since is not None and time.monotonic() - since > DEAF_AFTER_S


class FitWidth(anywidget.AnyWidget):
    """An invisible widget that makes the plotly figures beside it fit the width of their panel.

    A FigureWidget is drawn before JupyterLab puts it on the page, when it has no width to fit, so
    plotly falls back to 700 px, wider than a notebook's output area beside the file browser on a
    1024 px projector. With `responsive` (FIGURE_CONFIG) plotly refits on the window's resize event
    only, which neither the figure joining the page nor the file browser opening sends. This widget
    watches the panel's box and sends that event whenever the box changes size.
    """

    _esm = """
export default {
    render({ el }) {
        let box = null;
        let pending = false;
        const observer = new ResizeObserver(() => {
            if (!box && el.parentElement) {
                box = el.parentElement;
                observer.observe(box);
            }
            if (pending) return;
            pending = true;
            requestAnimationFrame(() => {
                pending = false;
                window.dispatchEvent(new Event("resize"));
            });
        });
        observer.observe(el);
        return () => observer.disconnect();
    },
};
"""


class Names(anywidget.AnyWidget):
    """An invisible widget that gives accessible names to what its panel shows without one.

    plotly's SVG has no text alternative: the plot becomes an image (role="img") named by the panel's
    summary (`Panel.summary`, by its id), so a screen reader reads what the figure shows now. An
    ipywidgets slider's handle (role="slider") is not tied to its description (axe-core:
    aria-input-field-name): each handle takes its slider's description as its name. Both are set as
    they appear, since plotly and ipywidgets draw after this widget.
    """

    _esm = """
export default {
    render({ el }) {
        const name = (box) => {
            const summary = box.querySelector(".lnviz-figure-summary[id]");
            const plot = box.querySelector(".js-plotly-plot");
            if (summary && plot && plot.getAttribute("aria-labelledby") !== summary.id) {
                plot.setAttribute("role", "img");
                plot.setAttribute("aria-labelledby", summary.id);
            }
            box.querySelectorAll(".noUi-handle:not([aria-label])").forEach((handle) => {
                const slider = handle.closest(".widget-inline-hbox");
                const label = slider && slider.querySelector(".widget-label");
                const text = label ? label.textContent.trim() : "";
                if (text) handle.setAttribute("aria-label", text);
            });
        };
        let observer = null;
        let pending = false;
        const watch = () => {
            const box = el.parentElement;
            if (!box) return requestAnimationFrame(watch);
            observer = new MutationObserver(() => {
                if (pending) return;
                pending = true;
                requestAnimationFrame(() => {
                    pending = false;
                    name(box);
                });
            });
            observer.observe(box, { childList: true, subtree: true });
            name(box);
        };
        watch();
        return () => observer && observer.disconnect();
    },
};
"""


def slider(cls: Callable, description: str, **kwargs) -> widgets.ValueWidget:
    """A control of the house style: wide, with room for its description."""
    return cls(description=description, layout=WIDE, style=STYLE, **kwargs)
