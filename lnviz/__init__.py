"""lnviz: interactive teaching notebooks on Layer Normalization (Ba, Kiros and Hinton, 2016).

The models live in `lnviz.nn` and are re-exported here; the training loop is `lnviz.train.train`, the
data `lnviz.data`. Each lesson's numbers are in a module named with the lesson's stem
(`lnviz.invariance` for lesson 2); its figures and panels in `lnviz.figures.<stem>` and
`lnviz.panels.<stem>`, which import plotly and ipywidgets and are imported on their own, so that the
models never depend on them.
"""

from lnviz.nn import (
    MLP,
    BatchNorm,
    CellInternals,
    GRUCell,
    LayerNorm,
    LSTMCell,
    Recurrent,
    RMSNorm,
    RNNCell,
    StepwiseBatchNorm,
    Trace,
    WeightNormLinear,
    functional,
    saturated_fraction,
)

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "BatchNorm",
    "CellInternals",
    "GRUCell",
    "LSTMCell",
    "LayerNorm",
    "RMSNorm",
    "RNNCell",
    "Recurrent",
    "StepwiseBatchNorm",
    "Trace",
    "WeightNormLinear",
    "functional",
    "saturated_fraction",
]
