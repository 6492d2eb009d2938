"""Figure builders for lesson 1: which entries batch and layer norm pool, batch norm's dependence on
its mini-batch, and layer norm's gain and bias."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lnviz import style
from lnviz.batch_vs_layer import DependenceCurve, GainBiasCase, PooledEntry
from lnviz.figures.core import Update, apply
from lnviz.figures.core import to_numpy as _np

__all__ = [
    "pooling_update",
    "pooling_figure",
    "batch_dependence_update",
    "batch_dependence_figure",
    "gain_bias_update",
    "gain_bias_figure",
]


# ----------------------------------------------------------------------------------------------------
# Notebook 01: which entries are pooled
# ----------------------------------------------------------------------------------------------------


def pooling_update(p: PooledEntry) -> Update:
    """`p.a`: (N, H) summed inputs, `p.mask`: (N, H) the entries pooled with (p.case, p.unit) outlined."""
    a, mask, case, unit, method, mean, std = _np(p.a), _np(p.mask), p.case, p.unit, p.method, p.mean, p.std
    rows, cols = np.nonzero(mask)
    what = (
        f"unit {unit} over all {a.shape[0]} cases" if method == "batch" else f"case {case} over all {a.shape[1]} units"
    )
    title = (
        f"{style.METHOD_NAMES[method]}: entry ({case}, {unit}) shares mean {mean:+.2f} and std {std:.2f}<br>with {what}"
    )
    return Update(
        traces=[
            dict(z=a),
            dict(x=cols, y=rows, marker=dict(color=style.METHOD_COLORS[method])),
            dict(x=[unit], y=[case]),
        ],
        layout=dict(title=dict(text=title)),
    )


def pooling_figure(p: PooledEntry) -> go.Figure:
    """The batch x hidden-units array `p.a` (N, H) with the entries that share statistics with one entry outlined."""
    a = p.a
    n, h = a.shape
    fig = go.Figure(layout=style.base_layout(height=420, margin=dict(t=90)))
    fig.add_heatmap(
        z=_np(a),
        colorscale=style.DIVERGING,
        zmid=0,
        colorbar=dict(title="a"),
        hovertemplate="case %{y}, unit %{x}: a = %{z:.2f}<extra></extra>",
    )
    fig.add_scatter(
        mode="markers", name="pooled", hoverinfo="skip", marker=dict(symbol="square-open", size=22, line=dict(width=3))
    )
    fig.add_scatter(
        mode="markers", name="this entry", hoverinfo="skip", marker=dict(symbol="x", size=16, color="black")
    )
    fig.update_xaxes(title="hidden unit i", range=[-0.5, h - 0.5], dtick=1)
    fig.update_yaxes(title="case n in the mini-batch", range=[n - 0.5, -0.5], dtick=1)
    fig.update_layout(showlegend=False, title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, pooling_update(p))


# ----------------------------------------------------------------------------------------------------
# Notebook 01: batch norm depends on the rest of the mini-batch
# ----------------------------------------------------------------------------------------------------


def batch_dependence_update(curve: DependenceCurve, batch_size: int) -> Update:
    """Left: at `batch_size` (one of `curve.sizes`), one case's BN output in each random mini-batch
    ((draws, H) dots), its BN eval output and its LN output ((H,) each). Right: the spread and the
    train/eval gap against the batch size ((K,) each), with `batch_size` marked."""
    dep, curve_sizes, spreads, gaps = curve.runs[batch_size], curve.sizes, curve.spreads, curve.gaps
    bn = _np(dep.bn_train)
    draws, hidden = bn.shape
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, size=(draws, hidden))
    units = np.arange(hidden)
    index = curve_sizes.index(batch_size)
    current = ([batch_size, batch_size], [spreads[index], gaps[index]])
    title = (
        f"batch size {dep.batch_size}: BN output spread {dep.spread:.2f},<br>"
        f"train/eval gap {dep.train_eval_gap:.2f}; LN: {dep.ln_spread:.2f} and {dep.ln_train_eval_gap:.2f}"
    )
    return Update(
        traces=[
            dict(x=(units + jitter).ravel(), y=bn.ravel()),
            dict(x=units, y=_np(dep.bn_eval)),
            dict(x=units, y=_np(dep.ln)),
            dict(x=list(curve_sizes), y=list(spreads)),
            dict(x=list(curve_sizes), y=list(gaps)),
            dict(x=current[0], y=current[1]),
        ],
        layout=dict(title=dict(text=title)),
    )


def batch_dependence_figure(curve: DependenceCurve, batch_size: int) -> go.Figure:
    """Batch norm's output for one case depends on its mini-batch; layer norm's does not (`batch_size`
    one of `curve.sizes`)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        # room for the right plot's tick labels and y-axis title, which otherwise lie over the left plot
        horizontal_spacing=0.17,
        subplot_titles=("output for one case, unit by unit", "as the batch shrinks"),
        # the legend wraps into four rows beside the file browser on a projector
        figure=go.Figure(layout=style.base_layout(height=580, margin=dict(t=120, b=70 + 4 * style.LEGEND_ROW))),
    )
    blue, green, orange = style.METHOD_COLORS["batch"], style.METHOD_COLORS["layer"], style.PALETTE[5]
    fig.add_scatter(
        mode="markers",
        name="BN, training (one dot per mini-batch)",
        row=1,
        col=1,
        marker=dict(color=blue, size=5, opacity=0.35),
    )
    fig.add_scatter(
        mode="markers",
        name="BN, eval (population statistics)",
        row=1,
        col=1,
        marker=dict(color="black", symbol="diamond", size=12),
    )
    fig.add_scatter(
        mode="markers",
        name="LN, training = eval",
        row=1,
        col=1,
        marker=dict(color=green, symbol="circle-open", size=16, line=dict(width=3)),
    )
    fig.add_scatter(mode="lines+markers", name="BN spread across mini-batches", row=1, col=2, line=dict(color=blue))
    fig.add_scatter(mode="lines+markers", name="BN train/eval gap", row=1, col=2, line=dict(color=orange, dash="dash"))
    fig.add_scatter(
        mode="markers",
        name="this batch size",
        row=1,
        col=2,
        showlegend=False,
        marker=dict(color="black", size=14, symbol="circle-open", line=dict(width=3)),
    )
    hidden = curve.runs[batch_size].bn_train.shape[1]
    fig.update_xaxes(title="hidden unit i", range=[-0.5, hidden - 0.5], dtick=1, row=1, col=1)
    fig.update_yaxes(title="normalized output", range=[-4, 4], row=1, col=1)
    # every other power of two: neighbouring sizes (1, 2, 3, 4) stack their labels on a narrow log axis
    ticks = [b for b in curve.sizes if b in (1, 4, 16, 64, 256, 1024)]
    fig.update_xaxes(title="batch size B", type="log", tickvals=ticks, row=1, col=2)
    fig.update_yaxes(title="mean over units", rangemode="tozero", row=1, col=2)
    fig.update_layout(legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, batch_dependence_update(curve, batch_size))


# ----------------------------------------------------------------------------------------------------
# Notebook 01: gain and bias
# ----------------------------------------------------------------------------------------------------


def gain_bias_update(case: GainBiasCase) -> Update:
    """`case.a`: (H,) one case's summed inputs; `case.h`: (H,) its LN output with `case.gain` and `case.bias`."""
    a, h, gain, bias = _np(case.a), _np(case.h), case.gain, case.bias
    units = np.arange(a.shape[0])
    span = [-0.5, a.shape[0] - 0.5]
    return Update(
        traces=[
            dict(x=units, y=a),
            dict(x=units, y=h),
            dict(x=span, y=[bias, bias]),
            dict(x=span + [None] + span, y=[bias + gain] * 2 + [None] + [bias - gain] * 2),
        ],
        # + 0.0 turns a mean that rounds to -0.00 into 0.00: a minus sign on zero reads as a number
        layout=dict(
            title=dict(text=f"LN output: mean {round(h.mean(), 2) + 0.0:+.2f} = bias b, std {h.std():.2f} = |gain g|")
        ),
    )


def gain_bias_figure(case: GainBiasCase, a_range: float = 12.0, h_range: float = 8.0) -> go.Figure:
    """One case before and after layer norm: the gain sets the output's spread, the bias its centre.
    `a_range`, `h_range`: the fixed half-heights of the two y axes."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("summed inputs aᵢ of one case", "hᵢ = g (aᵢ − μ) / σ + b"),
        figure=go.Figure(layout=style.base_layout(height=420, showlegend=False, margin=dict(t=100))),
    )
    fig.add_bar(marker_color=style.PALETTE[0], row=1, col=1, name="a")
    fig.add_bar(marker_color=style.METHOD_COLORS["layer"], row=1, col=2, name="h")
    fig.add_scatter(mode="lines", line=dict(color="black"), row=1, col=2, name="b")
    fig.add_scatter(mode="lines", line=dict(color="black", dash="dot"), row=1, col=2, name="b ± g")
    # plotly's own tick spacing: one label per unit stacks two-digit labels on a narrow subplot
    fig.update_xaxes(title="hidden unit i")
    fig.update_yaxes(range=[-a_range, a_range], row=1, col=1)
    fig.update_yaxes(range=[-h_range, h_range], row=1, col=2)
    fig.update_layout(title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, gain_bias_update(case))
