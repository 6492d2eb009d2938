"""Figure builders for notebook 3: hidden-state dynamics of recurrent nets, with and without normalization."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lnviz import style
from lnviz.dynamics import HISTOGRAM_EDGES, NORMS, Dynamics, StepStatistics
from lnviz.figures.core import Update, apply

__all__ = [
    "dynamics_animation",
    "dynamics_update",
    "dynamics_figure",
    "step_statistics_update",
    "step_statistics_figure",
]

_CENTRES = (HISTOGRAM_EDGES[:-1] + HISTOGRAM_EDGES[1:]) / 2
_WIDTH = HISTOGRAM_EDGES[1] - HISTOGRAM_EDGES[0]
#: Each method's line dash and marker, so that curves lying on top of each other stay distinguishable
#: without colour.
_DASH = {"none": "solid", "batch": "dash", "layer": "dot"}
#: Curves closer than this fraction of their subplot's span at every step are drawn on top of each other.
OVERLAP = 0.02


def _title(norm: str) -> str:
    return style.METHOD_NAMES[norm]


def dynamics_animation(runs: dict[str, Dynamics], max_frames: int = 60) -> go.Figure:
    """Histograms of what the nonlinearities receive at each time step, one panel per normalization,
    animated over time with plotly frames (Play button and step slider): it plays without a kernel.

    runs: {norm: Dynamics} for "none", "layer", "batch", all of the same length T. At most `max_frames`
    steps are shown, evenly spaced, so that the exported HTML stays small.
    """
    norms = [n for n in NORMS if n in runs]
    length = runs[norms[0]].histograms.shape[0]
    steps = np.unique(np.linspace(0, length - 1, min(max_frames, length)).round().astype(int))
    top = max(float(runs[n].histograms.max()) for n in norms) * 1.05
    fig = make_subplots(
        rows=1,
        cols=len(norms),
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=[_title(n) for n in norms],
        figure=go.Figure(layout=style.base_layout(height=500, margin=dict(t=90))),
    )

    def bars(t: int) -> list[go.Bar]:
        return [
            go.Bar(
                x=_CENTRES,
                y=runs[n].histograms[t],
                width=_WIDTH,
                name=_title(n),
                marker_color=style.METHOD_COLORS[n],
                showlegend=False,
            )
            for n in norms
        ]

    for col, bar in enumerate(bars(int(steps[0])), start=1):
        fig.add_trace(bar, row=1, col=col)
    fig.frames = [go.Frame(data=bars(int(t)), name=str(t), traces=list(range(len(norms)))) for t in steps]
    fig.update_xaxes(range=[HISTOGRAM_EDGES[0], HISTOGRAM_EDGES[-1]])
    # one axis title, under the middle panel: three side by side run into each other on a narrow screen
    fig.update_xaxes(title="input to the nonlinearity", col=(len(norms) + 1) // 2)
    fig.update_yaxes(range=[0, top])
    fig.update_yaxes(title="fraction of units × cases", col=1)
    play = dict(frame=dict(duration=120, redraw=True), fromcurrent=True, transition=dict(duration=0))
    fig.update_layout(
        title=f"{runs[norms[0]].kind.upper()}: what the nonlinearities receive, step by step",
        updatemenus=[
            dict(
                type="buttons",
                showactive=False,
                x=0.0,
                y=-0.32,
                xanchor="left",
                yanchor="top",
                buttons=[
                    dict(label="Play", method="animate", args=[None, play]),
                    dict(
                        label="Pause",
                        method="animate",
                        args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))],
                    ),
                ],
            )
        ],
        sliders=[
            dict(
                active=0,
                x=0.12,
                y=-0.32,
                len=0.88,
                currentvalue=dict(prefix="time step t = "),
                steps=[
                    dict(
                        label=str(t),
                        method="animate",
                        args=[[str(t)], dict(mode="immediate", frame=dict(duration=0, redraw=True))],
                    )
                    for t in steps
                ],
            )
        ],
        margin=dict(b=160),
    )
    return fig


#: (row, col, title, attribute, log axis) of the four curves of `dynamics_figure`
#: (titles on two lines: a subplot is about 250 px wide beside the file browser on a projector)
_CURVES = (
    (1, 1, "std over units of<br>the summed inputs aₜ", "summed_std", False),
    (1, 2, "norm of the<br>hidden state ‖hₜ‖", "hidden_norm", False),
    (2, 1, "std of what the<br>nonlinearities receive", "normalized_std", False),
    (2, 2, "‖∂L/∂hₜ‖<br>(loss at the last step)", "grad_norm", True),
)


def _drawn(y: np.ndarray, log: bool) -> np.ndarray | list[float | None]:
    """The values a curve draws: on a log axis an exact 0 (float32 underflow) or an inf (overflow) is a gap
    (None: plotly's gap, and no NaN or inf in the figure's data)."""
    if not log:
        return y
    return [float(v) if np.isfinite(v) and v > 0 else None for v in y]


def _overlap_note(curves: dict[str, np.ndarray], log: bool) -> dict:
    """A text trace naming the methods whose curves lie on top of each other in one subplot (empty if none):
    within OVERLAP of the subplot's span at every step, in decades on a log axis."""
    values = {n: np.log10(np.array(_drawn(y, log), dtype=float)) if log else y for n, y in curves.items()}
    finite = np.concatenate([v[np.isfinite(v)] for v in values.values()])
    span = max(finite.max() - (finite.min() if log else min(finite.min(), 0.0)), 1.0 if log else 1e-12)
    together = [
        n
        for n in values
        if any(
            m != n
            and np.array_equal(np.isfinite(values[n]), np.isfinite(values[m]))
            and np.nanmax(np.abs(values[n] - values[m]), initial=0.0) < OVERLAP * span
            for m in values
        )
    ]
    if len(together) < 2:
        return dict(x=[], y=[], text=[])
    names = [style.METHOD_NAMES[n] for n in together]
    text = "all three curves coincide" if len(together) == len(curves) else " ≈ ".join(names)
    y = curves[together[0]]
    step = len(y) // 2 if np.isfinite(values[together[0]][len(y) // 2]) else int(np.nanargmax(values[together[0]]))
    return dict(x=[step], y=[y[step]], text=[text])


def _gap_note(runs: dict[str, Dynamics]) -> dict:
    """A text trace, at the bottom left of the gradient subplot, saying why its curves have gaps, if they do."""
    grads = np.stack([runs[n].grad_norm for n in NORMS])
    zero, inf = bool((grads == 0).any()), bool(np.isinf(grads).any())
    if not (zero or inf):
        return dict(x=[], y=[], text=[])
    what = {(True, False): "exactly 0", (False, True): "inf", (True, True): "exactly 0 or inf"}[zero, inf]
    why = {(True, False): "underflow", (False, True): "overflow", (True, True): "under/overflow"}[zero, inf]
    return dict(x=[0], y=[grads[np.isfinite(grads) & (grads > 0)].min()], text=[f"gaps: {what}<br>(float32 {why})"])


def dynamics_update(runs: dict[str, Dynamics]) -> Update:
    """One trace per curve and normalization, in the order of _CURVES then NORMS; then, per curve, a note
    naming the methods whose curves coincide; last, a note on the gradient curves' gaps."""
    traces, notes = [], []
    for *_, attribute, log in _CURVES:
        curves = {norm: getattr(runs[norm], attribute) for norm in NORMS}
        traces += [dict(x=np.arange(len(y)), y=_drawn(y, log)) for y in curves.values()]
        notes.append(_overlap_note(curves, log))
    first = runs[NORMS[0]]
    return Update(
        traces + notes + [_gap_note(runs)],
        dict(
            title=dict(
                text=f"{first.kind.upper()}, {len(first.grad_norm)} time steps:<br>"
                "per-step statistics, averaged over the cases"
            )
        ),
    )


def dynamics_figure(runs: dict[str, Dynamics]) -> go.Figure:
    """Per-step curves for the three normalizations: summed-input spread, hidden norm, the spread the
    nonlinearities see, and the gradient flowing back through time (log scale)."""
    fig = make_subplots(
        rows=2,
        cols=2,
        vertical_spacing=0.17,
        horizontal_spacing=0.12,
        subplot_titles=[c[2] for c in _CURVES],
        figure=go.Figure(layout=style.base_layout(height=720, margin=dict(t=125, b=70 + 2 * style.LEGEND_ROW))),
    )
    for row, col, _, _, log in _CURVES:
        for norm in NORMS:
            fig.add_scatter(
                mode="lines+markers",
                name=_title(norm),
                legendgroup=norm,
                showlegend=(row, col) == (1, 1),
                line=dict(color=style.METHOD_COLORS[norm], width=3, dash=_DASH[norm]),
                marker=dict(
                    color=style.METHOD_COLORS[norm], symbol=style.METHOD_SYMBOLS[norm], size=9, maxdisplayed=12
                ),
                row=row,
                col=col,
            )
        if row == 2:  # the top row's x-axis title would sit on the bottom row's subplot titles
            fig.update_xaxes(title="time step t", row=row, col=col)
        if log:
            fig.update_yaxes(type="log", exponentformat="power", row=row, col=col)
        else:
            fig.update_yaxes(rangemode="tozero", row=row, col=col)
    # the notes of `dynamics_update`, in its order, a little smaller than the titles: they sit inside a subplot
    note = dict(mode="text", showlegend=False, hoverinfo="skip", textfont=dict(size=style.FONT_SIZE - 3))
    for row, col, *_ in _CURVES:
        fig.add_scatter(textposition="top center", row=row, col=col, **note)
    fig.add_scatter(textposition="top right", row=2, col=2, **note)
    fig.update_layout(legend=style.LEGEND_BELOW)
    return apply(fig, dynamics_update(runs))


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def step_statistics_update(stats: StepStatistics) -> Update:
    """Left: the per-step std as learned for the first `stats.max_steps` steps (max_steps,), as the test
    sequences have it and as eval mode uses it ((T,) each). Right: the mismatch per step (T,)."""
    t = np.arange(len(stats.test_std))
    train_steps = np.arange(stats.max_steps)
    edge = stats.max_steps - 0.5
    # a dotted line where the per-step statistics run out, drawn in both subplots
    shapes = [
        dict(type="line", x0=edge, x1=edge, y0=0, y1=1, xref=x, yref=f"{y} domain", line=dict(color="gray", dash="dot"))
        for x, y in (("x", "y"), ("x2", "y2"))
    ]
    after = (
        "every test step has statistics of its own"
        if stats.mismatch_after is None
        else f"mean mismatch after them: {stats.mismatch_after:.2f} std"
    )
    return Update(
        traces=[
            dict(x=train_steps, y=stats.running_std),
            dict(x=t, y=stats.test_std),
            dict(x=t, y=stats.used_std),
            dict(x=t, y=stats.mismatch),
        ],
        layout=dict(
            shapes=shapes,
            title=dict(text=f"statistics kept for {_steps(stats.max_steps)};<br>{after}"),
            # from the data: a short training length leaves mismatches of several stds; at least one std
            # tall, so that a mismatch near 0 looks near 0
            yaxis2=dict(range=[0, max(1.0, 1.15 * float(stats.mismatch.max()))]),
        ),
    )


def step_statistics_figure(stats: StepStatistics) -> go.Figure:
    """Left: recurrent BN's per-step statistics (std, averaged over units) as learned in training, as
    the test sequences actually have them, and as eval mode uses them. Right: the mismatch per step."""
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.1,
        subplot_titles=("std of the summed inputs,<br>per step", "mismatch of the mean,<br>in stds"),
        figure=go.Figure(layout=style.base_layout(height=540, margin=dict(t=140, b=70 + 3 * style.LEGEND_ROW))),
    )
    blue, orange = style.METHOD_COLORS["batch"], style.PALETTE[5]
    fig.add_scatter(mode="markers", name="running statistics (training)", marker=dict(color=blue, size=9), row=1, col=1)
    fig.add_scatter(mode="lines", name="actual, test sequences", line=dict(color="black", width=3), row=1, col=1)
    fig.add_scatter(mode="lines", name="used in eval mode", line=dict(color=orange, width=3, dash="dash"), row=1, col=1)
    fig.add_scatter(mode="lines", name="mismatch", showlegend=False, line=dict(color=orange, width=3), row=1, col=2)
    fig.update_xaxes(title="time step t (row of the digit)")
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_layout(legend=style.LEGEND_BELOW)
    return apply(fig, step_statistics_update(stats))
