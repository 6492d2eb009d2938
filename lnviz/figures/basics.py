"""Figure builders for notebooks 1 and 2: batch vs layer norm, and the invariances of Table 1."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lnviz import style
from lnviz.batch_vs_layer import BatchDependence
from lnviz.figures.core import Update, apply, label as _label, to_numpy as _np
from lnviz.invariance import METHODS, PAPER_TABLE_1, TRANSFORMATIONS, Comparison

__all__ = [
    "pooling_update", "pooling_figure", "batch_dependence_update", "batch_dependence_figure",
    "gain_bias_update", "gain_bias_figure", "invariance_update", "invariance_figure", "table_figure",
]


# ----------------------------------------------------------------------------------------------------
# Notebook 01: which entries are pooled
# ----------------------------------------------------------------------------------------------------

def pooling_update(a, mask, case: int, unit: int, method: str, stats: tuple[float, float]) -> Update:
    """`a`: (N, H) summed inputs; `mask`: (N, H) bool, the entries pooled with entry (case, unit)."""
    a, mask = _np(a), _np(mask)
    rows, cols = np.nonzero(mask)
    mean, std = stats
    what = f"unit {unit} over all {a.shape[0]} cases" if method == "batch" else f"case {case} over all {a.shape[1]} units"
    title = (f"{style.METHOD_NAMES[method]}: entry ({case}, {unit}) shares mean {mean:+.2f} "
             f"and std {std:.2f} with {what}")
    return Update(
        traces=[
            dict(z=a),
            dict(x=cols, y=rows, marker=dict(color=style.METHOD_COLORS[method])),
            dict(x=[unit], y=[case]),
        ],
        layout=dict(title=dict(text=title)),
    )


def pooling_figure(a, mask, case: int, unit: int, method: str, stats: tuple[float, float]) -> go.Figure:
    """The batch x hidden-units array with the entries that share statistics with one entry outlined."""
    n, h = a.shape
    fig = go.Figure(layout=style.base_layout(height=380))
    fig.add_heatmap(z=_np(a), colorscale=style.DIVERGING, zmid=0, colorbar=dict(title="a"),
                    hovertemplate="case %{y}, unit %{x}: a = %{z:.2f}<extra></extra>")
    fig.add_scatter(mode="markers", name="pooled", hoverinfo="skip",
                    marker=dict(symbol="square-open", size=22, line=dict(width=3)))
    fig.add_scatter(mode="markers", name="this entry", hoverinfo="skip",
                    marker=dict(symbol="x", size=16, color="black"))
    fig.update_xaxes(title="hidden unit i", range=[-0.5, h - 0.5], dtick=1)
    fig.update_yaxes(title="case n in the mini-batch", range=[n - 0.5, -0.5], dtick=1)
    fig.update_layout(showlegend=False, title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, pooling_update(a, mask, case, unit, method, stats))


# ----------------------------------------------------------------------------------------------------
# Notebook 01: batch norm depends on the rest of the mini-batch
# ----------------------------------------------------------------------------------------------------

def batch_dependence_update(dep: BatchDependence, curve_sizes, spreads, gaps) -> Update:
    """Left: one case's BN output in each random mini-batch, BN eval output and LN output per unit.
    Right: the spread and the train/eval gap against the batch size, with the current one marked."""
    bn = _np(dep.bn_train)
    draws, hidden = bn.shape
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, size=(draws, hidden))
    units = np.arange(hidden)
    index = list(curve_sizes).index(dep.batch_size) if dep.batch_size in curve_sizes else None
    current = ([dep.batch_size, dep.batch_size], [spreads[index], gaps[index]]) if index is not None else ([], [])
    title = (f"batch size {dep.batch_size}: BN output spread {dep.spread:.2f}, "
             f"train/eval gap {dep.train_eval_gap:.2f}; LN: 0 and 0")
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


def batch_dependence_figure(dep: BatchDependence, curve_sizes, spreads, gaps) -> go.Figure:
    """Batch norm's output for one case depends on its mini-batch; layer norm's does not."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.1,
                        subplot_titles=("output for one case, unit by unit", "as the batch shrinks"),
                        figure=go.Figure(layout=style.base_layout(height=480, margin=dict(t=100))))
    blue, green, orange = style.METHOD_COLORS["batch"], style.METHOD_COLORS["layer"], style.PALETTE[5]
    fig.add_scatter(mode="markers", name="BN, training (one dot per mini-batch)", row=1, col=1,
                    marker=dict(color=blue, size=5, opacity=0.35))
    fig.add_scatter(mode="markers", name="BN, eval (population statistics)", row=1, col=1,
                    marker=dict(color="black", symbol="diamond", size=12))
    fig.add_scatter(mode="markers", name="LN, training = eval", row=1, col=1,
                    marker=dict(color=green, symbol="circle-open", size=16, line=dict(width=3)))
    fig.add_scatter(mode="lines+markers", name="BN spread across mini-batches", row=1, col=2,
                    line=dict(color=blue))
    fig.add_scatter(mode="lines+markers", name="BN train/eval gap", row=1, col=2,
                    line=dict(color=orange, dash="dash"))
    fig.add_scatter(mode="markers", name="this batch size", row=1, col=2, showlegend=False,
                    marker=dict(color="black", size=14, symbol="circle-open", line=dict(width=3)))
    hidden = dep.bn_train.shape[1]
    fig.update_xaxes(title="hidden unit i", range=[-0.5, hidden - 0.5], dtick=1, row=1, col=1)
    fig.update_yaxes(title="normalized output", range=[-4, 4], row=1, col=1)
    fig.update_xaxes(title="batch size B", type="log", tickvals=list(curve_sizes), row=1, col=2)
    fig.update_yaxes(title="mean over units", rangemode="tozero", row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", y=-0.2), title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, batch_dependence_update(dep, curve_sizes, spreads, gaps))


# ----------------------------------------------------------------------------------------------------
# Notebook 01: gain and bias
# ----------------------------------------------------------------------------------------------------

def gain_bias_update(a, h, gain: float, bias: float) -> Update:
    """`a`: (H,) one case's summed inputs; `h`: (H,) its layer-normalized output with gain and bias."""
    a, h = _np(a), _np(h)
    units = np.arange(a.shape[0])
    span = [-0.5, a.shape[0] - 0.5]
    return Update(
        traces=[
            dict(x=units, y=a),
            dict(x=units, y=h),
            dict(x=span, y=[bias, bias]),
            dict(x=span + [None] + span, y=[bias + gain] * 2 + [None] + [bias - gain] * 2),
        ],
        layout=dict(title=dict(text=f"LN output: mean {h.mean():+.2f} = bias b, std {h.std():.2f} = |gain g|")),
    )


def gain_bias_figure(a, h, gain: float, bias: float, a_range: float = 12.0, h_range: float = 8.0) -> go.Figure:
    """One case before and after layer norm: the gain sets the output's spread, the bias its centre."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("summed inputs a_i of one case",
                                                         "h_i = g (a_i - mu) / sigma + b"),
                        figure=go.Figure(layout=style.base_layout(height=420, showlegend=False, margin=dict(t=100))))
    fig.add_bar(marker_color=style.PALETTE[0], row=1, col=1, name="a")
    fig.add_bar(marker_color=style.METHOD_COLORS["layer"], row=1, col=2, name="h")
    fig.add_scatter(mode="lines", line=dict(color="black"), row=1, col=2, name="b")
    fig.add_scatter(mode="lines", line=dict(color="black", dash="dot"), row=1, col=2, name="b +/- g")
    fig.update_xaxes(title="hidden unit i", dtick=1)
    fig.update_yaxes(range=[-a_range, a_range], row=1, col=1)
    fig.update_yaxes(range=[-h_range, h_range], row=1, col=2)
    fig.update_layout(title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, gain_bias_update(a, h, gain, bias))


# ----------------------------------------------------------------------------------------------------
# Notebook 02: invariances
# ----------------------------------------------------------------------------------------------------

#: Deviations below this are drawn at this value on the log axis: they are rounding error.
DEVIATION_FLOOR = 1e-17


def invariance_update(comparison: Comparison, method: str, transformation: str, magnitude: float,
                      magnitudes, curves: dict[str, list[float]]) -> Update:
    """Left: normalized summed inputs after the transformation against before (N*H points).
    Right: deviation against magnitude for every method, the chosen one highlighted."""
    before, after = _np(comparison.before).ravel(), _np(comparison.after).ravel()
    verdict = "invariant" if comparison.deviation < 1e-9 else "changed"
    title = (f"{style.METHOD_NAMES[method]}, {_label(transformation)} x{magnitude:.2f}: "
             f"relative deviation {comparison.deviation:.1e} ({verdict})")
    traces = [dict(x=before, y=after, marker=dict(color=style.METHOD_COLORS[method]))]
    for m in METHODS:
        traces.append(dict(x=list(magnitudes), y=np.maximum(curves[m], DEVIATION_FLOOR),
                           line=dict(width=5 if m == method else 2)))
    traces.append(dict(x=[magnitude], y=[max(comparison.deviation, DEVIATION_FLOOR)]))
    return Update(traces=traces, layout=dict(title=dict(text=title)))


def invariance_figure(comparison: Comparison, method: str, transformation: str, magnitude: float,
                      magnitudes, curves: dict[str, list[float]], lim: float = 4.0) -> go.Figure:
    """Before/after scatter (on the diagonal = invariant) and the deviation of every method."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("after vs before (diagonal = unchanged)", "deviation vs magnitude"),
                        figure=go.Figure(layout=style.base_layout(height=490, margin=dict(t=100))))
    fig.add_scatter(mode="markers", name="entries of h", row=1, col=1, showlegend=False,
                    marker=dict(size=7, opacity=0.7))
    for m in METHODS:
        fig.add_scatter(mode="lines", name=style.METHOD_NAMES[m], row=1, col=2,
                        line=dict(color=style.METHOD_COLORS[m]))
    fig.add_scatter(mode="markers", name="now", row=1, col=2, showlegend=False,
                    marker=dict(size=14, color="black", symbol="circle-open", line=dict(width=3)))
    fig.add_scatter(x=[-lim, lim], y=[-lim, lim], mode="lines", row=1, col=1, showlegend=False,
                    line=dict(color="gray", dash="dot"), hoverinfo="skip")
    fig.update_xaxes(title="before", range=[-lim, lim], row=1, col=1)
    fig.update_yaxes(title="after", range=[-lim, lim], row=1, col=1)
    fig.update_xaxes(title="magnitude (log-factor or shift)", row=1, col=2)
    fig.update_yaxes(title="relative deviation", type="log", range=[-17.5, 1], exponentformat="power", dtick=4,
                     row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", y=-0.22), title=dict(font=dict(size=style.FONT_SIZE)))
    # the diagonal is appended last, so the update addresses the first traces only
    update = invariance_update(comparison, method, transformation, magnitude, magnitudes, curves)
    update.traces.append({})
    return apply(fig, update)


def table_figure(computed: dict[str, dict[str, bool]], measured: dict[str, dict[str, float]],
                 paper: dict[str, dict[str, bool]] = PAPER_TABLE_1) -> go.Figure:
    """Table 1 as lnviz measured it, each row beside the paper's; a disagreement would show in orange."""
    header = ["method"] + [_label(t) for t in TRANSFORMATIONS]
    rows, fills = [], []
    for m in computed:
        for source in ("lnviz", "paper"):
            if source == "paper" and m not in paper:
                continue
            cells, colors = [f"{style.METHOD_NAMES[m]} ({source})"], ["white"]
            for t in TRANSFORMATIONS:
                inv = computed[m][t] if source == "lnviz" else paper[m][t]
                text = "Invariant" if inv else "No"
                if source == "lnviz":
                    text += f" ({measured[m][t]:.0e})"
                mismatch = m in paper and computed[m][t] != paper[m][t]
                cells.append(text)
                colors.append(style.TABLE_COLORS["mismatch" if mismatch else ("yes" if inv else "no")])
            rows.append(cells)
            fills.append(colors)
    columns = list(map(list, zip(*rows)))
    fill_columns = list(map(list, zip(*fills)))
    # the layout goes in at construction: update_layout with a whole Layout is 10x slower
    layout = style.base_layout(height=80 + 32 * len(rows), margin=dict(l=10, r=10, t=50, b=10),
                               title="Table 1: measured by lnviz (with the largest relative deviation) and as printed")
    return go.Figure(go.Table(
        header=dict(values=header, fill_color="#D9D9D9", font=dict(size=style.FONT_SIZE - 2), align="center"),
        cells=dict(values=columns, fill_color=fill_columns, font=dict(size=style.FONT_SIZE - 3),
                   height=30, align="center"),
        columnwidth=[1.6] + [1.0] * len(TRANSFORMATIONS),
    ), layout=layout)
