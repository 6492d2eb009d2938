"""Figure builders for notebook 7: convolutional nets with no normalization, batch, layer and group norm.

`pooled_entries_*`: an (N, C, H, W) array of summed inputs drawn as a grid of small maps (cases down,
channels across), the maps one method pools with a chosen entry outlined and the others dimmed.
`border_*`: the first layer's border statistics (`lnviz.convnets.BorderStatistics`).
`conv_training_*`: the four nets' training curves, and how soon each reaches a target loss (after a run:
the unnormalized net's final training loss).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lnviz import style
from lnviz.convnets import METHODS, BorderStatistics, Pooling
from lnviz.figures.core import Update, apply
from lnviz.figures.core import to_numpy as _np
from lnviz.figures.training import METRICS, X_AXES, amount, series
from lnviz.train import History

__all__ = [
    "pooled_entries_update",
    "pooled_entries_figure",
    "border_update",
    "border_figure",
    "CONV_METRICS",
    "CONV_X_AXES",
    "conv_training_update",
    "conv_training_figure",
]

#: Blank pixels between the small maps of the grid.
GAP = 3

#: A sequential colour scale for fractions, white to the palette's blue.
_FRACTION_SCALE = [[0.0, "#F7F7F7"], [1.0, style.METHOD_COLORS["batch"]]]


# ----------------------------------------------------------------------------------------------------
# Which entries each method pools
# ----------------------------------------------------------------------------------------------------


def _mosaic(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> one (N*(H+GAP)-GAP, C*(W+GAP)-GAP) image, the maps tiled with NaN gaps between."""
    n, c, h, w = a.shape
    padded = np.pad(a.astype(float), ((0, 0), (0, 0), (0, GAP), (0, GAP)), constant_values=np.nan)
    return padded.transpose(0, 2, 1, 3).reshape(n * (h + GAP), c * (w + GAP))[:-GAP, :-GAP]


def _boxes(tiles: np.ndarray, h: int, w: int) -> tuple[list, list]:
    """Closed outlines of the (case, channel) maps marked in tiles: (N, C) bool, as one path with gaps."""
    xs, ys = [], []
    for i, j in zip(*np.nonzero(tiles)):
        x0, y0 = j * (w + GAP) - 0.5, i * (h + GAP) - 0.5
        xs += [x0, x0 + w, x0 + w, x0, x0, None]
        ys += [y0, y0, y0 + h, y0 + h, y0, None]
    return xs, ys


def _describe(p: Pooling, shape: tuple[int, int, int, int]) -> str:
    n, c, h, w = shape
    case, channel = p.entry[:2]
    if p.method == "batch":
        return f"channel {channel} of all {n} digits"
    if p.method == "layer":
        return f"all {c} channels of digit {case}"
    size = c // p.num_groups
    first = channel // size * size
    channels = f"channel {first}" if size == 1 else f"channels {first}-{first + size - 1}"
    return f"{channels} of digit {case}"


def pooled_entries_update(p: Pooling) -> Update:
    """The update for `pooled_entries_figure` after the method, the entry or the groups changed.

    p: what the entry p.entry of p.a (N, C, H, W) shares under p.method (`lnviz.convnets.pooling`);
    the array's own trace is left as the figure drew it.
    """
    n, c, h, w = p.a.shape
    tiles = _np(p.tiles)
    case, channel, row, col = p.entry
    pooled_x, pooled_y = _boxes(tiles, h, w)
    dim_x, dim_y = _boxes(~tiles, h, w)
    groups_x, groups_y = [], []
    if p.method == "group":
        bottom = n * (h + GAP) - GAP - 0.5
        for j in range(c // p.num_groups, c, c // p.num_groups):
            x = j * (w + GAP) - GAP / 2 - 0.5
            groups_x += [x, x, None]
            groups_y += [-0.5 - GAP, bottom + GAP, None]
    title = (
        f"{style.METHOD_NAMES[p.method]}: a[{case}, {channel}, {row}, {col}] = {p.value:+.2f} is normalized<br>"
        f"with {_describe(p, (n, c, h, w))}<br>({p.count:,} entries: mean {p.mean:+.3f}, std {p.std:.3f}) "
        f"to {p.normalized:+.2f}"
    )
    return Update(
        traces=[
            {},  # the array itself never changes
            dict(x=dim_x, y=dim_y),
            dict(x=pooled_x, y=pooled_y, line=dict(color=style.METHOD_COLORS[p.method])),
            dict(x=groups_x, y=groups_y),
            dict(x=[channel * (w + GAP) + col], y=[case * (h + GAP) + row]),
        ],
        layout=dict(title=dict(text=title)),
    )


def pooled_entries_figure(p: Pooling) -> go.Figure:
    """The (N, C, H, W) array p.a as a grid of maps, digits down and channels across; the maps whose
    entries are pooled with p.entry under p.method outlined, the others dimmed, the entry marked."""
    a = _np(p.a)
    n, c, h, w = a.shape
    z = _mosaic(a)
    limit = float(np.nanmax(np.abs(z))) or 1.0
    # NaN is not JSON: a FigureWidget's messages to the browser need the gaps as None
    gaps = np.isnan(z)
    channel = _mosaic(np.broadcast_to(np.arange(c)[None, :, None, None], a.shape))
    # figures are drawn about 700 px wide: the grid takes the width, its height follows from its shape
    fig = go.Figure(
        layout=style.base_layout(
            height=210 + round(610 * z.shape[0] / z.shape[1]), margin=dict(l=75, r=15, t=110, b=100)
        )
    )
    fig.add_heatmap(
        z=np.where(gaps, None, z).tolist(),
        colorscale=style.DIVERGING,
        zmid=0,
        zmin=-limit,
        zmax=limit,
        hoverongaps=False,
        colorbar=dict(title="a", orientation="h", y=-0.12, yanchor="top", len=0.5, thickness=12),
        customdata=np.where(gaps, None, channel).tolist(),
        hovertemplate="channel %{customdata}: a = %{z:.2f}<extra></extra>",
    )
    fig.add_scatter(
        mode="lines",
        fill="toself",
        fillcolor="rgba(255, 255, 255, 0.75)",
        line=dict(width=0),
        hoverinfo="skip",
        name="not pooled",
    )
    fig.add_scatter(mode="lines", line=dict(width=3), hoverinfo="skip", name="pooled")
    fig.add_scatter(
        mode="lines", line=dict(color="black", dash="dot", width=2), hoverinfo="skip", name="channel groups"
    )
    fig.add_scatter(
        mode="markers",
        hoverinfo="skip",
        name="this entry",
        marker=dict(symbol="x-thin", size=11, color="black", line=dict(width=3)),
    )
    fig.update_xaxes(
        tickvals=[j * (w + GAP) + (w - 1) / 2 for j in range(c)],
        ticktext=[f"ch {j}" for j in range(c)],
        showgrid=False,
        zeroline=False,
        range=[-0.5 - GAP, c * (w + GAP) - 0.5],
        constrain="domain",
    )
    fig.update_yaxes(
        tickvals=[i * (h + GAP) + (h - 1) / 2 for i in range(n)],
        ticktext=[f"digit {i}" for i in range(n)],
        showgrid=False,
        zeroline=False,
        range=[n * (h + GAP) - 0.5, -0.5 - GAP],
        scaleanchor="x",
        constrain="domain",
    )
    fig.update_layout(showlegend=False, title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, pooled_entries_update(p))


# ----------------------------------------------------------------------------------------------------
# Border statistics
# ----------------------------------------------------------------------------------------------------


def _channel_name(channel: int | None) -> str:
    return "all channels" if channel is None else f"channel {channel}"


def border_update(stats: BorderStatistics, channel: int | None = None) -> Update:
    """The update for `border_figure`: one channel's statistics, or all channels' (channel None)."""
    active = _np(stats.active.mean(dim=0) if channel is None else stats.active[channel])
    ring_std = _np(stats.ring_std_all if channel is None else stats.ring_std[channel])
    bn_std = float(stats.channel_std.mean() if channel is None else stats.channel_std[channel])
    sigma = _np(stats.layer_std)
    rings = np.arange(len(ring_std))
    ends = [rings[0], rings[-1]]
    low, high = np.quantile(sigma, [0.1, 0.9])
    rare = float(stats.rarely_active(channel=channel).double().mean())
    title = (
        f"{style.METHOD_NAMES[stats.norm]} net, {_channel_name(channel)}: {rare:.0%} of the positions<br>"
        f"turn on for fewer than 1 digit in 10; std of a {ring_std[0]:.3f} at the edge,<br>"
        f"{ring_std[-1]:.3f} in the centre; layer norm's σₙ {sigma.mean():.3f} on average"
    )
    return Update(
        traces=[
            dict(z=active),
            dict(x=list(rings), y=ring_std),
            dict(x=ends + ends[::-1], y=[low, low, high, high]),
            dict(x=ends, y=[sigma.mean()] * 2),
            dict(x=ends, y=[bn_std] * 2),
            dict(x=_np(stats.fraction_active), y=sigma),
        ],
        layout=dict(title=dict(text=title)),
    )


def border_figure(stats: BorderStatistics, channel: int | None = None) -> go.Figure:
    """Top left: how often each position of the first layer is turned on. Top right: each digit's sigma
    (what layer norm divides it by) against the share of its units that are on. Bottom: the std of the
    summed inputs at each distance from the edge, against layer norm's sigma and batch norm's."""
    fig = make_subplots(
        rows=2,
        cols=2,
        specs=[[{}, {}], [{"colspan": 2}, None]],
        row_heights=[0.55, 0.45],
        # room between the colour bar's labels and the right-hand plot's tick labels
        horizontal_spacing=0.26,
        vertical_spacing=0.14,
        # two-line titles above, four legend rows below: the figure is ~590 px wide beside the file browser
        subplot_titles=(
            "how often a > 0<br>(turned on)",
            "layer norm's σₙ<br>(eq. 3) per digit",
            "std of a within a digit, by distance to the edge",
        ),
        figure=go.Figure(
            layout=style.base_layout(height=900, margin=dict(l=70, r=20, t=150, b=70 + 4 * style.LEGEND_ROW))
        ),
    )
    side = stats.active.shape[-1]
    green, blue = style.METHOD_COLORS["layer"], style.METHOD_COLORS["batch"]
    # the colour scale follows the data (0 to the largest share), so one channel's map can be compared
    # with all channels' through the numbers on the colour bar
    fig.add_heatmap(
        row=1,
        col=1,
        colorscale=_FRACTION_SCALE,
        zmin=0,
        showscale=True,
        colorbar=dict(x=0.38, y=0.78, len=0.5, thickness=14, tickformat=".0%", nticks=5),
        hovertemplate="row %{y}, column %{x}: on for %{z:.0%} of the digits<extra></extra>",
    )
    fig.add_scatter(
        row=2,
        col=1,
        mode="lines+markers",
        name="units at this distance",
        line=dict(color="black"),
        hovertemplate="distance %{x}: std %{y:.3f}<extra></extra>",
    )
    fig.add_scatter(
        row=2,
        col=1,
        mode="lines",
        fill="toself",
        fillcolor="rgba(0, 158, 115, 0.2)",
        line=dict(width=0),
        name="layer norm's σₙ, 10%-90% of digits",
        hoverinfo="skip",
    )
    fig.add_scatter(
        row=2,
        col=1,
        mode="lines",
        line=dict(color=green, width=3),
        name="layer norm's σₙ, mean",
        hovertemplate="layer norm: σₙ %{y:.3f} on average<extra></extra>",
    )
    fig.add_scatter(
        row=2,
        col=1,
        mode="lines",
        line=dict(color=blue, dash="dash", width=3),
        name="batch norm's σ",
        hovertemplate="batch norm: σ %{y:.3f}<extra></extra>",
    )
    fig.add_scatter(
        row=1,
        col=2,
        mode="markers",
        marker=dict(color=green, size=6, opacity=0.6),
        showlegend=False,
        hovertemplate="%{x:.0%} of the units on: σₙ %{y:.3f}<extra></extra>",
    )
    fig.update_xaxes(range=[-0.5, side - 0.5], showgrid=False, constrain="domain", row=1, col=1)
    fig.update_yaxes(range=[side - 0.5, -0.5], showgrid=False, scaleanchor="x", constrain="domain", row=1, col=1)
    # the share from where the digits' shares start, not from 0%: a "0%" in the corner sits on the y axis's "0"
    fig.update_xaxes(title="share of the digit's units on", tickformat=".0%", row=1, col=2)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_xaxes(title="distance to the edge (pixels)", row=2, col=1)
    fig.update_yaxes(title="std of a", rangemode="tozero", row=2, col=1)
    fig.update_layout(legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, border_update(stats, channel))


# ----------------------------------------------------------------------------------------------------
# Training curves of the four nets
# ----------------------------------------------------------------------------------------------------

#: What the right-hand plot can show: History field (or "val_error") -> axis title.
CONV_METRICS: dict[str, str] = {m: METRICS[m] for m in ("val_error", "val_loss", "grad_norm")}

#: The x-axes: History field -> axis title.
CONV_X_AXES: dict[str, str] = {x: X_AXES[x] for x in ("step", "wall_time")}

_X_HOVER = {"step": "step %{x}", "wall_time": "%{x:.1f} s"}


def conv_training_update(
    histories: Mapping[str, History | None], target: float, metric: str = "val_error", x: str = "step"
) -> Update:
    """The update for `conv_training_figure`. histories: method -> History, or None for a net not trained;
    target: a training loss."""
    if metric not in CONV_METRICS:
        raise ValueError(f"metric must be one of {tuple(CONV_METRICS)}, got {metric!r}")
    if x not in CONV_X_AXES:
        raise ValueError(f"x must be one of {tuple(CONV_X_AXES)}, got {x!r}")
    baseline = histories.get("none")
    baseline_at = baseline.reach(target, x) if baseline is not None and len(baseline) else None
    traces, reached = [], []
    end = 1.0
    for method in METHODS:
        history = histories.get(method)
        name = style.METHOD_NAMES[method]
        loss_hover = f"{name}<br>{_X_HOVER[x]}: training loss %{{y:.3f}}<extra></extra>"
        metric_hover = f"{name}<br>{_X_HOVER[x]}: {CONV_METRICS[metric]} %{{y:.3f}}<extra></extra>"
        reach_hover = f"{name} reaches the target at {_X_HOVER[x]}<extra></extra>"
        if history is None or not len(history):
            traces += [
                dict(x=[], y=[], hovertemplate=loss_hover),
                dict(x=[], y=[], hovertemplate=reach_hover),
                dict(x=[], y=[], hovertemplate=metric_hover),
            ]
            continue
        xs = list(getattr(history, x))
        end = max(end, xs[-1])
        at = history.reach(target, x)
        traces += [
            dict(x=xs, y=list(history.train_loss), hovertemplate=loss_hover),
            dict(x=[] if at is None else [at], y=[] if at is None else [target], hovertemplate=reach_hover),
            dict(x=xs, y=series(history, metric), hovertemplate=metric_hover),
        ]
        # the speed-up over no normalization, the paper's measure: the share of its steps (or seconds)
        share = f" ({at / baseline_at:.0%})" if at is not None and baseline_at and method != "none" else ""
        reached.append(f"{name} {'never' if at is None else amount(at, x)}{share}")
    traces.append(dict(x=[0, end], y=[target, target]))
    title = (
        # two nets a line: four on one line run past the right edge of a projector's figure
        f"time to reach training loss {target:.3f}:<br>"
        + ",<br>".join(", ".join(reached[i : i + 2]) for i in range(0, len(reached), 2))
        if reached
        else f"press Run to train the four nets (target loss {target:.3f})"
    )
    layout = dict(
        title=dict(text=title),
        xaxis=dict(title=CONV_X_AXES[x]),
        xaxis2=dict(title=CONV_X_AXES[x]),
        yaxis2=dict(title=CONV_METRICS[metric], tickformat=".0%" if metric == "val_error" else ""),
    )
    return Update(traces=traces, layout=layout)


def conv_training_figure(
    histories: Mapping[str, History | None], target: float, metric: str = "val_error", x: str = "step"
) -> go.Figure:
    """Left: the training loss of each net (log scale) with a target loss, and where each net first
    reaches it. Right: `metric` (a key of `CONV_METRICS`). x: "step" or "wall_time"."""
    fig = make_subplots(
        rows=1,
        cols=2,
        # room for the right plot's tick labels and y-axis title, which otherwise lie over the left plot
        horizontal_spacing=0.18,
        subplot_titles=("training loss", ""),
        figure=go.Figure(
            layout=style.base_layout(height=520, margin=dict(l=60, r=20, t=120, b=70 + 2 * style.LEGEND_ROW))
        ),
    )
    for method in METHODS:
        color = style.METHOD_COLORS[method]
        # each method's symbol on its curves: the four differ by more than colour
        marker = dict(symbol=style.METHOD_SYMBOLS[method], size=7, maxdisplayed=style.MARKERS_SHOWN)
        fig.add_scatter(
            row=1,
            col=1,
            mode="lines+markers",
            name=style.METHOD_NAMES[method],
            legendgroup=method,
            line=dict(color=color),
            marker=marker,
        )
        fig.add_scatter(
            row=1,
            col=1,
            mode="markers",
            showlegend=False,
            legendgroup=method,
            marker=dict(color=color, size=14, symbol="circle-open", line=dict(width=3)),
        )
        fig.add_scatter(
            row=1,
            col=2,
            mode="lines+markers",
            showlegend=False,
            legendgroup=method,
            line=dict(color=color),
            marker=marker,
        )
    fig.add_scatter(
        row=1, col=1, mode="lines", showlegend=False, hoverinfo="skip", line=dict(color="black", dash="dot", width=1.5)
    )
    fig.update_xaxes(rangemode="tozero")
    # labels at powers of ten only: plotly's 2-9 labels stack on each other on a short log axis
    fig.update_yaxes(type="log", dtick=1, row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_layout(legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, conv_training_update(histories, target, metric, x))
