"""Panels: ipywidgets controls wired to one plotly FigureWidget each, updated in place.

See `lnviz.panels.base.Panel`. One module per topic; every panel is re-exported here, so that
`from lnviz.panels import InvariancePanel` works and the tests find every Panel subclass.
"""

from lnviz.panels.base import PANEL_CLASS, Panel
from lnviz.panels.basics import BatchDependencePanel, GainBiasPanel, InvariancePanel, PoolingPanel
from lnviz.panels.dynamics import DynamicsPanel, StepStatisticsPanel
from lnviz.panels.after2016 import EpsConventionPanel, NormPositionPanel, RecenteringPanel
from lnviz.panels.geometry import GainLearningPanel, NormGrowthPanel, WeightPlanePanel
from lnviz.panels.training import BatchSizePanel, RNNTrainingPanel, TrainingPanel
from lnviz.panels.convnets import BorderPanel, ConvTrainingPanel, PooledEntriesPanel

__all__ = ["PANEL_CLASS", "Panel", "BatchDependencePanel", "GainBiasPanel", "InvariancePanel", "PoolingPanel",
           "DynamicsPanel", "StepStatisticsPanel",
           "EpsConventionPanel", "NormPositionPanel", "RecenteringPanel",
           "GainLearningPanel", "NormGrowthPanel", "WeightPlanePanel",
           "BatchSizePanel", "RNNTrainingPanel", "TrainingPanel", "BorderPanel", "ConvTrainingPanel", "PooledEntriesPanel"]
