"""Figure builders: numbers in, plotly figures out. Pure functions, no models trained here.

Every interactive figure comes in two halves that share one source of truth:
`*_update(...) -> Update` computes the trace data and layout changes from the numbers, and
`*_figure(...) -> go.Figure` builds the fixed skeleton (axes, ranges, legends) and applies the update.
A panel builds its FigureWidget once from `*_figure` and on every control change applies only
`*_update` in place, inside `batch_update()`, so nothing is re-created and nothing flickers.

One module per topic; everything is re-exported here.
"""

from lnviz.figures.core import Update, apply
from lnviz.figures.basics import *  # noqa: F401,F403
from lnviz.figures.dynamics import *  # noqa: F401,F403
from lnviz.figures.after2016 import (  # noqa: F401
    eps_conventions_figure, eps_conventions_update, gradient_norms_figure, gradient_norms_update,
    recentering_figure, recentering_update,
)
from lnviz.figures.geometry import *  # noqa: F401,F403
from lnviz.figures.training import *  # noqa: F401,F403
from lnviz.figures.convnets import *  # noqa: F401,F403
