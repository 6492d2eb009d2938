"""Panel of lesson 2: Table 1 live, one method and one transformation at a time."""

from __future__ import annotations

import ipywidgets as widgets

from lnviz import figures, invariance
from lnviz.figures import Update
from lnviz.panels.base import STYLE, Panel, slider
from lnviz.style import METHOD_NAMES

__all__ = ["InvariancePanel"]


class InvariancePanel(Panel):
    """Table 1 live: pick a method and a transformation, move its magnitude, watch h before and after."""

    #: magnitudes at which the deviation curves on the right are drawn
    MAGNITUDES: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(21))

    def __init__(self, method: str = "layer", transformation: str = "weight_matrix_recentering", seed: int = 0):
        self.seed = seed
        # all curves up front, once: switching the transformation then costs no computation
        self._curves = {t: invariance.deviation_curves(t, self.MAGNITUDES, seed) for t in invariance.TRANSFORMATIONS}
        controls = {
            "method": widgets.Dropdown(
                options=[(METHOD_NAMES[m], m) for m in invariance.METHODS],
                value=method,
                description="method",
                style=STYLE,
            ),
            "transformation": widgets.Dropdown(
                options=[(t.replace("_", " "), t) for t in invariance.TRANSFORMATIONS],
                value=transformation,
                description="transformation",
                style=STYLE,
                layout=widgets.Layout(width="420px"),
            ),
            "magnitude": slider(widgets.FloatSlider, "magnitude", min=0.0, max=2.0, value=1.0, step=0.05),
        }
        self.controls = controls
        self._assemble(figures.invariance_figure(self._numbers()), controls)

    def _numbers(self) -> invariance.InvarianceView:
        method, transformation, magnitude = (self.controls[k].value for k in ("method", "transformation", "magnitude"))
        return invariance.invariance_view(
            method, transformation, magnitude, self.MAGNITUDES, self._curves[transformation], self.seed
        )

    def compute(self) -> Update:
        return figures.invariance_update(self._numbers())
