"""Panels of notebooks 1 and 2: batch vs layer norm, and Table 1 live."""

from __future__ import annotations

import ipywidgets as widgets

from lnviz import batch_vs_layer as bvl
from lnviz import figures, invariance
from lnviz.figures import Update
from lnviz.panels.base import STYLE, Panel, slider
from lnviz.style import METHOD_NAMES


class PoolingPanel(Panel):
    """Which entries of the batch x hidden-units array share a mean and a std, under BN and under LN."""

    def __init__(self, n_cases: int = 8, n_hidden: int = 12, seed: int = 0):
        self.a = bvl.summed_inputs(n_cases, n_hidden, seed)
        controls = {
            "method": widgets.ToggleButtons(options=[(METHOD_NAMES[m], m) for m in bvl.POOLING_METHODS],
                                            value="batch", description="normalization", style=STYLE),
            "case": slider(widgets.IntSlider, "case n", min=0, max=n_cases - 1, value=2),
            "unit": slider(widgets.IntSlider, "hidden unit i", min=0, max=n_hidden - 1, value=5),
        }
        self.controls = controls
        self._assemble(figures.pooling_figure(*self._numbers()), controls)

    def _numbers(self):
        method, case, unit = (self.controls[k].value for k in ("method", "case", "unit"))
        mask = bvl.pooled_mask(method, tuple(self.a.shape), case, unit)
        return self.a, mask, case, unit, method, bvl.pooled_stats(self.a, mask)

    def compute(self) -> Update:
        return figures.pooling_update(*self._numbers())


class BatchDependencePanel(Panel):
    """One case's batch-norm output across random mini-batches, against the batch size; LN beside it."""

    def __init__(self, n_draws: int = 100, n_hidden: int = 8, seed: int = 0):
        self.sizes = bvl.BATCH_SIZES
        # every batch size up front (a few ms each): the curve needs them all, and moving the slider
        # is then only a figure update
        self.runs = bvl.dependence_curve(self.sizes, n_draws=n_draws, n_hidden=n_hidden, seed=seed)
        self.spreads = [r.spread for r in self.runs.values()]
        self.gaps = [r.train_eval_gap for r in self.runs.values()]
        controls = {
            "batch_size": slider(widgets.SelectionSlider, "batch size B", options=list(self.sizes), value=32),
        }
        self.controls = controls
        self._assemble(figures.batch_dependence_figure(self._dependence(), self.sizes, self.spreads, self.gaps),
                       controls)

    def _dependence(self) -> bvl.BatchDependence:
        return self.runs[self.controls["batch_size"].value]

    def compute(self) -> Update:
        return figures.batch_dependence_update(self._dependence(), self.sizes, self.spreads, self.gaps)


class GainBiasPanel(Panel):
    """Layer norm of one case: shift and scale the input (nothing moves), then the gain and bias (it does)."""

    def __init__(self, n_hidden: int = 16, seed: int = 3):
        self.a0 = bvl.summed_inputs(1, n_hidden, seed)[0]
        controls = {
            "input_scale": slider(widgets.FloatLogSlider, "input scale", base=10, min=-1, max=0.5, value=1.0, step=0.05),
            "input_shift": slider(widgets.FloatSlider, "input shift", min=-5, max=5, value=0.0, step=0.1),
            "gain": slider(widgets.FloatSlider, "gain g", min=-3, max=3, value=1.0, step=0.05),
            "bias": slider(widgets.FloatSlider, "bias b", min=-3, max=3, value=0.0, step=0.05),
        }
        self.controls = controls
        self._assemble(figures.gain_bias_figure(*self._numbers()), controls)

    def _numbers(self):
        c = {k: w.value for k, w in self.controls.items()}
        a = c["input_scale"] * self.a0 + c["input_shift"]
        return a, bvl.layer_norm_case(a, c["gain"], c["bias"]), c["gain"], c["bias"]

    def compute(self) -> Update:
        return figures.gain_bias_update(*self._numbers())


class InvariancePanel(Panel):
    """Table 1 live: pick a method and a transformation, move its magnitude, watch h before and after."""

    #: magnitudes at which the deviation curves on the right are drawn
    MAGNITUDES: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(21))

    def __init__(self, method: str = "layer", transformation: str = "weight_matrix_recentering", seed: int = 0):
        self.seed = seed
        # all curves up front (about 0.4 s): switching the transformation then costs no computation
        self._curves = {t: invariance.deviation_curves(t, self.MAGNITUDES, seed) for t in invariance.TRANSFORMATIONS}
        controls = {
            "method": widgets.Dropdown(options=[(METHOD_NAMES[m], m) for m in invariance.METHODS],
                                       value=method, description="method", style=STYLE),
            "transformation": widgets.Dropdown(options=[(t.replace("_", " "), t) for t in invariance.TRANSFORMATIONS],
                                               value=transformation, description="transformation", style=STYLE,
                                               layout=widgets.Layout(width="420px")),
            "magnitude": slider(widgets.FloatSlider, "magnitude", min=0.0, max=2.0, value=1.0, step=0.05),
        }
        self.controls = controls
        self._assemble(figures.invariance_figure(*self._numbers()), controls)

    def _numbers(self):
        method, transformation, magnitude = (self.controls[k].value for k in ("method", "transformation", "magnitude"))
        comparison = invariance.compare(method, transformation, magnitude, self.seed)
        return comparison, method, transformation, magnitude, self.MAGNITUDES, self._curves[transformation]

    def compute(self) -> Update:
        update = figures.invariance_update(*self._numbers())
        update.traces.append({})  # the fixed diagonal
        return update
