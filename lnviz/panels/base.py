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
"""

from __future__ import annotations

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


class Panel:
    """Controls + one FigureWidget. Subclasses call `_assemble` and implement `compute()` (see the module)."""

    controls: dict[str, widgets.ValueWidget]
    figure: go.FigureWidget
    widget: widgets.Box
    #: Beside the controls when some act on release (`continuous_update=False`, because an update takes
    #: longer than a moving slider can wait): says BUSY_TEXT while such a control's update runs. Else None.
    busy: widgets.HTML | None = None

    def _assemble(
        self, figure: go.Figure, controls: dict[str, widgets.ValueWidget], note: widgets.Widget | None = None
    ) -> None:
        self.controls = controls
        self.figure = go.FigureWidget(figure)
        self.figure._config = {**self.figure._config, **FIGURE_CONFIG}
        on_release = [c for c in controls.values() if getattr(c, "continuous_update", True) is False]
        row = list(controls.values())
        if on_release:
            self.busy = widgets.HTML("", layout=widgets.Layout(width="100px"))
            row.append(self.busy)
        children = [widgets.HBox(row, layout=widgets.Layout(flex_flow="row wrap"))]
        if note is not None:
            children.append(note)
        children += [self.figure, FitWidth()]
        self.widget = widgets.VBox(children)
        self.widget.add_class(PANEL_CLASS)
        for control in controls.values():
            released = any(control is c for c in on_release)
            control.observe(self._on_release if released else self._on_change, names="value")

    def _on_change(self, change: dict) -> None:
        apply(self.figure, self.compute())

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
        self._drawn = update

    def compute(self) -> Update:
        """The figure update for the current control values."""
        raise NotImplementedError

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


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


def slider(cls: Callable, description: str, **kwargs) -> widgets.ValueWidget:
    """A control of the house style: wide, with room for its description."""
    return cls(description=description, layout=WIDE, style=STYLE, **kwargs)
