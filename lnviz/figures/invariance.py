"""Figure builders for lesson 2: the invariances of the paper's Table 1, measured."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lnviz import style
from lnviz.figures.core import Update, apply
from lnviz.figures.core import label as _label
from lnviz.figures.core import to_numpy as _np
from lnviz.invariance import INVARIANCE_TOLERANCE, METHODS, PAPER_TABLE_1, TRANSFORMATIONS, InvarianceView

__all__ = ["DEVIATION_FLOOR", "invariance_update", "invariance_figure", "table_figure"]


# ----------------------------------------------------------------------------------------------------
# Notebook 02: invariances
# ----------------------------------------------------------------------------------------------------

#: Deviations below this are drawn at this value on the log axis: they are rounding error.
DEVIATION_FLOOR = 1e-17

#: Each method's line dash (its marker is style.METHOD_SYMBOLS), so that curves lying on top of each
#: other stay distinguishable without colour.
_DASH = {"batch": "solid", "weight": "dash", "layer": "dot", "rms": "dashdot"}
#: Two deviation curves closer than this, in decades, at every magnitude lie on top of each other.
OVERLAP_DECADES = 0.1

#: The table's height, in px: its two-line title, its header and each row, at a projector's width
#: beside the file browser (headers on three lines, every row on two).
TABLE_TITLE, TABLE_HEADER, TABLE_ROW = 90, 80, 50


def overlaps(view: InvarianceView) -> dict[str, str]:
    """{method: the first method (in METHODS order) whose deviation curve it lies on} for every method
    drawn on top of another: both at rounding error at every magnitude > 0 (a tangle at 10^-16), or
    within OVERLAP_DECADES of each other at every magnitude > 0."""
    shown = [k for k, g in enumerate(view.magnitudes) if g > 0]
    logs = {m: np.log10(np.maximum(np.asarray(view.curves[m])[shown], DEVIATION_FLOOR)) for m in METHODS}
    invariant = {m: bool(np.all(np.asarray(view.curves[m])[shown] < INVARIANCE_TOLERANCE)) for m in METHODS}
    found = {}
    for i, m in enumerate(METHODS):
        for earlier in METHODS[:i]:
            if (invariant[m] and invariant[earlier]) or np.abs(logs[m] - logs[earlier]).max() < OVERLAP_DECADES:
                found[m] = earlier
                break
    return found


def invariance_update(view: InvarianceView) -> Update:
    """Left: normalized summed inputs after the transformation against before (N*H points), over the
    fixed diagonal. Right: deviation against magnitude ((K,) per method), `view.method` highlighted."""
    comparison, method = view.comparison, view.method
    before, after = _np(comparison.before).ravel(), _np(comparison.after).ravel()
    verdict = "invariant" if comparison.deviation < INVARIANCE_TOLERANCE else "changed"
    title = (
        f"{style.METHOD_NAMES[method]}, {_label(view.transformation)}, magnitude {view.magnitude:.2f}:<br>"
        f"relative deviation {comparison.deviation:.1e} ({verdict})"
    )
    traces = [dict(x=before, y=after, marker=dict(color=style.METHOD_COLORS[method]))]
    hidden_under = overlaps(view)
    for m in METHODS:
        name = style.METHOD_NAMES[m]
        if m in hidden_under:
            name += f" (≈ {style.METHOD_NAMES[hidden_under[m]]} here)"
        traces.append(
            dict(
                x=list(view.magnitudes),
                y=np.maximum(view.curves[m], DEVIATION_FLOOR),
                name=name,
                line=dict(width=5 if m == method else 2),
            )
        )
    traces.append(dict(x=[view.magnitude], y=[max(comparison.deviation, DEVIATION_FLOOR)]))
    traces.append({})  # the diagonal y = x, drawn once by invariance_figure
    return Update(traces=traces, layout=dict(title=dict(text=title)))


def invariance_figure(view: InvarianceView, lim: float = 4.0) -> go.Figure:
    """Before/after scatter (on the diagonal = invariant) and the deviation of every method; `lim`: the
    half-width of the scatter's axes."""
    fig = make_subplots(
        rows=1,
        cols=2,
        # room for the right plot's tick labels and y-axis title, which otherwise lie over the left plot
        horizontal_spacing=0.2,
        # two lines each: a figure beside the file browser on a projector gives a subplot ~250 px
        subplot_titles=("after vs before<br>(diagonal = unchanged)", "deviation<br>vs magnitude"),
        # the legend's names grow where curves coincide ("RMS norm (≈ layer norm here)"): up to three rows
        figure=go.Figure(layout=style.base_layout(height=640, margin=dict(t=140, b=70 + 3 * style.LEGEND_ROW))),
    )
    fig.add_scatter(
        mode="markers", name="entries of h", row=1, col=1, showlegend=False, marker=dict(size=7, opacity=0.7)
    )
    for m in METHODS:
        color = style.METHOD_COLORS[m]
        fig.add_scatter(
            mode="lines+markers",
            name=style.METHOD_NAMES[m],
            row=1,
            col=2,
            line=dict(color=color, dash=_DASH[m]),
            marker=dict(color=color, symbol=style.METHOD_SYMBOLS[m], size=7),
        )
    fig.add_scatter(
        mode="markers",
        name="now",
        row=1,
        col=2,
        showlegend=False,
        marker=dict(size=14, color="black", symbol="circle-open", line=dict(width=3)),
    )
    fig.add_scatter(
        x=[-lim, lim],
        y=[-lim, lim],
        mode="lines",
        row=1,
        col=1,
        showlegend=False,
        line=dict(color="gray", dash="dot"),
        hoverinfo="skip",
    )
    fig.update_xaxes(title="before", range=[-lim, lim], row=1, col=1)
    fig.update_yaxes(title="after", range=[-lim, lim], row=1, col=1)
    fig.update_xaxes(title="magnitude<br>(log-factor or shift)", row=1, col=2)
    fig.update_yaxes(
        title="relative deviation", type="log", range=[-17.5, 1], exponentformat="power", dtick=4, row=1, col=2
    )
    fig.update_layout(legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, invariance_update(view))


def table_figure(
    computed: dict[str, dict[str, bool]],
    measured: dict[str, dict[str, float]],
    paper: dict[str, dict[str, bool]] = PAPER_TABLE_1,
) -> go.Figure:
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
                    text += f"<br>({measured[m][t]:.0e})"
                mismatch = m in paper and computed[m][t] != paper[m][t]
                cells.append(text)
                colors.append(style.TABLE_COLORS["mismatch" if mismatch else ("yes" if inv else "no")])
            rows.append(cells)
            fills.append(colors)
    columns = list(map(list, zip(*rows)))
    fill_columns = list(map(list, zip(*fills)))
    # the layout goes in at construction: update_layout with a whole Layout merges it property by property.
    layout = style.base_layout(
        height=TABLE_TITLE + TABLE_HEADER + TABLE_ROW * len(rows) + 20,
        margin=dict(l=10, r=10, t=TABLE_TITLE, b=10),
        title=dict(
            text="Table 1 as lnviz measured it (largest relative deviation)<br>and as printed in the paper",
            x=0.01,
            xanchor="left",
        ),
    )
    return go.Figure(
        go.Table(
            header=dict(values=header, fill_color="#D9D9D9", font=dict(size=style.FONT_SIZE - 2), align="center"),
            cells=dict(
                values=columns, fill_color=fill_columns, font=dict(size=style.FONT_SIZE - 3), height=30, align="center"
            ),
            columnwidth=[1.6] + [1.0] * len(TRANSFORMATIONS),
        ),
        layout=layout,
    )
