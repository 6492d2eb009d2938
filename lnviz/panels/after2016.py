"""Panels of notebook 08: RMS norm against re-centering, post-LN versus pre-LN, and where eps goes."""

from __future__ import annotations

import ipywidgets as widgets
import torch

from lnviz import after2016
from lnviz.figures import Update
from lnviz.figures import after2016 as figures
from lnviz.nn.transformer import BLOCK_NORMS
from lnviz.panels.base import STYLE, Panel, slider
from lnviz.style import METHOD_NAMES


class RecenteringPanel(Panel):
    """Shift and scale one case's summed inputs: LN's output never moves, RMS norm's moves with the shift."""

    def __init__(self, shift: float = 1.0, n_hidden: int = 16, seed: int = 0):
        """shift: the initial shift c. Not 0: the pattern has mean 0, so at c = 0 the two outputs coincide
        and the figure would hide what the lesson is about until the slider moves."""
        self.n_hidden, self.seed = n_hidden, seed
        controls = {
            "shift": slider(widgets.FloatSlider, "shift c", min=-5.0, max=5.0, value=shift, step=0.1),
            "scale": slider(widgets.FloatLogSlider, "scale", base=10, min=-1, max=1, value=1.0, step=0.05),
        }
        self.controls = controls
        self._assemble(figures.recentering_figure(self._numbers()), controls)

    def _numbers(self) -> after2016.Recentering:
        shift, scale = self.controls["shift"].value, self.controls["scale"].value
        return after2016.recentering(shift, scale, self.n_hidden, self.seed)

    def compute(self) -> Update:
        return figures.recentering_update(self._numbers())


class NormPositionPanel(Panel):
    """Gradient norm of every layer's feed-forward weights at initialization, post-LN beside pre-LN.

    Each setting builds and differentiates two fresh Transformers, too slow to follow a dragged
    slider, so the sliders act on release, and every setting seen is cached.
    """

    def __init__(self, n_layers: int = 12, d_model: int = 32, norm: str = "layer", seed: int = 0):
        self._cache: dict[tuple, after2016.GradientProfiles] = {}
        controls = {
            "n_layers": slider(widgets.IntSlider, "layers L", min=2, max=12, value=n_layers, continuous_update=False),
            "d_model": slider(
                widgets.SelectionSlider, "width d_model", options=[16, 32, 64], value=d_model, continuous_update=False
            ),
            "norm": widgets.Dropdown(
                options=[(METHOD_NAMES[n], n) for n in BLOCK_NORMS],
                value=norm,
                description="normalization",
                style=STYLE,
            ),
            "seed": slider(widgets.IntSlider, "initialization seed", min=0, max=9, value=seed, continuous_update=False),
        }
        self.controls = controls
        self._assemble(figures.gradient_norms_figure(self._numbers(), max_layers=controls["n_layers"].max), controls)

    def _numbers(self) -> after2016.GradientProfiles:
        key = tuple(self.controls[k].value for k in ("n_layers", "d_model", "norm", "seed"))
        if key not in self._cache:
            self._cache[key] = after2016.gradient_profiles(*key)
        return self._cache[key]

    def compute(self) -> Update:
        return figures.gradient_norms_update(self._numbers())


class EpsConventionPanel(Panel):
    """Shrink one case's variance and watch each framework's eps convention take over from the data."""

    #: the variances at which the curves on the right are drawn: 1e-9 to 10
    VARIANCES = torch.logspace(-9, 1, 81, dtype=torch.float64)

    def __init__(self, variance: float = 1e-5, n_hidden: int = 16, seed: int = 0):
        self.n_hidden, self.seed = n_hidden, seed
        self._curves = after2016.variance_sweep(self.VARIANCES, n_hidden, seed)
        controls = {
            "variance": slider(
                widgets.FloatLogSlider,
                "variance of a",
                base=10,
                min=-8,
                max=0,
                value=variance,
                step=0.25,
                readout_format=".0e",
            ),
        }
        self.controls = controls
        self._assemble(figures.eps_conventions_figure(self._numbers()), controls)

    def _numbers(self) -> after2016.EpsView:
        variance = self.controls["variance"].value
        return after2016.eps_view(variance, self.VARIANCES, self._curves, self.n_hidden, self.seed)

    def compute(self) -> Update:
        return figures.eps_conventions_update(self._numbers())
