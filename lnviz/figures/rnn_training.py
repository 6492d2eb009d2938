"""Figure builder for lesson 4: recurrent models racing to a target training loss (section 6)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lnviz import style
from lnviz.figures.core import Update, apply
from lnviz.figures.training import METRICS, PERCENT, UNITS, X_AXES, amount, check, model_marker, model_style, series
from lnviz.train import History

__all__ = ["bar_text_color", "divergence_lines", "divergence_message", "target_loss_figure", "target_loss_update"]

#: Characters a line of the title holds: the figure is about 590 px wide beside the file browser, and a
#: character of the 16 px font takes about 9 px.
TITLE_CHARS = 60


def _luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG's relative luminance of an sRGB colour with channels in [0, 1]."""
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def bar_text_color(color: str, opacity: float = 1.0) -> str:
    """Black or white, whichever contrasts more with a bar of `color` ("#rrggbb") drawn at `opacity` on
    white: plotly picks a text colour for the opaque colour, white on blue, which a faint bar makes pale."""
    rgb = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    bar = _luminance(tuple(opacity * c + (1 - opacity) for c in rgb))
    return "white" if (1.05 / (bar + 0.05)) > ((bar + 0.05) / 0.05) else "black"


def divergence_lines(diverged: list[str]) -> list[str]:
    """["LN-RNN at step 40", ...] -> the words a figure shows for diverged runs, in lines that each fit
    the figure's width (`TITLE_CHARS`), never broken at a model's hyphen."""
    return [
        *textwrap.wrap("diverged: " + ", ".join(diverged), TITLE_CHARS, break_on_hyphens=False),
        "(the training loss became NaN or inf, so training stopped):",
        "lower the learning rate",
    ]


def divergence_message(diverged: list[str]) -> str:
    """["LN-RNN at step 40", ...] -> the words a panel's status shows for diverged runs: the figure's
    lines on one line."""
    return " ".join(divergence_lines(diverged))


def target_loss_update(
    histories: Mapping[str, History | None], target: float, metric: str = "val_error", x: str = "step"
) -> Update:
    """The trace data of `target_loss_figure`.

    Traces, per model slot: training loss (left), where it first reaches `target` (left), `metric`
    (middle); then the target line (left) and the bars of how long each trained model took (right).
    A run that diverged (`History.diverged_at`) keeps its finite records, gets a faint bar marked
    "diverged", and the title says at which step, in words, with what to do about it.
    """
    check(x, (metric,))
    traces, names, amounts, texts, colors, opacities = [], [], [], [], [], []
    end = 1.0
    diverged = []
    for label, history in histories.items():
        # A run that diverged before its first record has no curve, but still a bar and its words.
        if history is None or not (len(history) or history.diverged):
            traces += [dict(x=[], y=[], visible=False)] * 3
            continue
        xs = list(getattr(history, x))
        end = max(end, xs[-1] if xs else 0)
        name = label + (" (interrupted)" if history.interrupted else "") + (" (diverged)" if history.diverged else "")
        at = None if history.diverged else history.reach(target, x)
        hit = [] if at is None else [at]
        traces += [
            dict(x=xs, y=list(history.train_loss), name=name, visible=True),
            dict(x=hit, y=[target] * len(hit), visible=True),
            dict(x=xs, y=series(history, metric), visible=True),
        ]
        names.append(label)
        colors.append(model_style(label)["color"])
        # A model that never got there (or diverged) draws a faint bar over its whole (finite) run.
        amounts.append((xs[-1] if xs else 0) if at is None else at)
        opacities.append(0.25 if at is None else 1.0)
        if history.diverged:
            texts.append(f"diverged at step {history.diverged_at}")
            diverged.append(f"{label} at step {history.diverged_at}")
        else:
            texts.append("not reached" if at is None else amount(at, x))
    traces.append(dict(x=[0, end], y=[target, target]))
    # outside a bar its text is on the white background: the text colour
    text_colors = [bar_text_color(c, o) for c, o in zip(colors, opacities)]
    traces.append(
        dict(
            x=amounts,
            y=names,
            text=texts,
            marker=dict(color=colors, opacity=opacities),
            insidetextfont=dict(color=text_colors),
            outsidetextfont=dict(color="black"),
        )
    )
    reached = [
        f"{n} {t}" + (f" in {amount(a, x)}" if t == "not reached" else "") for n, t, a in zip(names, texts, amounts)
    ]
    # two models a line: all on one line run past the right edge of a projector's figure
    title = f"time to reach training loss {target:.3g}:<br>" + (
        ",<br>".join(", ".join(reached[i : i + 2]) for i in range(0, len(reached), 2)) if reached else "press Run"
    )
    if diverged:
        # Lines of their own, so that the warning is read even when the first is long.
        title += "<br>" + "<br>".join(divergence_lines(diverged))
    layout = dict(
        title=dict(text=title),
        # the title's lines, hung from the top, and the subplot titles under them
        margin=dict(t=75 + 22 * title.count("<br>")),
        xaxis=dict(title=X_AXES[x]),
        xaxis2=dict(title=X_AXES[x]),
        xaxis3=dict(title=UNITS[x]),
        yaxis2=dict(title=METRICS[metric], tickformat=".0%" if metric in PERCENT else ""),
    )
    return Update(traces=traces, layout=layout)


def target_loss_figure(
    histories: Mapping[str, History | None], target: float, metric: str = "val_error", x: str = "step"
) -> go.Figure:
    """Training loss with a target line, a second metric, and each model's time to reach the target.

    histories: model name ("LSTM", "LN-LSTM", "BN-RNN", ...; see `model_style`) -> History, or None
    for a model slot not trained. target: a training loss. metric: a key of `METRICS` for the
    middle subplot. x: a key of `X_AXES`: "step" asks which model needs fewer updates, "wall_time"
    which needs less time on this machine (a normalized step costs more).
    """
    # the bars under the curves, across the figure: a third column beside them is too narrow for
    # their labels on a projector beside the file browser
    fig = make_subplots(
        rows=2,
        cols=2,
        specs=[[{}, {}], [{"colspan": 2}, None]],
        row_heights=[0.62, 0.38],
        # room for the middle plot's tick labels and y-axis title, which otherwise lie over the left plot
        horizontal_spacing=0.2,
        vertical_spacing=0.2,
        subplot_titles=("training loss (log scale)", "", "to reach the target"),
        figure=go.Figure(layout=style.base_layout(height=720, margin=dict(b=70 + 2 * style.LEGEND_ROW))),
    )
    for label in histories:
        line, marker = model_style(label), model_marker(label)
        fig.add_scatter(mode="lines+markers", row=1, col=1, legendgroup=label, line=line, marker=marker)
        fig.add_scatter(
            mode="markers",
            row=1,
            col=1,
            legendgroup=label,
            showlegend=False,
            hoverinfo="skip",
            marker=dict(color=line["color"], size=13, symbol="circle-open", line=dict(width=3)),
        )
        fig.add_scatter(
            mode="lines+markers", row=1, col=2, legendgroup=label, showlegend=False, line=line, marker=marker
        )
    fig.add_scatter(
        mode="lines",
        row=1,
        col=1,
        name="target",
        showlegend=False,
        hoverinfo="skip",
        line=dict(color="black", dash="dot", width=1.5),
    )
    fig.add_bar(orientation="h", row=2, col=1, showlegend=False, textposition="auto", cliponaxis=False)
    fig.update_xaxes(rangemode="tozero")
    # labels at powers of ten only: plotly's 2-9 labels stack on each other on a short log axis
    fig.update_yaxes(type="log", dtick=1, row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_yaxes(autorange="reversed", row=2, col=1)
    fig.update_layout(legend=style.LEGEND_BELOW, title=dict(font=dict(size=style.FONT_SIZE)))
    return apply(fig, target_loss_update(histories, target, metric, x))
