"""Figure builders for notebook 06: the geometry of learning in a layer-normalized layer (section 5.2)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lnviz import style
from lnviz.figures.core import Update, apply
from lnviz.figures.core import to_numpy as _np
from lnviz.geometry import GAIN_MODELS, GainLearning, GainRun, Landscape, PlaneView, SGDRun, equilibrium_angle

__all__ = [
    "PLANE_EXTENT",
    "plane_extent",
    "weight_plane_update",
    "weight_plane_figure",
    "norm_growth_update",
    "norm_growth_figure",
    "gain_learning_update",
    "gain_learning_figure",
]

#: Low loss light, high loss dark blue: the arrows drawn over it stay visible everywhere.
LOSS_SCALE = [[0.0, "#FFFFFF"], [1.0, style.PALETTE[1]]]
STEP_COLOR = style.PALETTE[5]
RUN_COLORS = (style.METHOD_COLORS["layer"], style.PALETTE[5])
#: The runs differ by more than colour; not "dot" or "dash", which the black reference lines beside them use.
RUN_DASHES = ("solid", "dashdot")
GAIN_NAMES = {"none": "no normalization: weights g u, ‖u‖ = 1", "layer": "layer norm: gain g"}

#: The arrowhead of a two-point line: no marker at the tail, an arrow at the tip pointing along the line.
_HEAD = dict(symbol="arrow", angleref="previous", size=[0, 15])


#: Ticks of the log axes, 1-2-5 in every decade, written out: plotly's own minor ticks read "5" for 0.5.
_LOG_TICKS = [m * 10.0**e for e in range(-4, 4) for m in (1, 2, 5)]
_LOG_AXIS = dict(type="log", tickvals=_LOG_TICKS, ticktext=[f"{v:g}" for v in _LOG_TICKS])


def _base(**layout) -> go.Figure:
    """An empty figure in the house layout, to pass to make_subplots: update_layout after it would merge
    the whole template property by property."""
    return go.Figure(layout=style.base_layout(**layout))


def _circle(radius: float, points: int = 181) -> tuple[np.ndarray, np.ndarray]:
    angle = np.linspace(0, 2 * np.pi, points)
    return radius * np.cos(angle), radius * np.sin(angle)


# ----------------------------------------------------------------------------------------------------
# The loss over a plane of weight matrices, the gradient on w, and the step
# ----------------------------------------------------------------------------------------------------


#: Half the width of the square of the weight plane shown while w, its step and the path fit in it.
PLANE_EXTENT = 4.0


def plane_extent(view: PlaneView, extent: float = PLANE_EXTENT) -> float:
    """Half the width of the square of the weight plane to show: `extent`, or, when w's circle, its step
    or the path reach further (a short w and a large learning rate throw the step far out), enough to
    hold them with room for the arrowheads, in steps of 0.5."""
    reach = max(float(np.abs(_np(view.path)).max()), view.step.length)
    return max(extent, math.ceil(2 * 1.05 * reach) / 2)


def weight_plane_update(view: PlaneView) -> Update:
    """`view.step` at w; `view.path`: (K+1, 2) the next K steps from w; `view.lengths`: (M,) the ||w||
    at which `view.grad_norms` (M,) and `view.turned` (M,) degrees were measured along w's ray. The
    landscape (the first trace) is left as `weight_plane_figure` drew it; the plane's axes widen to
    keep everything drawn on it in view (`plane_extent`)."""
    step = view.step
    r = plane_extent(view)
    w, nxt, path = _np(step.w), _np(step.next_w), _np(view.path)
    circle = _circle(step.length)
    title = (
        f"‖w‖ = {step.length:.2f}: ‖∇L‖ = {float(step.gradient.norm()):.3f}, w·∇L = {step.inner:.0e};<br>"
        f"one step turns w by {step.angle_change:.2f}° and stretches it to {step.next_length:.3f}"
    )
    return Update(
        traces=[
            {},
            dict(x=circle[0], y=circle[1]),
            dict(x=path[:, 0], y=path[:, 1]),
            dict(x=[0, w[0]], y=[0, w[1]]),
            dict(x=[w[0], nxt[0]], y=[w[1], nxt[1]]),
            dict(x=_np(view.lengths), y=_np(view.grad_norms)),
            dict(x=[step.length], y=[float(step.gradient.norm())]),
            dict(x=_np(view.lengths), y=_np(view.turned)),
            dict(x=[step.length], y=[step.angle_change]),
        ],
        layout=dict(title=dict(text=title), xaxis=dict(range=[-r, r]), yaxis=dict(range=[-r, r])),
    )


def weight_plane_figure(landscape: Landscape, view: PlaneView) -> go.Figure:
    """Left: the loss over the plane W = w_1 A + w_2 B (`landscape.values` (P, P) over `landscape.coords`
    (P,)), with w, the step -lr ∇L and the next steps of gradient descent drawn on it. Right: along
    w's ray, the gradient norm and the angle one step turns w by, against ||w||."""
    coords, values = landscape.coords, landscape.values
    fig = make_subplots(
        rows=2,
        cols=2,
        column_widths=[0.56, 0.44],
        horizontal_spacing=0.14,
        # room between the right-hand plots for the upper one's tick labels and the lower one's title
        vertical_spacing=0.26,
        specs=[[{"rowspan": 2}, {}], [None, {}]],
        # two-line titles, three legend rows: the figure is about 590 px wide beside the file browser
        figure=_base(height=640, margin=dict(t=130, b=70 + 3 * style.LEGEND_ROW)),
        subplot_titles=(
            "loss over W = w₁A + w₂B<br>(darker: higher)",
            "gradient norm ‖∇L‖",
            "angle one step turns w<br>(degrees)",
        ),
    )
    # no colour bar: beside the left plot it would crowd the right ones; the hover gives each loss
    fig.add_contour(
        x=_np(coords),
        y=_np(coords),
        z=_np(values),
        colorscale=LOSS_SCALE,
        ncontours=16,
        contours=dict(coloring="heatmap"),
        line=dict(width=0.5, color="gray"),
        name="loss",
        showscale=False,
        row=1,
        col=1,
        hovertemplate="w = (%{x:.2f}, %{y:.2f}): loss %{z:.3f}<extra></extra>",
    )
    fig.add_scatter(
        mode="lines",
        name="‖w‖ now",
        line=dict(color="black", dash="dot", width=1),
        hoverinfo="skip",
        showlegend=False,
        row=1,
        col=1,
    )
    fig.add_scatter(
        mode="lines+markers",
        name=f"the next {len(view.path) - 1} steps",
        row=1,
        col=1,
        line=dict(color="dimgray", width=1, dash="dot"),
        marker=dict(color="dimgray", size=4),
    )
    fig.add_scatter(
        mode="lines+markers",
        name="w",
        line=dict(color="black", width=3),
        marker=dict(color="black", **_HEAD),
        row=1,
        col=1,
    )
    fig.add_scatter(
        mode="lines+markers",
        name="step -lr ∇L",
        line=dict(color=STEP_COLOR, width=3, dash="dot"),
        marker=dict(color=STEP_COLOR, **_HEAD),
        row=1,
        col=1,
    )
    for row, color in ((1, style.PALETTE[2]), (2, style.PALETTE[3])):
        fig.add_scatter(
            mode="lines",
            line=dict(color=color, width=3),
            showlegend=False,
            row=row,
            col=2,
            hovertemplate="‖w‖ = %{x:.2f}: %{y:.3g}<extra></extra>",
        )
        fig.add_scatter(
            mode="markers",
            marker=dict(color="black", size=12, symbol="circle-open", line=dict(width=3)),
            showlegend=False,
            hoverinfo="skip",
            row=row,
            col=2,
        )
    # the ranges come with the update (`plane_extent`); the landscape should cover the widest of them
    fig.update_xaxes(title="w₁ (teacher's direction)", row=1, col=1)
    fig.update_yaxes(title="w₂", scaleanchor="x", row=1, col=1)
    lengths = _np(view.lengths)
    norm_ticks = [v for v in (0.125, 0.25, 0.5, 1, 2, 4, 8) if lengths.min() <= v <= lengths.max()]
    fig.update_xaxes(type="log", tickvals=norm_ticks, ticktext=[f"{v:g}" for v in norm_ticks], col=2)
    fig.update_xaxes(title="‖w‖", row=2, col=2)
    # labels at powers of ten only: 1-2-5 labels stack on each other on these short plots
    fig.update_yaxes(type="log", dtick=1, col=2)
    fig.update_layout(legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE - 2)))
    return apply(fig, weight_plane_update(view))


# ----------------------------------------------------------------------------------------------------
# A training run: ||W|| grows, the angle each step turns W by shrinks
# ----------------------------------------------------------------------------------------------------


def _run_name(run: SGDRun) -> str:
    return "SGD" if run.weight_decay == 0 else f"SGD + weight decay {run.weight_decay:g}"


def norm_growth_update(runs: list[SGDRun]) -> Update:
    """For each run: ||W_t||, the effective learning rate lr / ||W_t||^2, the angle W turns per step
    and the loss; for the first run, the norm Pythagoras predicts from its gradients alone,
    sqrt(||W_0||^2 + lr^2 sum ||grad||^2); and for each run with weight decay, the angle per step at
    which the decay balances the growth (`equilibrium_angle`)."""
    traces = []
    for run in runs:
        steps = np.arange(len(run.norms))
        traces += [
            dict(x=steps, y=_np(run.norms), name=_run_name(run)),
            dict(x=steps, y=_np(run.effective_lr)),
            dict(x=steps[1:], y=_np(run.angle_changes)),
            dict(x=steps, y=_np(run.losses)),
        ]
    first = runs[0]
    growth = np.cumsum((first.lr * _np(first.grad_norms)) ** 2)
    predicted = np.sqrt(first.init_norm**2 + np.concatenate([[0.0], growth]))
    traces.append(dict(x=np.arange(len(predicted)), y=predicted))
    for run in runs:
        level = equilibrium_angle(run.lr, run.weight_decay)
        ends = [1, len(run.angle_changes)] if run.weight_decay > 0 else []
        traces.append(dict(x=ends, y=[level] * len(ends)))
    # a line per run: on one line the title ran far past a projector's figure
    summary = "<br>".join(
        f"{_run_name(r)}: ‖W‖ {float(r.norms[0]):.2f} → {float(r.norms[-1]):.2f}, "
        f"last 20 steps turn W {float(r.angle_changes[-20:].mean()):.2f}° each"
        for r in runs
    )
    return Update(traces=traces, layout=dict(title=dict(text=f"lr {first.lr:.3g}:<br>{summary}")))


def norm_growth_figure(runs: list[SGDRun]) -> go.Figure:
    """Step by step: the norm of W, the learning rate its direction feels, the angle each SGD step
    turns W by (both on log scales) and the training loss."""
    fig = make_subplots(
        rows=2,
        cols=2,
        # room between the left-hand plots' last x tick label and the right-hand plots' y tick labels
        horizontal_spacing=0.16,
        vertical_spacing=0.2,
        # a title line per run and two-line subplot titles above; three legend rows below
        figure=_base(height=720, margin=dict(t=150, b=70 + 3 * style.LEGEND_ROW)),
        subplot_titles=(
            "‖W‖",
            "effective learning rate<br>lr / ‖W‖²",
            "angle turned per step<br>(degrees)",
            "training loss",
        ),
    )
    cells = ((1, 1), (1, 2), (2, 1), (2, 2))
    for run, color, dash in zip(runs, RUN_COLORS, RUN_DASHES):
        name = _run_name(run)
        for i, (row, col) in enumerate(cells):
            fig.add_scatter(
                mode="lines",
                name=name,
                legendgroup=name,
                showlegend=i == 0,
                row=row,
                col=col,
                line=dict(color=color, dash=dash, width=1.5 if (row, col) == (2, 1) else 3),
            )
    fig.add_scatter(
        mode="lines", name="√(‖W₀‖² + lr² Σ‖∇L‖²)", row=1, col=1, line=dict(color="black", dash="dot", width=2)
    )
    for i in range(len(runs)):
        fig.add_scatter(
            mode="lines",
            name="where weight decay balances growth",
            showlegend=i == len(runs) - 1,
            line=dict(color="black", dash="dash", width=2),
            row=2,
            col=1,
        )
    fig.update_xaxes(title="step", row=2)
    fig.update_yaxes(rangemode="tozero", col=1, row=1)
    fig.update_yaxes(**_LOG_AXIS, row=1, col=2)
    fig.update_yaxes(**_LOG_AXIS, row=2, col=1)
    fig.update_yaxes(rangemode="tozero", row=2, col=2)
    fig.update_layout(legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE - 2)))
    return apply(fig, norm_growth_update(runs))


# ----------------------------------------------------------------------------------------------------
# Learning the magnitude: a normalized unit's gain, or the size of a plain unit's weights
# ----------------------------------------------------------------------------------------------------


def gain_learning_update(view: GainLearning) -> Update:
    """`view.sweep`: {model: (K,) ||dL/dg|| at the start, at each input scale of `view.scales` (K,)};
    `view.runs`: {model: GainRun} at the input scale now chosen."""
    scales, sweep, runs = view.scales, view.sweep, view.runs
    traces = [dict(x=_np(scales), y=_np(sweep[m])) for m in GAIN_MODELS]
    traces += [dict(x=[runs[m].scale], y=[runs[m].start_gradient]) for m in GAIN_MODELS]
    traces += [dict(x=np.arange(len(runs[m].distances)), y=_np(runs[m].distances)) for m in GAIN_MODELS]

    def outcome(run: GainRun) -> str:
        if run.diverged:
            return f"diverged after {len(run.distances)} steps"
        return f"‖g − g_best‖ is {float(run.distances[-1]):.1e} of its start after {len(run.distances) - 1} steps"

    scale, lr = runs[GAIN_MODELS[0]].scale, runs[GAIN_MODELS[0]].lr
    title = (
        f"inputs × {scale:.3g}, lr {lr:.3g}:<br>no normalization: {outcome(runs['none'])};<br>"
        f"layer norm: {outcome(runs['layer'])}"
    )
    return Update(traces=traces, layout=dict(title=dict(text=title)))


def gain_learning_figure(view: GainLearning, floor: float = 1e-8) -> go.Figure:
    """Left: the gain gradient at the start against the input scale. Right: the distance of the gains
    to their best values during gradient descent, at the input scale now chosen (down to `floor`)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.12,
        # a three-line title and two-line subplot titles above, two legend rows below
        figure=_base(height=560, margin=dict(t=150, b=70 + 2 * style.LEGEND_ROW)),
        subplot_titles=(
            "‖∂L/∂g‖ at the start,<br>same prediction error",
            "‖g − g_best‖ /<br>‖g₀ − g_best‖",
        ),
    )
    for model in GAIN_MODELS:
        fig.add_scatter(
            mode="lines",
            name=GAIN_NAMES[model],
            legendgroup=model,
            row=1,
            col=1,
            line=dict(color=style.METHOD_COLORS[model], width=3, dash="solid" if model == "layer" else "dash"),
        )
    for model in GAIN_MODELS:
        fig.add_scatter(
            mode="markers",
            legendgroup=model,
            showlegend=False,
            hoverinfo="skip",
            row=1,
            col=1,
            marker=dict(color=style.METHOD_COLORS[model], size=13, line=dict(width=2, color="black")),
        )
    for model in GAIN_MODELS:
        fig.add_scatter(
            mode="lines+markers",
            name=GAIN_NAMES[model],
            legendgroup=model,
            showlegend=False,
            row=1,
            col=2,
            marker=dict(size=5),
            line=dict(color=style.METHOD_COLORS[model], width=3, dash="solid" if model == "layer" else "dash"),
        )
    fig.update_xaxes(title="input scale c (inputs c·x)", type="log", exponentformat="power", dtick=1, row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", dtick=1, row=1, col=1)
    fig.update_xaxes(title="gradient descent step", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", range=[np.log10(floor), 6.5], row=1, col=2)
    fig.update_layout(legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE - 2)))
    return apply(fig, gain_learning_update(view))
