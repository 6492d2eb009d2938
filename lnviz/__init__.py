"""lnviz: interactive teaching notebooks on Layer Normalization (Ba, Kiros and Hinton, 2016).

The models and numbers live here; figures (`lnviz.figures`) and panels (`lnviz.panels`) import plotly
and ipywidgets and are imported on their own, so that the models never depend on them.
"""

from lnviz import functional
from lnviz.norms import BatchNorm, LayerNorm, RMSNorm, WeightNormLinear

__version__ = "0.1.0"

__all__ = ["BatchNorm", "LayerNorm", "RMSNorm", "WeightNormLinear", "functional"]
