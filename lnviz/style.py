"""Presentation settings shared by every figure: one place to change them for a lecture hall.

The palette is Okabe and Ito's colour-blind-safe set (Okabe & Ito, 2008, "Color Universal Design"),
in the order used by the figures: no normalization, batch norm, layer norm, weight norm, RMS norm, ...
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

#: Okabe-Ito palette (black omitted: it is the text colour).
PALETTE: tuple[str, ...] = (
    "#E69F00",  # orange
    "#0072B2",  # blue
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
)

#: One colour per method, the same in every notebook.
METHOD_COLORS: dict[str, str] = {
    "none": PALETTE[0],
    "batch": PALETTE[1],
    "layer": PALETTE[2],
    "weight": PALETTE[3],
    "rms": PALETTE[4],
    "group": PALETTE[5],
}

#: One marker symbol per method, drawn on its curves: two methods' curves differ by more than colour
#: (for colour-blind viewers and grey-scale print).
METHOD_SYMBOLS: dict[str, str] = {
    "none": "circle",
    "batch": "square",
    "layer": "diamond",
    "weight": "cross",
    "rms": "x",
    "group": "triangle-up",
}

#: Markers on a curve with many points: at most this many drawn, spread along it, enough to tell the
#: symbol without hiding the line.
MARKERS_SHOWN = 15

#: Readable names for the methods.
METHOD_NAMES: dict[str, str] = {
    "none": "no normalization",
    "batch": "batch norm",
    "layer": "layer norm",
    "weight": "weight norm",
    "rms": "RMS norm",
    "group": "group norm",
}

#: Base font size in px: readable from the back of a lecture hall on a projector.
FONT_SIZE = 16

#: plotly config of every panel's figure. `responsive`: the figure refits its output area when the
#: page is resized (the layouts set no width). No toolbar: it appears over the top right corner
#: as soon as the pointer is on the figure, where titles carry their numbers; a double click still
#: resets a zoom.
FIGURE_CONFIG: dict[str, object] = {"responsive": True, "displayModeBar": False}

#: Table cells: invariant / not invariant / disagreeing with the paper (light tints of the palette's
#: blue and orange, which stay distinct for every common colour-vision deficiency).
TABLE_COLORS: dict[str, str] = {"yes": "#B3D4EA", "no": "#F7F7F7", "mismatch": "#F5C77E"}

#: A diverging colour scale that stays readable for colour-blind viewers (blue - white - orange).
DIVERGING = [[0.0, "#0072B2"], [0.5, "#F7F7F7"], [1.0, "#E69F00"]]


#: A horizontal legend under the plot, anchored to the bottom of the figure rather than to the plot
#: area: the x-axis title above it keeps its place however many rows the legend wraps into on a narrow
#: screen. The figure's bottom margin must hold both (LEGEND_ROW px a row).
LEGEND_BELOW: dict[str, object] = dict(orientation="h", yref="container", y=0.0, yanchor="bottom", x=0.0)
LEGEND_ROW = 26


#: plotly_white, with every y axis's tick labels a little further from it: in a corner where both axes
#: start at zero, the y axis's "0" otherwise sits on the x axis's.
TEMPLATE = go.layout.Template(pio.templates["plotly_white"])
TEMPLATE.layout.yaxis.ticklabelstandoff = 8


def base_layout(**overrides) -> go.Layout:
    """The layout every lnviz figure starts from: white template, large fonts, the shared palette."""
    layout = go.Layout(
        template=TEMPLATE,
        font=dict(size=FONT_SIZE),
        colorway=list(PALETTE),
        margin=dict(l=60, r=20, t=60, b=50),
        height=420,
        # hung from the top of the figure, so that a title's second line grows down into the top
        # margin instead of up and down from its middle, onto the subplot titles. plotly sets a title
        # of several lines about 15 px higher than one of one line: the pad keeps its first line in.
        title=dict(y=1.0, yref="container", yanchor="top", pad=dict(t=30)),
    )
    layout.update(**overrides)
    return layout
