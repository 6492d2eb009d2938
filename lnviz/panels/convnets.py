"""Panels of notebook 7: what each method pools in a convolutional layer, the four nets trained, and
the border statistics of their first layer."""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets
import torch

from lnviz import convnets
from lnviz.figures.convnets import (
    CONV_METRICS,
    border_figure,
    border_update,
    conv_training_figure,
    conv_training_update,
    pooled_entries_figure,
    pooled_entries_update,
)
from lnviz.figures.core import Update
from lnviz.panels.base import STYLE, Panel, slider
from lnviz.panels.training import TrainingPanel, toggles
from lnviz.style import METHOD_NAMES
from lnviz.train import History

__all__ = ["BorderPanel", "ConvTrainingPanel", "PooledEntriesPanel"]


class PooledEntriesPanel(Panel):
    """A mini-batch of the first layer's summed inputs, (N, C, H, W) drawn as N x C small maps: pick a
    method and an entry, see which maps it is normalized with and what it becomes."""

    def __init__(self, n_cases: int = 4, seed: int = 0, entry: tuple[int, int, int, int] = (0, 2, 3, 3)):
        """n_cases: digits in the mini-batch; entry: the initial (case, channel, row, col)."""
        self.a = convnets.sample_summed_inputs(n_cases, seed)
        n, c, h, w = self.a.shape
        case, channel, row, col = entry
        self.controls = {
            "method": toggles("normalization", [(METHOD_NAMES[m], m) for m in convnets.POOLING_METHODS], "layer"),
            "case": slider(widgets.IntSlider, "digit n", min=0, max=n - 1, value=case),
            "channel": slider(widgets.IntSlider, "channel c", min=0, max=c - 1, value=channel),
            "row": slider(widgets.IntSlider, "row", min=0, max=h - 1, value=row),
            "col": slider(widgets.IntSlider, "column", min=0, max=w - 1, value=col),
            "groups": slider(
                widgets.SelectionSlider,
                "group norm: groups",
                options=[g for g in range(1, c + 1) if c % g == 0],
                value=4 if c % 4 == 0 else 1,
            ),
        }
        self._assemble(pooled_entries_figure(self._pooling()), self.controls)

    def _pooling(self) -> convnets.Pooling:
        v = {k: w.value for k, w in self.controls.items()}
        return convnets.pooling(self.a, v["method"], (v["case"], v["channel"], v["row"], v["col"]), v["groups"])

    def compute(self) -> Update:
        return pooled_entries_update(self._pooling())


class BorderPanel(Panel):
    """The first layer's border statistics for each net: how often each position turns on, the spread
    of the summed inputs by distance to the edge against layer norm's sigma, and sigma digit by digit.

    models: method -> ConvNet (typically the nets `ConvTrainingPanel` trained); by default four fresh
    nets, initialized one after the other from `seed`. The statistics are computed up front on the
    first `n_images` test digits, so the controls only redraw.
    """

    def __init__(self, models: Mapping[str, convnets.ConvNet] | None = None, n_images: int = 300, seed: int = 0):
        if models is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                models = {m: convnets.ConvNet(m) for m in convnets.METHODS}
        if not models:
            raise ValueError("BorderPanel expected at least one model, got none")
        images = convnets.conv_data().x_test[:n_images]
        self.stats = {m: convnets.border_statistics(model, images) for m, model in models.items()}
        channels = next(iter(self.stats.values())).active.shape[0]
        self.controls = {
            "net": toggles("net", [(METHOD_NAMES[m], m) for m in self.stats], next(iter(self.stats))),
            # -1 for all channels: a Dropdown's None means "nothing selected", drawn as a blank box
            "channel": widgets.Dropdown(
                options=[("all", -1)] + [(str(c), c) for c in range(channels)],
                value=-1,
                description="channel",
                style=STYLE,
            ),
        }
        self._assemble(border_figure(self._numbers(), self._channel()), self.controls)

    def _numbers(self) -> convnets.BorderStatistics:
        return self.stats[self.controls["net"].value]

    def _channel(self) -> int | None:
        """The channel shown, or None for the mean over all channels (the control's -1)."""
        channel = self.controls["channel"].value
        return None if channel < 0 else channel

    def compute(self) -> Update:
        return border_update(self._numbers(), self._channel())


class ConvTrainingPanel(TrainingPanel):
    """The small ConvNet with no normalization, batch, layer and group norm, trained one after the other
    with the same seed (same initial random state, same mini-batches in the same order).

    The figure: the training loss with a target loss (after a run, the unnormalized net's final loss),
    where each net first reaches it, and a second metric, against steps or seconds. `histories` maps
    each method to its History once trained; the trained models are `histories[method].model`.
    """

    DEFAULTS = dict(steps=60, batch_size=32, lr=3e-3, num_groups=4, seed=0)
    #: The target losses the slider offers, 10^-2 to 10^0.5 in steps of a factor 10^0.1; after a run, the
    #: unnormalized net's final loss joins them.
    TARGETS = tuple(10 ** (k / 10) for k in range(-20, 6))
    #: Records per run, and test digits scored at each: enough for smooth curves in a short run.
    RECORDS = 10
    VAL_SIZE = 200

    def __init__(self, val_size: int = VAL_SIZE, **defaults: object) -> None:
        """defaults: initial values of the settings (keys of `DEFAULTS`); val_size: test digits scored at
        each record."""
        d = self._defaults(defaults)
        self.val_size = val_size
        self.histories: dict[str, History | None] = dict.fromkeys(convnets.METHODS)
        controls = {
            "target": self._target_control(self.TARGETS[17]),  # 10^-0.3, about 0.5
            "metric": toggles("right plot", [(v, k) for k, v in CONV_METRICS.items()], "val_error"),
            "x": toggles("x-axis", [("steps", "step"), ("seconds", "wall_time")], "step"),
        }
        self.controls = controls
        settings = {
            "steps": slider(
                widgets.IntSlider,
                "training steps",
                min=10,
                max=2000,
                step=10,
                value=d["steps"],
                continuous_update=False,
            ),
            "batch_size": widgets.Dropdown(
                options=[8, 16, 32, 64, 128], value=d["batch_size"], description="batch size", style=STYLE
            ),
            "lr": slider(
                widgets.FloatLogSlider,
                "learning rate (Adam)",
                base=10,
                min=-4,
                max=-1,
                step=0.25,
                value=d["lr"],
                readout_format=".0e",
                continuous_update=False,
            ),
            "num_groups": widgets.Dropdown(
                options=[1, 2, 4, 8], value=d["num_groups"], description="group norm: groups", style=STYLE
            ),
            "seed": widgets.BoundedIntText(value=d["seed"], min=0, max=10_000, description="seed", style=STYLE),
        }
        self._assemble_training(conv_training_figure(self.histories, *self._choices()), controls, settings)

    def _choices(self) -> tuple[float, str, str]:
        return tuple(self.controls[k].value for k in ("target", "metric", "x"))

    def compute(self) -> Update:
        return conv_training_update(self.histories, *self._choices())

    def _train(self) -> None:
        s = {k: w.value for k, w in self.settings.items()}
        self.histories = dict.fromkeys(convnets.METHODS)
        self._redraw()
        self.progress.max = s["steps"] * len(convnets.METHODS)
        for i, method in enumerate(convnets.METHODS):
            self.status.value = f"training the net with {METHOD_NAMES[method]}"
            history = convnets.train_convnet(
                method,
                steps=s["steps"],
                batch_size=s["batch_size"],
                lr=s["lr"],
                seed=s["seed"],
                records=self.RECORDS,
                val_size=self.val_size,
                num_groups=s["num_groups"],
                progress=False,
                callback=lambda h, m=method, i=i: self._show(m, h, i * s["steps"]),
            )
            self._show(method, history, i * s["steps"])
            if history.interrupted:
                break
        none = self.histories["none"]
        if none is not None and len(none):
            # the paper's question: how soon does each normalized net get where the plain one ended?
            self._fit_target(none.train_loss[-1])
        self.status.value = f"trained on {convnets.conv_data().source}"

    def _show(self, method: str, history: History, done_before: int) -> None:
        """Draw `history` as `method`'s net; the progress bar counts the steps of earlier runs and this one's."""
        self.histories[method] = history
        self.progress.value = done_before + (history.step[-1] if len(history) else 0)
        self._redraw()
