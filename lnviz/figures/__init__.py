"""Figure builders: numbers in, plotly figures out. Pure functions, no models trained here.

Every interactive figure comes in two halves that share one source of truth:
`<name>_update(...) -> Update` computes the trace data and layout changes from the numbers, and
`<name>_figure(...) -> go.Figure` builds the fixed skeleton (axes, ranges, legends) and applies the
update. Both take the lesson's own records (`PooledEntry`, `InvarianceView`, `Dynamics`, `History`, ...) rather than
bare tuples. A panel builds its FigureWidget once from `*_figure` and on every control change
applies only `*_update` in place, inside `batch_update()`, so nothing is re-created and nothing
flickers.

One module per lesson, named with the lesson's stem (`lnviz.figures.geometry` for lesson 6), and
`training` for what the training lessons share; everything is re-exported here.
"""

from lnviz.figures.after2016 import (
    eps_conventions_figure,
    eps_conventions_update,
    gradient_norms_figure,
    gradient_norms_update,
    recentering_figure,
    recentering_update,
)
from lnviz.figures.batch_size import batch_size_figure, batch_size_update, read_at
from lnviz.figures.batch_vs_layer import (
    batch_dependence_figure,
    batch_dependence_update,
    gain_bias_figure,
    gain_bias_update,
    pooling_figure,
    pooling_update,
)
from lnviz.figures.convnets import (
    CONV_METRICS,
    CONV_X_AXES,
    border_figure,
    border_update,
    conv_training_figure,
    conv_training_update,
    pooled_entries_figure,
    pooled_entries_update,
)
from lnviz.figures.core import Update, apply
from lnviz.figures.dynamics import (
    dynamics_animation,
    dynamics_figure,
    dynamics_update,
    step_statistics_figure,
    step_statistics_update,
)
from lnviz.figures.geometry import (
    gain_learning_figure,
    gain_learning_update,
    norm_growth_figure,
    norm_growth_update,
    weight_plane_figure,
    weight_plane_update,
)
from lnviz.figures.invariance import invariance_figure, invariance_update, table_figure
from lnviz.figures.rnn_training import target_loss_figure, target_loss_update
from lnviz.figures.training import METRICS, X_AXES, model_marker, model_style

__all__ = [
    "CONV_METRICS",
    "CONV_X_AXES",
    "METRICS",
    "X_AXES",
    "Update",
    "apply",
    "batch_dependence_figure",
    "batch_dependence_update",
    "batch_size_figure",
    "batch_size_update",
    "border_figure",
    "border_update",
    "conv_training_figure",
    "conv_training_update",
    "dynamics_animation",
    "dynamics_figure",
    "dynamics_update",
    "eps_conventions_figure",
    "eps_conventions_update",
    "gain_bias_figure",
    "gain_bias_update",
    "gain_learning_figure",
    "gain_learning_update",
    "gradient_norms_figure",
    "gradient_norms_update",
    "invariance_figure",
    "invariance_update",
    "model_marker",
    "model_style",
    "norm_growth_figure",
    "norm_growth_update",
    "pooled_entries_figure",
    "pooled_entries_update",
    "pooling_figure",
    "pooling_update",
    "read_at",
    "recentering_figure",
    "recentering_update",
    "step_statistics_figure",
    "step_statistics_update",
    "table_figure",
    "target_loss_figure",
    "target_loss_update",
    "weight_plane_figure",
    "weight_plane_update",
]
