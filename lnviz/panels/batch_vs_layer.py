"""Panels of lesson 1: which entries are pooled, batch norm's dependence on its batch, gain and bias."""

from __future__ import annotations

import ipywidgets as widgets

from lnviz import batch_vs_layer as bvl
from lnviz import figures
from lnviz.figures import Update
from lnviz.panels.base import STYLE, Panel, slider
from lnviz.style import METHOD_NAMES

__all__ = ["BatchDependencePanel", "GainBiasPanel", "PoolingPanel"]


class PoolingPanel(Panel):
    """Which entries of the batch x hidden-units array share a mean and a std, under BN and under LN."""

    def __init__(self, n_cases: int = 8, n_hidden: int = 12, seed: int = 0):
        self.a = bvl.summed_inputs(n_cases, n_hidden, seed)
        controls = {
            "method": widgets.ToggleButtons(
                options=[(METHOD_NAMES[m], m) for m in bvl.POOLING_METHODS],
                value="batch",
                description="normalization",
                style=STYLE,
            ),
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
        self._assemble(
            figures.batch_dependence_figure(self._dependence(), self.sizes, self.spreads, self.gaps), controls
        )

    def _dependence(self) -> bvl.BatchDependence:
        return self.runs[self.controls["batch_size"].value]

    def compute(self) -> Update:
        return figures.batch_dependence_update(self._dependence(), self.sizes, self.spreads, self.gaps)


class GainBiasPanel(Panel):
    """Layer norm of one case: shift and scale the input (nothing moves), then the gain and bias (it does)."""

    def __init__(self, n_hidden: int = 16, seed: int = 3):
        self.a0 = bvl.summed_inputs(1, n_hidden, seed)[0]
        controls = {
            "input_scale": slider(
                widgets.FloatLogSlider, "input scale", base=10, min=-1, max=0.5, value=1.0, step=0.05
            ),
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
