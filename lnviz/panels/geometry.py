"""Panels of notebook 06: the gradient on a normalized layer's weights, their growth, and learning the gain."""

from __future__ import annotations

import ipywidgets as widgets
import torch

from lnviz import geometry
from lnviz.figures import geometry as figures
from lnviz.figures.core import Update
from lnviz.panels.base import Panel, slider

__all__ = ["GainLearningPanel", "NormGrowthPanel", "WeightPlanePanel"]


class WeightPlanePanel(Panel):
    """The loss of a layer-normalized layer over a plane of weight matrices, with w, its gradient and
    the step a learning rate takes drawn on it. Each update needs only closed-form gradients
    (`Plane.loss_and_gradient`) on a small data set, but plotly redraws the whole figure, the loss
    contour with it, for any change: longer than a moving slider can wait
    (benchmarks/bench_browser_latency.py), so the sliders act on release and the panel says "updating…"."""

    #: ||w|| at which the curves on the right are measured: the slider's range.
    LENGTHS = torch.logspace(-2, 2, 41, base=2, dtype=torch.float64)
    #: how many steps of gradient descent from w are drawn
    PATH_STEPS = 20

    def __init__(self, norm: float = 1.0, degrees: float = 90.0, lr: float = 0.3, seed: int = 0):
        self.plane = geometry.Plane.through_teacher(geometry.make_teacher(seed=seed), seed=seed)
        self._sweeps: dict[tuple[float, float], tuple[torch.Tensor, torch.Tensor]] = {}
        # twice the plane first shown, at the same grid spacing: from the shortest w the slider allows, a
        # step at the largest learning rate lands past 7, and the axes widen to show it (`plane_extent`)
        landscape = geometry.landscape(self.plane, extent=2 * figures.PLANE_EXTENT, points=96)
        controls = {
            # steps of 2^0.1: the grid holds 0.25, 0.5, 1, 2 and 4, and one key press moves the slider by
            # 0.1 in its exponent, which the handle's aria-valuenow (one decimal) shows, unlike 0.05
            "norm": slider(
                widgets.FloatLogSlider, "||w||", base=2, min=-2, max=2, step=0.1, value=norm, continuous_update=False
            ),
            "degrees": slider(
                widgets.FloatSlider,
                "angle from teacher (°)",
                min=-180,
                max=180,
                step=5,
                value=degrees,
                continuous_update=False,
            ),
            # linear, so that 0.3 lies on the grid: a log slider would snap it in the browser
            "lr": slider(
                widgets.FloatSlider,
                "learning rate",
                min=0.01,
                max=1.0,
                step=0.01,
                value=lr,
                continuous_update=False,
            ),
        }
        self.controls = controls
        view = self._numbers()
        self._drawn = figures.weight_plane_update(view)  # what the figure shows now
        self._assemble(figures.weight_plane_figure(landscape, view), controls)

    def _numbers(self) -> geometry.PlaneView:
        length, degrees, lr = (self.controls[k].value for k in ("norm", "degrees", "lr"))
        # the curves against ||w|| do not depend on ||w||: moving that slider reuses them
        if (degrees, lr) not in self._sweeps:
            self._sweeps[(degrees, lr)] = geometry.length_sweep(self.plane, degrees, lr, self.LENGTHS)
        return geometry.plane_view(
            self.plane, length, degrees, lr, self.LENGTHS, self.PATH_STEPS, self._sweeps[(degrees, lr)]
        )

    def compute(self) -> Update:
        return figures.weight_plane_update(self._numbers())

    def _on_change(self, change: dict) -> None:
        # Send only the properties that changed: plotly validates and compares every array it is given,
        # changed or not, and each slider leaves some alone (the learning rate moves neither
        # the circle nor w, ||w|| neither curve on the right).
        self._redraw()


class NormGrowthPanel(Panel):
    """Plain SGD on the whole weight matrix of a layer-normalized layer, with and without weight decay:
    ||W|| and the angle each step turns W by, step by step. Each setting trains both runs afresh,
    too slow to follow a dragged slider, so the sliders act on release."""

    def __init__(
        self, lr: float = 1.0, init_norm: float = 1.0, weight_decay: float = 0.01, steps: int = 200, seed: int = 0
    ):
        self.task, self.steps, self.seed = geometry.make_teacher(seed=seed), steps, seed
        controls = {
            "lr": slider(
                widgets.FloatLogSlider,
                "learning rate",
                base=10,
                min=-1,
                max=1,
                step=0.1,
                value=lr,
                continuous_update=False,
            ),
            "init_norm": slider(
                widgets.FloatLogSlider,
                "initial ||W||",
                base=10,
                min=-1,
                max=1,
                step=0.1,
                value=init_norm,
                continuous_update=False,
            ),
            # at most 0.03, so that lr * weight decay < 1 and the decay never flips W's sign
            "weight_decay": slider(
                widgets.FloatLogSlider,
                "weight decay",
                base=10,
                min=-3,
                max=-1.5,
                step=0.1,
                value=weight_decay,
                continuous_update=False,
                readout_format=".3f",
            ),
        }
        self.controls = controls
        self._assemble(figures.norm_growth_figure(self._runs()), controls)

    def _runs(self) -> list[geometry.SGDRun]:
        c = {k: w.value for k, w in self.controls.items()}
        return geometry.grow(
            self.task,
            lr=c["lr"],
            init_norm=c["init_norm"],
            weight_decay=(0.0, c["weight_decay"]),
            steps=self.steps,
            seed=self.seed,
        )

    def compute(self) -> Update:
        return figures.norm_growth_update(self._runs())


class GainLearningPanel(Panel):
    """Rescale the inputs and learn the units' magnitudes by gradient descent: the gain of a
    layer-normalized unit, or the length of a plain unit's weights. Each update runs gradient descent
    for both, too slow to follow a dragged slider, so the sliders act on release."""

    #: the input scales of the curve on the left: the slider's range
    SCALES = torch.logspace(-2, 2, 41, dtype=torch.float64)

    def __init__(self, scale: float = 1.0, lr: float = 1.0, steps: int = 60, seed: int = 0):
        self.task, self.steps = geometry.gain_task(seed=seed), steps
        self.sweep = geometry.gain_gradient_sweep(self.task, self.SCALES)
        controls = {
            "scale": slider(
                widgets.FloatLogSlider,
                "input scale c",
                base=10,
                min=-2,
                max=2,
                step=0.1,
                value=scale,
                continuous_update=False,
            ),
            "lr": slider(
                widgets.FloatLogSlider,
                "learning rate",
                base=10,
                min=-2,
                max=1,
                step=0.1,
                value=lr,
                continuous_update=False,
            ),
        }
        self.controls = controls
        self._assemble(figures.gain_learning_figure(self._numbers()), controls)

    def _numbers(self) -> geometry.GainLearning:
        scale, lr = self.controls["scale"].value, self.controls["lr"].value
        return geometry.gain_learning(self.task, scale, lr, self.SCALES, self.steps, self.sweep)

    def compute(self) -> Update:
        return figures.gain_learning_update(self._numbers())
