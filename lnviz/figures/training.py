"""Figure builders for the training notebooks (4 and 5): histories in, plotly figures out.

`training_curves_*`: several runs side by side, one subplot per metric (used by `lnviz.curves`).
`target_loss_*` (notebook 4): training loss with a target line, a second metric, and how long each
model took to reach the target. `batch_size_*` (notebook 5, the paper's Figure 6): one subplot of
curves per batch size, and every model's value at one point of training, side by side.

Each figure has a fixed set of traces, one slot per possible run; a run not (yet) trained is an
empty slot. So a panel updates its FigureWidget in place whatever runs it holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lnviz import style
from lnviz.experiments import NORM_PREFIX, X_AXES, reach
from lnviz.figures.core import Update, apply
from lnviz.train import History

__all__ = [
    "METRICS",
    "X_AXES",
    "batch_size_figure",
    "batch_size_update",
    "model_style",
    "read_at",
    "target_loss_figure",
    "target_loss_update",
    "training_curves_figure",
    "training_curves_update",
]

#: What the training figures can plot, with the title of its subplot.
METRICS: dict[str, str] = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "val_error": "validation error",
    "val_accuracy": "validation accuracy",
    "grad_norm": "gradient norm (before clipping)",
}

_PERCENT = ("val_error", "val_accuracy")


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


def _check(histories: Mapping[str, History | None], x: str, metrics: Sequence[str]) -> None:
    if not histories:
        raise ValueError("expected at least one history, got none")
    if x not in X_AXES:
        raise ValueError(f"x must be one of {tuple(X_AXES)}, got {x!r}")
    if not metrics or any(m not in METRICS for m in metrics):
        raise ValueError(f"metrics must be a non-empty selection of {tuple(METRICS)}, got {tuple(metrics)!r}")


def model_style(label: str) -> dict:
    """Line style of a model named as the paper does: the colour of its normalization ("LN-LSTM" is
    layer norm's green, "LSTM" no normalization's orange), dashed for a plain RNN, solid otherwise."""
    norm = next((n for n, prefix in NORM_PREFIX.items() if prefix and label.startswith(prefix)), "none")
    kind = label[len(NORM_PREFIX[norm]):]
    return dict(color=style.METHOD_COLORS[norm], dash="dash" if kind == "RNN" else "solid")


# ----------------------------------------------------------------------------------------------------
# Any runs, one subplot per metric
# ----------------------------------------------------------------------------------------------------

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
    the palette in turn. x: a key of `X_AXES` ("examples" compares batch sizes fairly). metrics: any
    of `METRICS`; "val_error" is 1 - validation accuracy.
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
        fig.update_yaxes(rangemode="tozero", tickformat=".0%" if metric in _PERCENT else None, row=1, col=col)
    fig.update_layout(legend=dict(orientation="h", y=-0.2))
    return apply(fig, training_curves_update(histories, x, metrics))


# ----------------------------------------------------------------------------------------------------
# Notebook 4: how long each model takes to reach a target loss
# ----------------------------------------------------------------------------------------------------

_UNITS = {"step": "steps", "examples": "examples", "wall_time": "s"}


def _amount(value: float, x: str) -> str:
    return f"{value:.1f} s" if x == "wall_time" else f"{value:,.0f} {_UNITS[x]}"


def target_loss_update(histories: Mapping[str, History | None], target: float, metric: str = "val_error",
                       x: str = "step") -> Update:
    """The trace data of `target_loss_figure`.

    Traces, per model slot: training loss (left), where it first reaches `target` (left), `metric`
    (middle); then the target line (left) and the bars of how long each trained model took (right).
    """
    _check(histories, x, (metric,))
    traces, names, amounts, texts, colors, opacities = [], [], [], [], [], []
    end = 1.0
    for label, history in histories.items():
        if history is None or not len(history):
            traces += [dict(x=[], y=[], visible=False)] * 3
            continue
        xs = list(getattr(history, x))
        end = max(end, xs[-1])
        name = label + (" (interrupted)" if history.interrupted else "")
        at = reach(history, target, x)
        hit = [] if at is None else [at]
        traces += [dict(x=xs, y=list(history.train_loss), name=name, visible=True),
                   dict(x=hit, y=[target] * len(hit), visible=True),
                   dict(x=xs, y=_series(history, metric), visible=True)]
        names.append(label)
        colors.append(model_style(label)["color"])
        # A model that never got there draws a faint bar over its whole run.
        amounts.append(xs[-1] if at is None else at)
        opacities.append(0.25 if at is None else 1.0)
        texts.append("not reached" if at is None else _amount(at, x))
    traces.append(dict(x=[0, end], y=[target, target]))
    traces.append(dict(x=amounts, y=names, text=texts, marker=dict(color=colors, opacity=opacities)))
    title = f"time to reach training loss {target:.3g}: " + (
        ", ".join(f"{n} {t}" + (f" in {_amount(a, x)}" if t == "not reached" else "")
                  for n, t, a in zip(names, texts, amounts)) if names else "press Run")
    layout = dict(title=dict(text=title), xaxis=dict(title=X_AXES[x]), xaxis2=dict(title=X_AXES[x]),
                  xaxis3=dict(title=_UNITS[x]),
                  yaxis2=dict(title=METRICS[metric], tickformat=".0%" if metric in _PERCENT else ""))
    return Update(traces=traces, layout=layout)


def target_loss_figure(histories: Mapping[str, History | None], target: float, metric: str = "val_error",
                       x: str = "step") -> go.Figure:
    """Training loss with a target line, a second metric, and each model's time to reach the target.

    histories: model name ("LSTM", "LN-LSTM", "BN-RNN", ...; see `model_style`) -> History, or None
    for a model slot not trained. target: a training loss. metric: a key of `METRICS` for the
    middle subplot. x: a key of `X_AXES`: "step" asks which model needs fewer updates, "wall_time"
    which needs less time on this machine (a normalized step costs more).
    """
    fig = make_subplots(rows=1, cols=3, column_widths=[0.4, 0.35, 0.25], horizontal_spacing=0.08,
                        subplot_titles=("training loss (log scale)", "", "to reach the target"),
                        figure=go.Figure(layout=style.base_layout(height=440)))
    for label in histories:
        line = model_style(label)
        fig.add_scatter(mode="lines", row=1, col=1, legendgroup=label, line=line)
        fig.add_scatter(mode="markers", row=1, col=1, legendgroup=label, showlegend=False, hoverinfo="skip",
                        marker=dict(color=line["color"], size=13, symbol="circle-open", line=dict(width=3)))
        fig.add_scatter(mode="lines", row=1, col=2, legendgroup=label, showlegend=False, line=line)
    fig.add_scatter(mode="lines", row=1, col=1, name="target", showlegend=False, hoverinfo="skip",
                    line=dict(color="black", dash="dot", width=1.5))
    fig.add_bar(orientation="h", row=1, col=3, showlegend=False, textposition="auto", cliponaxis=False)
    fig.update_xaxes(rangemode="tozero")
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_yaxes(autorange="reversed", row=1, col=3)
    fig.update_layout(legend=dict(orientation="h", y=-0.2), title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, target_loss_update(histories, target, metric, x))


# ----------------------------------------------------------------------------------------------------
# Notebook 5 (Figure 6): one subplot per batch size, and a read-out at one point of training
# ----------------------------------------------------------------------------------------------------

def read_at(history: History, fraction: float, metric: str, x: str = "examples") -> tuple[float, float]:
    """(x, value) of `metric` at the record nearest to `fraction` of the run's length along `x`."""
    xs = np.asarray(getattr(history, x), dtype=float)
    index = int(np.argmin(np.abs(xs - fraction * xs[-1])))
    return float(xs[index]), _series(history, metric)[index]


def batch_size_update(histories: Mapping[tuple[str, int], History | None], batch_sizes: Sequence[int],
                      fraction: float = 1.0, metric: str = "val_error", x: str = "examples") -> Update:
    """The trace data of `batch_size_figure`: per batch size one curve per normalization and the
    read-out line, then one bar trace per batch size (the norms side by side)."""
    _check({"": None}, x, (metric,))
    norms = _norms(histories)
    traces, bars = [], []
    for batch in batch_sizes:
        at, values, texts, top = None, [], [], 0.0
        for norm in norms:
            history = histories.get((norm, batch))
            if history is None or not len(history):
                traces.append(dict(x=[], y=[]))
                values.append(0.0)
                texts.append("n/a")
                continue
            series = _series(history, metric)
            traces.append(dict(x=list(getattr(history, x)), y=series))
            top = max([top, *(v for v in series if np.isfinite(v))])
            at, value = read_at(history, fraction, metric, x)
            values.append(value)
            texts.append(f"{value:.1%}" if metric in _PERCENT else f"{value:.3f}")
        # A line trace, not a layout shape: plotly updates a trace many times faster than a shape.
        traces.append(dict(x=[at, at], y=[0.0, top]) if at is not None else dict(x=[], y=[]))
        bars.append(dict(x=[style.METHOD_NAMES[n] for n in norms], y=values, text=texts, name=f"batch {batch}"))
    title = f"{METRICS[metric]} at {fraction:.0%} of training. " + "; ".join(
        f"{bar['name']}: " + ", ".join(f"{n} {t}" for n, t in zip(bar["x"], bar["text"])) for bar in bars)
    layout = dict(title=dict(text=title), yaxis=dict(title=METRICS[metric]))
    for col in range(1, len(batch_sizes) + 2):
        axis = "" if col == 1 else str(col)
        layout[f"yaxis{axis}"] = {**layout.get(f"yaxis{axis}", {}),
                                  "tickformat": ".0%" if metric in _PERCENT else ""}
        if col <= len(batch_sizes):
            layout[f"xaxis{axis}"] = dict(title=X_AXES[x])
    return Update(traces=traces + bars, layout=layout)


def _norms(histories: Mapping[tuple[str, int], History | None]) -> list[str]:
    return list(dict.fromkeys(norm for norm, _ in histories))


def batch_size_figure(histories: Mapping[tuple[str, int], History | None], batch_sizes: Sequence[int],
                      fraction: float = 1.0, metric: str = "val_error", x: str = "examples") -> go.Figure:
    """Figure 6: the curves of each normalization at each batch size, and all of them read at one point.

    histories: (norm, batch size) -> History, or None where nothing was trained (batch norm cannot
    train on a batch of one); every norm should appear with every batch size. batch_sizes: the
    subplots, in order; the last subplot holds the bars, one group per norm and one bar per batch
    size (hatched by batch size). fraction: where to read the curves, as a fraction of the run
    along x (a dotted line marks it in each subplot). metric, x: keys of `METRICS` and `X_AXES`; "examples"
    compares batch sizes at equal data seen. All subplots share the y-axis.
    """
    norms = _norms(histories)
    cols = len(batch_sizes) + 1
    fig = make_subplots(rows=1, cols=cols, horizontal_spacing=0.05, shared_yaxes=True,
                        subplot_titles=[f"batch size {b}" for b in batch_sizes] + ["read-out"],
                        figure=go.Figure(layout=style.base_layout(height=440)))
    for col, _ in enumerate(batch_sizes, start=1):
        for norm in norms:
            fig.add_scatter(mode="lines", row=1, col=col, name=style.METHOD_NAMES[norm], legendgroup=norm,
                            showlegend=col == 1, line=dict(color=style.METHOD_COLORS[norm]))
        fig.add_scatter(mode="lines", row=1, col=col, name="read-out", showlegend=False, hoverinfo="skip",
                        line=dict(color="gray", dash="dot", width=1.5))
    patterns = ["", "/", ".", "x"]
    for i, _ in enumerate(batch_sizes):
        fig.add_bar(row=1, col=cols, showlegend=False, textposition="auto",
                    marker=dict(color=[style.METHOD_COLORS[n] for n in norms],
                                pattern=dict(shape=patterns[i % len(patterns)])))
    fig.update_xaxes(rangemode="tozero")
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(barmode="group", legend=dict(orientation="h", y=-0.2),
                      title=dict(font=dict(size=style.FONT_SIZE - 2)))
    return apply(fig, batch_size_update(histories, batch_sizes, fraction, metric, x))
