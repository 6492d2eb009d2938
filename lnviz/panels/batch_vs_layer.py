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
        self._assemble(figures.pooling_figure(self._numbers()), controls)

    def _numbers(self) -> bvl.PooledEntry:
        method, case, unit = (self.controls[k].value for k in ("method", "case", "unit"))
        return bvl.pooled_entry(self.a, method, case, unit)

    def compute(self) -> Update:
        return figures.pooling_update(self._numbers())


class BatchDependencePanel(Panel):
    """One case's batch-norm output across random mini-batches, against the batch size; LN beside it."""

    def __init__(self, n_draws: int = 100, n_hidden: int = 8, seed: int = 0):
        # every batch size up front (each is one vectorized computation over the draws): the curve needs
        # them all, and moving the slider is then only a figure update
        self.curve = bvl.dependence_curve(bvl.BATCH_SIZES, n_draws=n_draws, n_hidden=n_hidden, seed=seed)
        controls = {
            # on release: redrawing the 800 dots takes plotly longer than a moving slider can wait
            # (benchmarks/bench_browser_latency.py); the panel says "updating…" meanwhile
            "batch_size": slider(
                widgets.SelectionSlider,
                "batch size B",
                options=list(self.curve.sizes),
                value=32,
                continuous_update=False,
            ),
        }
        self.controls = controls
        self._assemble(figures.batch_dependence_figure(self.curve, controls["batch_size"].value), controls)

    def compute(self) -> Update:
        return figures.batch_dependence_update(self.curve, self.controls["batch_size"].value)


class GainBiasPanel(Panel):
    """Layer norm of one case: shift and scale the input (nothing moves), then the gain and bias (it does)."""

    def __init__(self, n_hidden: int = 16, seed: int = 3):
        self.a0 = bvl.summed_inputs(1, n_hidden, seed)[0]
        controls = {
            "input_scale": slider(
                widgets.FloatLogSlider, "input scale", base=10, min=-1, max=0.5, value=1.0, step=0.05
            ),
            "input_shift": slider(widgets.FloatSlider, "input shift", min=-5, max=5, value=0.0, step=0.1),
            "gain": slider(widgets.FloatSlider, "gain g", min=-3, max=3, value=1.5, step=0.05),
            "bias": slider(widgets.FloatSlider, "bias b", min=-3, max=3, value=0.5, step=0.05),
        }
        self.controls = controls
        self._assemble(figures.gain_bias_figure(self._numbers()), controls)

    def _numbers(self) -> bvl.GainBiasCase:
        c = {k: w.value for k, w in self.controls.items()}
        return bvl.gain_bias_case(self.a0, c["gain"], c["bias"], c["input_scale"], c["input_shift"])

    def compute(self) -> Update:
        return figures.gain_bias_update(self._numbers())
