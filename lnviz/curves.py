"""Training curves: histories in, plotly figures out; and a live figure that a training run updates.

`training_curves_figure` is a pure figure builder, split like those of `lnviz.figures` into a
skeleton and `training_curves_update` (the one source of the trace data). `LiveCurves` holds a
FigureWidget built once and applies that update in place each time `lnviz.train.train` calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lnviz import style
from lnviz.figures.core import Update, apply
from lnviz.train import History

__all__ = ["METRICS", "X_AXES", "LiveCurves", "training_curves_figure", "training_curves_update"]

#: What `training_curves_figure` can plot, with the title of its subplot.
METRICS: dict[str, str] = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "val_error": "validation error",
    "val_accuracy": "validation accuracy",
    "grad_norm": "gradient norm (before clipping)",
}

#: The x-axes a run can be drawn against, with their titles.
X_AXES: dict[str, str] = {"examples": "training examples seen", "step": "training step"}


def training_curves_update(histories: Mapping[str, History], x: str = "examples",
                           metrics: Sequence[str] = ("train_loss", "val_error")) -> Update:
    """The trace data of `training_curves_figure`: one trace per run and metric, run by run."""
    _check(histories, x, metrics)
    traces = []
    for label, history in histories.items():
        name = style.METHOD_NAMES.get(label, label) + (" (interrupted)" if history.interrupted else "")
        for metric in metrics:
            traces.append(dict(x=list(getattr(history, x)), y=_series(history, metric), name=name))
    return Update(traces=traces)


def training_curves_figure(histories: Mapping[str, History], x: str = "examples",
                           metrics: Sequence[str] = ("train_loss", "val_error")) -> go.Figure:
    """Training curves of several runs side by side, one subplot per metric and one colour per run.

    histories: label -> History. A label that names a normalization ("none", "batch", "layer", ...)
    gets that method's colour and name from `lnviz.style`; other labels take the unused colours of
    the palette in turn. x: "examples" (training examples seen, to compare batch sizes fairly) or
    "step". metrics: any of `METRICS`; "val_error" is 1 - validation accuracy.
    """
    _check(histories, x, metrics)
    # Handing make_subplots a figure that already has the base layout is ~15x faster than
    # applying the layout (with its template) afterwards.
    fig = make_subplots(rows=1, cols=len(metrics), horizontal_spacing=0.1,
                        subplot_titles=[METRICS[m] for m in metrics],
                        figure=go.Figure(layout=style.base_layout(height=420)))
    for label, color in _colors(list(histories)).items():
        for col, _ in enumerate(metrics, start=1):
            fig.add_scatter(mode="lines+markers", row=1, col=col, legendgroup=label, showlegend=col == 1,
                            line=dict(color=color), marker=dict(size=5))
    fig.update_xaxes(title=X_AXES[x], rangemode="tozero")
    for col, metric in enumerate(metrics, start=1):
        percent = metric in ("val_error", "val_accuracy")
        fig.update_yaxes(rangemode="tozero", tickformat=".0%" if percent else None, row=1, col=col)
    fig.update_layout(legend=dict(orientation="h", y=-0.2))
    return apply(fig, training_curves_update(histories, x, metrics))


class LiveCurves:
    """A FigureWidget of training curves that a run updates in place, as `train`'s callback.

    One run: `live = LiveCurves("layer")`, display `live.figure`, then
    `train(..., callback=live)`. Several runs in one figure: `live = LiveCurves(["none", "layer"])`
    and `train(..., callback=live.callback("none"))`, and so on. Runs not yet trained draw as empty.
    The figure is built once; each call replaces only its traces' data, inside one batch update.
    """

    def __init__(self, labels: str | Sequence[str], x: str = "examples",
                 metrics: Sequence[str] = ("train_loss", "val_error")) -> None:
        labels = [labels] if isinstance(labels, str) else list(labels)
        self.x = x
        self.metrics = tuple(metrics)
        # A placeholder history per label: the figure gets all its traces now and only data later.
        self.histories: dict[str, History] = {label: History(batch_size=0, loss="") for label in labels}
        self.figure = go.FigureWidget(training_curves_figure(self.histories, x, self.metrics))

    def __call__(self, history: History, label: str | None = None) -> None:
        """Draw `history` as the run `label` (may be omitted when the figure has a single run)."""
        if label is None:
            if len(self.histories) != 1:
                raise ValueError(
                    f"LiveCurves with runs {list(self.histories)} expected a label; "
                    "pass callback=live.callback(label) to train"
                )
            label = next(iter(self.histories))
        if label not in self.histories:
            raise ValueError(f"LiveCurves expected a label among {list(self.histories)}, got {label!r}")
        self.histories[label] = history
        apply(self.figure, training_curves_update(self.histories, self.x, self.metrics))

    def callback(self, label: str) -> Callable[[History], None]:
        """A callback for `train` that draws its run as `label`."""
        if label not in self.histories:
            raise ValueError(f"LiveCurves expected a label among {list(self.histories)}, got {label!r}")
        return lambda history: self(history, label)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.figure)


def _series(history: History, metric: str) -> list[float]:
    if metric == "val_error":
        return [1.0 - a for a in history.val_accuracy]
    return list(getattr(history, metric))


def _colors(labels: list[str]) -> dict[str, str]:
    """A method's own colour for a method's label; unused palette colours, in turn, for the rest."""
    taken = {style.METHOD_COLORS[label] for label in labels if label in style.METHOD_COLORS}
    free = [c for c in style.PALETTE if c not in taken] or list(style.PALETTE)
    others = iter(free * (len(labels) // len(free) + 1))
    return {label: style.METHOD_COLORS[label] if label in style.METHOD_COLORS else next(others)
            for label in labels}


def _check(histories: Mapping[str, History], x: str, metrics: Sequence[str]) -> None:
    if not histories:
        raise ValueError("expected at least one history, got none")
    if x not in X_AXES:
        raise ValueError(f"x must be one of {tuple(X_AXES)}, got {x!r}")
    if not metrics or any(m not in METRICS for m in metrics):
        raise ValueError(f"metrics must be a non-empty selection of {tuple(METRICS)}, got {tuple(metrics)!r}")
