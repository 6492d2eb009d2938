"""Figure builder for lesson 5, the paper's Figure 6: one subplot of curves per batch size, and every
model's value at one point of training, side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lnviz import style
from lnviz.figures.core import Update, apply
from lnviz.figures.training import METRICS, PERCENT, X_AXES, check, series
from lnviz.train import History

__all__ = ["batch_size_figure", "batch_size_update", "read_at"]


def read_at(history: History, fraction: float, metric: str, x: str = "examples") -> tuple[float, float]:
    """(x, value) of `metric` at the record nearest to `fraction` of the run's length along `x`."""
    xs = np.asarray(getattr(history, x), dtype=float)
    index = int(np.argmin(np.abs(xs - fraction * xs[-1])))
    return float(xs[index]), series(history, metric)[index]


def batch_size_update(
    histories: Mapping[tuple[str, int], History | None],
    batch_sizes: Sequence[int],
    fraction: float = 1.0,
    metric: str = "val_error",
    x: str = "examples",
) -> Update:
    """The trace data of `batch_size_figure`: per batch size one curve per normalization and the
    read-out line, then one bar trace per batch size (the norms side by side)."""
    check(x, (metric,))
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
            ys = series(history, metric)
            traces.append(dict(x=list(getattr(history, x)), y=ys))
            top = max([top, *(v for v in ys if np.isfinite(v))])
            at, value = read_at(history, fraction, metric, x)
            values.append(value)
            texts.append(f"{value:.1%}" if metric in PERCENT else f"{value:.3f}")
        # A line trace, not a layout shape: plotly updates a trace many times faster than a shape.
        traces.append(dict(x=[at, at], y=[0.0, top]) if at is not None else dict(x=[], y=[]))
        bars.append(dict(x=[style.METHOD_NAMES[n] for n in norms], y=values, text=texts, name=f"batch {batch}"))
    # one line per batch size: on one line the read-out ran past the right edge of a projector's figure
    title = f"{METRICS[metric]} at {fraction:.0%} of training<br>" + "<br>".join(
        f"{bar['name']}: " + ", ".join(f"{n} {t}" for n, t in zip(bar["x"], bar["text"])) for bar in bars
    )
    layout = dict(title=dict(text=title), yaxis=dict(title=METRICS[metric]))
    for col in range(1, len(batch_sizes) + 2):
        axis = "" if col == 1 else str(col)
        layout[f"yaxis{axis}"] = {**layout.get(f"yaxis{axis}", {}), "tickformat": ".0%" if metric in PERCENT else ""}
        if col <= len(batch_sizes):
            # on two lines: side by side on one line, neighbouring subplots' titles ran into each other
            layout[f"xaxis{axis}"] = dict(title=X_AXES[x].replace(" ", "<br>", 1))
    return Update(traces=traces + bars, layout=layout)


def _norms(histories: Mapping[tuple[str, int], History | None]) -> list[str]:
    return list(dict.fromkeys(norm for norm, _ in histories))


def batch_size_figure(
    histories: Mapping[tuple[str, int], History | None],
    batch_sizes: Sequence[int],
    fraction: float = 1.0,
    metric: str = "val_error",
    x: str = "examples",
) -> go.Figure:
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
    fig = make_subplots(
        rows=1,
        cols=cols,
        horizontal_spacing=0.05,
        shared_yaxes=True,
        subplot_titles=[f"batch size {b}" for b in batch_sizes] + ["read-out"],
        # the title holds one line per batch size above the subplot titles
        figure=go.Figure(
            layout=style.base_layout(height=520, margin=dict(t=70 + 20 * len(batch_sizes), b=100 + style.LEGEND_ROW))
        ),
    )
    for col, _ in enumerate(batch_sizes, start=1):
        for norm in norms:
            fig.add_scatter(
                mode="lines",
                row=1,
                col=col,
                name=style.METHOD_NAMES[norm],
                legendgroup=norm,
                showlegend=col == 1,
                line=dict(color=style.METHOD_COLORS[norm]),
            )
        fig.add_scatter(
            mode="lines",
            row=1,
            col=col,
            name="read-out",
            showlegend=False,
            hoverinfo="skip",
            line=dict(color="gray", dash="dot", width=1.5),
        )
    patterns = ["", "/", ".", "x"]
    for i, _ in enumerate(batch_sizes):
        fig.add_bar(
            row=1,
            col=cols,
            showlegend=False,
            textposition="auto",
            marker=dict(color=[style.METHOD_COLORS[n] for n in norms], pattern=dict(shape=patterns[i % len(patterns)])),
        )
    fig.update_xaxes(rangemode="tozero")
    # the bars' norms one word a line: on one line they stack on each other under a narrow read-out
    names = [style.METHOD_NAMES[n] for n in norms]
    fig.update_xaxes(tickvals=names, ticktext=[name.replace(" ", "<br>") for name in names], row=1, col=cols)
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(barmode="group", legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE - 2)))
    return apply(fig, batch_size_update(histories, batch_sizes, fraction, metric, x))
