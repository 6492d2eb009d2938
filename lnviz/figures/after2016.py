"""Figure builders for notebook 08: RMS norm, post-LN versus pre-LN, and where eps goes."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lnviz import style
from lnviz.after2016 import CONVENTIONS, EpsView, GradientProfiles, Recentering
from lnviz.figures.core import Update, apply
from lnviz.figures.core import to_numpy as _np

#: One colour per norm placement and per eps convention, from the shared palette.
POSITION_COLORS: dict[str, str] = {"post": style.PALETTE[5], "pre": style.PALETTE[1]}
POSITION_NAMES: dict[str, str] = {"post": "post-LN", "pre": "pre-LN"}
CONVENTION_COLORS: dict[str, str] = {
    "torch": style.PALETTE[5],
    "keras": style.PALETTE[1],
    "lua": style.PALETTE[2],
    "none": "gray",
}
#: With their colours, so that no two conventions differ in colour alone.
CONVENTION_DASHES = {"torch": "solid", "keras": "dash", "lua": "dashdot", "none": "dot"}


def _base(**layout) -> go.Figure:
    """An empty figure in the house layout, for `make_subplots(figure=...)`: the same layout as
    `fig.update_layout(style.base_layout())` after make_subplots, without that call's cost: it merges
    the whole template property by property."""
    return go.Figure(layout=style.base_layout(**layout))


# ----------------------------------------------------------------------------------------------------
# RMS norm does not re-center
# ----------------------------------------------------------------------------------------------------


def _moved(output: str, change: float) -> str:
    """How far `output` moved from the plain pattern's, in words: a change at rounding level is none."""
    return f"{output} did not move" if change < 1e-9 else f"{output} moved by {100 * change:.2g}%"


def recentering_update(rec: Recentering) -> Update:
    """Left: the row a (H,). Right: its LN and RMS norm outputs, unit by unit."""
    units = np.arange(rec.a.shape[0])
    title = (
        f"shift c = {rec.shift:+.2f}, scale {rec.scale:.2f}:<br>"
        + _moved("layer norm's output", rec.layer_change)
        + "; "
        + _moved("RMS norm's", rec.rms_change)
    )
    return Update(
        traces=[dict(x=units, y=_np(rec.a)), dict(x=units, y=_np(rec.layer)), dict(x=units, y=_np(rec.rms))],
        layout=dict(title=dict(text=title)),
    )


def recentering_figure(rec: Recentering, h_range: float = 3.5) -> go.Figure:
    """A row shifted and scaled, and what LN and RMS norm make of it: only RMS norm feels the shift.
    `h_range`: the fixed half-height of the outputs' axis."""
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.1,
        # two-line titles: a subplot is about 250 px wide beside the file browser on a projector
        figure=_base(height=500, margin=dict(t=120, b=70 + style.LEGEND_ROW)),
        subplot_titles=("summed inputs<br>a = scale · (pattern + c)", "normalized, gain 1"),
    )
    fig.add_bar(name="a", marker_color=style.PALETTE[0], row=1, col=1, showlegend=False)
    fig.add_scatter(
        mode="lines+markers",
        name=style.METHOD_NAMES["layer"],
        row=1,
        col=2,
        line=dict(color=style.METHOD_COLORS["layer"], width=3),
        marker=dict(size=9),
    )
    fig.add_scatter(
        mode="lines+markers",
        name=style.METHOD_NAMES["rms"],
        row=1,
        col=2,
        line=dict(color=style.METHOD_COLORS["rms"], width=3, dash="dash"),
        marker=dict(size=9, symbol="diamond"),
    )
    fig.update_xaxes(title="hidden unit i", range=[-0.5, rec.a.shape[0] - 0.5])
    fig.update_yaxes(range=[-h_range, h_range], row=1, col=2)
    fig.update_layout(legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, recentering_update(rec))


# ----------------------------------------------------------------------------------------------------
# Post-LN versus pre-LN: gradient norm per layer at initialization
# ----------------------------------------------------------------------------------------------------


def gradient_norms_update(profiles: GradientProfiles) -> Update:
    """`profiles.post`, `profiles.pre`: (n_layers,) gradient norms of each layer's feed-forward weights."""
    post, pre = _np(profiles.post), _np(profiles.pre)
    layers = np.arange(1, post.shape[0] + 1)
    name = style.METHOD_NAMES[profiles.norm]
    title = (
        f"{post.shape[0]} layers, {name}:<br>last/first layer {post[-1] / post[0]:.2f} post-LN, "
        f"{pre[-1] / pre[0]:.2f} pre-LN;<br>last layer post/pre {post[-1] / pre[-1]:.1f}x"
    )
    return Update(traces=[dict(x=layers, y=post), dict(x=layers, y=pre)], layout=dict(title=dict(text=title)))


def gradient_norms_figure(profiles: GradientProfiles, max_layers: int = 12) -> go.Figure:
    """Per-layer gradient norms at initialization, post-LN and pre-LN side by side on one linear scale
    from zero; the layer axis is fixed to `max_layers`."""
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.05,
        figure=_base(height=480, showlegend=False, margin=dict(t=140)),
        subplot_titles=("post-LN:<br>x = LN(x + f(x))", "pre-LN:<br>x = x + f(LN(x))"),
    )
    for col, position in enumerate(("post", "pre"), start=1):
        fig.add_bar(
            name=POSITION_NAMES[position],
            marker_color=POSITION_COLORS[position],
            row=1,
            col=col,
            hovertemplate="layer %{x}: %{y:.3g}<extra></extra>",
        )
    # every other layer labelled: twelve labels a subplot stack on each other at a projector's width
    fig.update_xaxes(title="layer (1 = next to the input)", range=[0.5, max_layers + 0.5], tick0=1, dtick=2)
    # from zero on a linear scale: a bar's length must be its value. On a log axis (or one starting near
    # the smallest bar) 0.1882 beside 0.1860 would look like a full bar beside a stub. The norms of a
    # setting differ by less than a factor of 10, so none is too short to see. Few labels: the plot is short.
    fig.update_yaxes(title="gradient norm of W₁, W₂", rangemode="tozero", nticks=5, row=1, col=1)
    fig.update_layout(title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, gradient_norms_update(profiles))


# ----------------------------------------------------------------------------------------------------
# Where eps goes
# ----------------------------------------------------------------------------------------------------


def eps_conventions_update(view: EpsView) -> Update:
    """Left: the row (H,) normalized in each convention. Right: `view.curves`, {convention: (N,) output
    std at each of `view.variances`: (N,)}, with this row's variance and stds marked."""
    comparison, variances, curves = view.comparison, view.variances, view.curves
    outputs, stds = comparison.outputs, comparison.stds
    units = np.arange(comparison.row.shape[0])
    traces = [dict(x=units, y=_np(outputs[name])) for name in CONVENTIONS]
    traces += [dict(x=_np(variances), y=_np(curves[name])) for name in CONVENTIONS]
    traces.append(dict(x=[comparison.variance] * len(CONVENTIONS), y=[stds[name] for name in CONVENTIONS]))
    summary = ", ".join(f"{name} {stds[name]:.2f}" for name in CONVENTIONS)
    return Update(
        traces=traces, layout=dict(title=dict(text=f"var(a) = {comparison.variance:.0e}:<br>output std {summary}"))
    )


def eps_conventions_figure(view: EpsView, h_range: float = 3.0) -> go.Figure:
    """One row of small variance normalized in each framework's convention, and the output std of each
    against the row's variance (1 is what the paper's eq. (3) promises). `h_range`: the fixed
    half-height of the row's axis."""
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.45, 0.55],
        horizontal_spacing=0.15,
        # two-line titles above, a legend of up to three rows below, at a projector's width
        figure=_base(height=560, margin=dict(t=120, b=70 + 3 * style.LEGEND_ROW)),
        subplot_titles=("the normalized row,<br>unit by unit", "output std<br>vs input variance"),
    )
    for name, convention in CONVENTIONS.items():
        fig.add_scatter(
            mode="lines+markers",
            name=convention.label,
            row=1,
            col=1,
            showlegend=False,
            line=dict(color=CONVENTION_COLORS[name], dash=CONVENTION_DASHES[name]),
        )
    for name, convention in CONVENTIONS.items():
        fig.add_scatter(
            mode="lines",
            name=convention.label,
            row=1,
            col=2,
            line=dict(color=CONVENTION_COLORS[name], width=3, dash=CONVENTION_DASHES[name]),
        )
    fig.add_scatter(
        mode="markers",
        name="this row",
        row=1,
        col=2,
        showlegend=False,
        marker=dict(size=13, color=[CONVENTION_COLORS[n] for n in CONVENTIONS], line=dict(width=2, color="black")),
    )
    fig.update_xaxes(title="hidden unit i", row=1, col=1)
    fig.update_yaxes(range=[-h_range, h_range], row=1, col=1)
    # two powers of ten a label: one a decade stacks them on a narrow subplot
    fig.update_xaxes(
        title="variance of the row's<br>summed inputs", type="log", exponentformat="power", dtick=2, row=1, col=2
    )
    fig.update_yaxes(title="std of the normalized row", range=[0, 1.08], row=1, col=2)
    fig.update_layout(legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, eps_conventions_update(view))
