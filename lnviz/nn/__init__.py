"""The models: every torch module of lnviz and its functional form. Imports neither plotly nor ipywidgets.

- `functional`: batch, layer, RMS and weight norm written out as the papers' equations;
- `norms`: `LayerNorm`, `BatchNorm`, `RMSNorm`, `WeightNormLinear`, drop-ins for torch's modules;
- `cells`: `RNNCell`, `LSTMCell`, `GRUCell` with norm="none" | "batch" | "layer";
- `recurrent`: `Recurrent`, which runs a cell over a sequence; `bptt`, its fast path for LSTMs;
- `models`: `MLP` and the sequence models; `convnet`: `ConvNet`; `transformer`: `TinyTransformer`.
"""

from lnviz.nn import functional
from lnviz.nn.cells import (
    CELLS,
    NORMS,
    CellInternals,
    GRUCell,
    LSTMCell,
    RNNCell,
    StepwiseBatchNorm,
    saturated_fraction,
)
from lnviz.nn.convnet import ConvNet
from lnviz.nn.models import MLP, SequenceClassifier, SequenceRegressor
from lnviz.nn.norms import BatchNorm, LayerNorm, RMSNorm, WeightNormLinear
from lnviz.nn.recurrent import Recurrent, Trace
from lnviz.nn.transformer import TinyTransformer, TransformerBlock

__all__ = [
    "CELLS",
    "MLP",
    "NORMS",
    "BatchNorm",
    "CellInternals",
    "ConvNet",
    "GRUCell",
    "LSTMCell",
    "LayerNorm",
    "RMSNorm",
    "RNNCell",
    "Recurrent",
    "SequenceClassifier",
    "SequenceRegressor",
    "StepwiseBatchNorm",
    "TinyTransformer",
    "Trace",
    "TransformerBlock",
    "WeightNormLinear",
    "functional",
    "saturated_fraction",
]
