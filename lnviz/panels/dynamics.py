"""Panels of notebook 3: the hidden-state dynamics of recurrent nets, and recurrent batch norm's statistics."""

from __future__ import annotations

import ipywidgets as widgets

from lnviz import dynamics
from lnviz.figures.core import Update
from lnviz.figures.dynamics import dynamics_figure, dynamics_update, step_statistics_figure, step_statistics_update
from lnviz.panels.base import STYLE, Panel, slider

_CELL_OPTIONS = [("vanilla RNN (tanh)", "rnn"), ("LSTM", "lstm"), ("GRU", "gru")]


class DynamicsPanel(Panel):
    """The same random recurrent net with no normalization, layer norm and recurrent batch norm:
    move the recurrent weights' spectral radius, the input scale and the length, watch the per-step
    statistics and the gradient flowing back through time. Each update runs three nets forward and
    backward, too slow to follow a dragged slider, so the sliders update on release."""

    def __init__(
        self,
        kind: str = "lstm",
        spectral_radius: float = 1.0,
        input_scale: float = 1.0,
        length: int = 100,
        seed: int = 0,
    ):
        self.seed = seed
        self.controls = {
            "kind": widgets.Dropdown(options=_CELL_OPTIONS, value=kind, description="cell", style=STYLE),
            "spectral_radius": slider(
                widgets.FloatSlider,
                "spectral radius",
                tooltip="spectral radius of the recurrent weights W_hh",
                min=0.5,
                max=2.0,
                step=0.05,
                value=spectral_radius,
                continuous_update=False,
            ),
            "input_scale": slider(
                widgets.FloatLogSlider,
                "input scale",
                base=10,
                min=-2,
                max=1,
                step=0.1,
                value=input_scale,
                continuous_update=False,
            ),
            "length": slider(
                widgets.IntSlider, "sequence length", min=10, max=300, step=10, value=length, continuous_update=False
            ),
        }
        self._assemble(dynamics_figure(self._runs()), self.controls)

    def _runs(self) -> dict[str, dynamics.Dynamics]:
        c = {k: w.value for k, w in self.controls.items()}
        return dynamics.simulate_all(
            kind=c["kind"],
            spectral_radius=c["spectral_radius"],
            input_scale=c["input_scale"],
            length=c["length"],
            seed=self.seed,
        )

    def compute(self) -> Update:
        return dynamics_update(self._runs())


class StepStatisticsPanel(Panel):
    """Recurrent batch norm on MNIST digits read row by row: train its per-step statistics on the
    first rows only, then test on whole digits; see the statistics run out."""

    def __init__(self, train_length: int = 14, kind: str = "rnn", seed: int = 0):
        self.seed = seed
        self.controls = {
            "kind": widgets.Dropdown(options=_CELL_OPTIONS, value=kind, description="cell", style=STYLE),
            "train_length": slider(
                widgets.IntSlider,
                "training rows",
                tooltip="training length: the first rows of each digit that the statistics are estimated on",
                min=1,
                max=28,
                value=train_length,
                continuous_update=False,
            ),
        }
        self._assemble(step_statistics_figure(self._stats()), self.controls)

    def _stats(self) -> dynamics.StepStatistics:
        return dynamics.batch_norm_step_statistics(
            self.controls["train_length"].value, kind=self.controls["kind"].value, seed=self.seed
        )

    def compute(self) -> Update:
        return step_statistics_update(self._stats())
