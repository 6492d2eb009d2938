"""What the training lessons' figures share (lessons 4, 5 and 7): the metrics and x-axes a history is
read on, a model's line style, and how amounts are written.

Each training figure has a fixed set of traces, one slot per possible run; a run not (yet) trained is
an empty slot. So a panel updates its FigureWidget in place whatever runs it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from lnviz import style
from lnviz.runs import NORM_PREFIX
from lnviz.train import History

__all__ = ["METRICS", "PERCENT", "UNITS", "X_AXES", "amount", "check", "model_marker", "model_style", "series"]

#: The x-axes a history can be read against: History field -> axis title.
X_AXES: dict[str, str] = {
    "examples": "training examples seen",
    "step": "training step",
    "wall_time": "seconds of training",
}

#: What the training figures can plot, with the title of its subplot.
METRICS: dict[str, str] = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "val_error": "validation error",
    "val_accuracy": "validation accuracy",
    "grad_norm": "gradient norm (before clipping)",
}

#: The metrics drawn as percentages.
PERCENT = ("val_error", "val_accuracy")


def series(history: History, metric: str) -> list[float]:
    if metric == "val_error":
        return [1.0 - a for a in history.val_accuracy]
    return list(getattr(history, metric))


def check(x: str, metrics: Sequence[str]) -> None:
    """x must be a key of `X_AXES`, every metric a key of `METRICS`."""
    if x not in X_AXES:
        raise ValueError(f"x must be one of {tuple(X_AXES)}, got {x!r}")
    if not metrics or any(m not in METRICS for m in metrics):
        raise ValueError(f"metrics must be a non-empty selection of {tuple(METRICS)}, got {tuple(metrics)!r}")


def _norm(label: str) -> str:
    return next((n for n, prefix in NORM_PREFIX.items() if prefix and label.startswith(prefix)), "none")


def model_style(label: str) -> dict:
    """Line style of a model named as the paper does: the colour of its normalization ("LN-LSTM" is
    layer norm's green, "LSTM" no normalization's orange), dashed for a plain RNN, solid otherwise."""
    norm = _norm(label)
    kind = label[len(NORM_PREFIX[norm]) :]
    return dict(color=style.METHOD_COLORS[norm], dash="dash" if kind == "RNN" else "solid")


def model_marker(label: str) -> dict:
    """Markers on a model's curve: its normalization's symbol, so that models of one cell kind ("LSTM",
    "LN-LSTM") differ by more than colour."""
    norm = _norm(label)
    return dict(
        color=style.METHOD_COLORS[norm], symbol=style.METHOD_SYMBOLS[norm], size=7, maxdisplayed=style.MARKERS_SHOWN
    )


UNITS = {"step": "steps", "examples": "examples", "wall_time": "s"}


def amount(value: float, x: str) -> str:
    """`value` on the axis `x`, written with its unit: "1,200 steps", "3.4 s"."""
    return f"{value:.1f} s" if x == "wall_time" else f"{value:,.0f} {UNITS[x]}"
