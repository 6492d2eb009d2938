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
from lnviz.runs import feasible
from lnviz.train import History

__all__ = ["NOT_APPLICABLE", "batch_size_figure", "batch_size_update", "read_at"]

#: Why a slot of the read-out has no bar: said beside its "n/a" in the title and at the slot.
NOT_APPLICABLE = "needs 2+ cases"

#: The read-out's gap between groups of bars, as a fraction of a group's width: the "n/a" marks are
#: placed from it.
BARGAP = 0.2


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
    read-out line; then per batch size one bar trace (the norms side by side), then per batch size
    the legend's key to its bars. In the layout: an "n/a" mark shown at every slot of the read-out
    that no model can train (batch norm on one case), and hidden at the others."""
    check(x, (metric,))
    norms = _norms(histories)
    traces, bars, keys, lines, marks = [], [], [], [], []
    for batch in batch_sizes:
        at, values, texts, top = None, [], [], 0.0
        for norm in norms:
            history = histories.get((norm, batch))
            if history is None or not len(history):
                traces.append(dict(x=[], y=[]))
                # no bar: a bar of height 0 would read as an error of 0 %
                values.append(None)
                texts.append("…" if feasible(norm, batch) else f"n/a ({NOT_APPLICABLE})")
                marks.append(dict(visible=not feasible(norm, batch)))
                continue
            marks.append(dict(visible=False))
            ys = series(history, metric)
            traces.append(dict(x=list(getattr(history, x)), y=ys))
            top = max([top, *(v for v in ys if np.isfinite(v))])
            at, value = read_at(history, fraction, metric, x)
            values.append(value)
            texts.append(f"{value:.1%}" if metric in PERCENT else f"{value:.3f}")
        # A line trace, not a layout shape: plotly updates a trace many times faster than a shape.
        traces.append(dict(x=[at, at], y=[0.0, top]) if at is not None else dict(x=[], y=[]))
        names = [style.METHOD_NAMES[n] for n in norms]
        bars.append(
            dict(
                x=names,
                y=values,
                text=[t if v is not None else "" for v, t in zip(values, texts)],
                name=f"batch {batch}",
            )
        )
        keys.append(dict(name=f"bars: batch {batch}"))
        trained = any(v is not None for v in values)
        read = ", ".join(f"{n} {t}" for n, t in zip(names, texts)) if trained else "not trained yet"
        lines.append(f"batch {batch}: {read}")
    # one line per batch size: on one line the read-out ran past the right edge of a projector's figure
    title = f"{METRICS[metric]} at {fraction:.0%} of training<br>" + "<br>".join(lines)
    # the subplot titles come first among the annotations, and stay as they are
    layout = dict(
        title=dict(text=title),
        yaxis=dict(title=METRICS[metric]),
        annotations=[{} for _ in range(len(batch_sizes) + 1)] + marks,
    )
    for col in range(1, len(batch_sizes) + 2):
        axis = "" if col == 1 else str(col)
        layout[f"yaxis{axis}"] = {**layout.get(f"yaxis{axis}", {}), "tickformat": ".0%" if metric in PERCENT else ""}
        if col <= len(batch_sizes):
            # on two lines: side by side on one line, neighbouring subplots' titles ran into each other
            layout[f"xaxis{axis}"] = dict(title=X_AXES[x].replace(" ", "<br>", 1))
    return Update(traces=traces + bars + keys, layout=layout)


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
    size (solid, hatched, ... in that order; the legend says which is which), and "n/a" where no
    model can train (batch norm at batch size 1). fraction: where to read the curves, as a fraction of the run
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
                line=dict(
                    color=style.METHOD_COLORS[norm], dash={"none": "solid", "batch": "dash", "layer": "dashdot"}[norm]
                ),
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
            offsetgroup=f"batch{i}",
            marker=dict(color=[style.METHOD_COLORS[n] for n in norms], pattern=dict(shape=patterns[i % len(patterns)])),
        )
    # the legend's key to the bars: which batch size is solid and which hatched
    for i, _ in enumerate(batch_sizes):
        fig.add_bar(
            x=[None],
            y=[None],
            row=1,
            col=cols,
            offsetgroup=f"batch{i}",
            hoverinfo="skip",
            marker=dict(
                color="white",
                line=dict(color="dimgray", width=1),
                pattern=dict(shape=patterns[i % len(patterns)], fgcolor="dimgray"),
            ),
        )
    fig.update_xaxes(rangemode="tozero")
    # the bars' norms one word a line: on one line they stack on each other under a narrow read-out
    names = [style.METHOD_NAMES[n] for n in norms]
    fig.update_xaxes(tickvals=names, ticktext=[name.replace(" ", "<br>") for name in names], row=1, col=cols)
    fig.update_yaxes(rangemode="tozero")
    # "n/a" where a bar would stand, one mark per slot (the update shows those no model can train). On a
    # category axis an annotation's x counts categories from 0: a group of bars spans 1 - BARGAP of it.
    width = (1 - BARGAP) / len(batch_sizes)
    for i, _ in enumerate(batch_sizes):
        for j, _ in enumerate(norms):
            fig.add_annotation(
                text="n/a",
                hovertext=NOT_APPLICABLE,
                x=j - (1 - BARGAP) / 2 + (i + 0.5) * width,
                y=0,
                yanchor="bottom",
                showarrow=False,
                visible=False,
                row=1,
                col=cols,
            )
    fig.update_layout(
        barmode="group", bargap=BARGAP, legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE - 2))
    )
    return apply(fig, batch_size_update(histories, batch_sizes, fraction, metric, x))
