"""Panels: ipywidgets controls wired to one plotly FigureWidget each, updated in place.

See `lnviz.panels.base` for the contract. One module per lesson, named with the lesson's stem
(`lnviz.panels.geometry` for lesson 6); every panel is re-exported here, so that
`from lnviz.panels import InvariancePanel` works.
"""

from lnviz.panels.after2016 import EpsConventionPanel, NormPositionPanel, RecenteringPanel
from lnviz.panels.base import PANEL_CLASS, Panel
from lnviz.panels.batch_size import BatchSizePanel
from lnviz.panels.batch_vs_layer import BatchDependencePanel, GainBiasPanel, PoolingPanel
from lnviz.panels.convnets import BorderPanel, ConvTrainingPanel, PooledEntriesPanel
from lnviz.panels.dynamics import DynamicsPanel, StepStatisticsPanel
from lnviz.panels.geometry import GainLearningPanel, NormGrowthPanel, WeightPlanePanel
from lnviz.panels.invariance import InvariancePanel
from lnviz.panels.rnn_training import RNNTrainingPanel
from lnviz.panels.training import TrainingPanel

__all__ = [
    "PANEL_CLASS",
    "BatchDependencePanel",
    "BatchSizePanel",
    "BorderPanel",
    "ConvTrainingPanel",
    "DynamicsPanel",
    "EpsConventionPanel",
    "GainBiasPanel",
    "GainLearningPanel",
    "InvariancePanel",
    "NormGrowthPanel",
    "NormPositionPanel",
    "Panel",
    "PooledEntriesPanel",
    "PoolingPanel",
    "RNNTrainingPanel",
    "RecenteringPanel",
    "StepStatisticsPanel",
    "TrainingPanel",
    "WeightPlanePanel",
]
