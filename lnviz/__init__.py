"""lnviz: interactive teaching notebooks on Layer Normalization (Ba, Kiros and Hinton, 2016).

The models live here (the training loop is `lnviz.train.train`, the data `lnviz.data`). Figures
(`lnviz.figures`) and panels (`lnviz.panels`) import plotly and ipywidgets and are imported on their
own, so that the models never depend on them.
"""

from lnviz import functional
from lnviz.models import MLP
from lnviz.norms import BatchNorm, LayerNorm, RMSNorm, WeightNormLinear
from lnviz.recurrent import Recurrent, Trace
from lnviz.rnn import CellInternals, GRUCell, LSTMCell, RNNCell, StepwiseBatchNorm, saturated_fraction

__version__ = "0.1.0"

__all__ = [
    "BatchNorm", "LayerNorm", "RMSNorm", "WeightNormLinear", "functional",
    "RNNCell", "LSTMCell", "GRUCell", "StepwiseBatchNorm", "CellInternals", "saturated_fraction", "Recurrent", "Trace",
    "MLP",
]
