"""Figure builders: numbers in, plotly figures out. Pure functions, no models trained here.

Every interactive figure comes in two halves that share one source of truth:
`*_update(...) -> Update` computes the trace data and layout changes from the numbers, and
`*_figure(...) -> go.Figure` builds the fixed skeleton (axes, ranges, legends) and applies the update.
A panel builds its FigureWidget once from `*_figure` and on every control change applies only
`*_update` in place, inside `batch_update()`, so nothing is re-created and nothing flickers.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go


@dataclass
class Update:
    """New properties for the traces of a figure (one dict per trace, in order) and for its layout."""

    traces: list[dict]
    layout: dict = field(default_factory=dict)


def apply(fig: go.Figure, update: Update) -> go.Figure:
    """Apply an update to a figure in place, in one batch for a FigureWidget. Returns the figure."""
    if len(update.traces) != len(fig.data):
        raise ValueError(f"update has {len(update.traces)} traces, the figure has {len(fig.data)}")
    # by name: isinstance(fig, go.FigureWidget) would import the widget machinery (seconds) for a plain Figure
    batch = fig.batch_update() if type(fig).__name__ == "FigureWidget" else nullcontext()
    with batch:
        for trace, props in zip(fig.data, update.traces):
            trace.update(props)
        fig.layout.update(update.layout)
    return fig


def changes(update: Update, drawn: Update) -> Update:
    """The part of `update` that differs from `drawn` (the update last applied), trace by trace and
    key by key: plotly validates and compares every array it is given, even an unchanged one, so a
    panel whose controls each move a few traces sends only those."""
    traces = [
        {k: v for k, v in new.items() if k not in old or not _same(v, old[k])}
        for new, old in zip(update.traces, drawn.traces)
    ]
    layout = {k: v for k, v in update.layout.items() if k not in drawn.layout or not _same(v, drawn.layout[k])}
    return Update(traces=traces, layout=layout)


def _same(a: object, b: object) -> bool:
    """Equal numbers, strings, lists or arrays, or dicts of them."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, dict) or isinstance(b, dict):
        return False
    return bool(np.array_equal(a, b))


def to_numpy(x) -> np.ndarray:
    """A tensor or array-like as a numpy array (detached, on the CPU)."""
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def label(name: str) -> str:
    """'weight_matrix_rescaling' -> 'weight matrix rescaling'."""
    return name.replace("_", " ")
