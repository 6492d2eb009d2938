"""Panels of notebooks 4 and 5: models trained live, behind a Run button.

A training panel has two kinds of controls. `panel.controls` change what the figure shows of the
runs it holds (a target loss, a metric, the x-axis) and redraw it at once, as in every panel.
`panel.settings` say what the next run trains (task, learning rate, sizes, steps); they draw
nothing until the Run button (or `panel.run()`) trains the models, and the curves then grow in
place as training goes, with a progress bar beside the Run button. `cls.example()` is a panel holding
small finished runs, for tests.
"""

from __future__ import annotations

import abc
import math

import ipywidgets as widgets

from lnviz import experiments as ex
from lnviz.figures.core import Update
from lnviz.figures.training import batch_size_figure, batch_size_update, target_loss_figure, target_loss_update
from lnviz.panels.base import STYLE, Panel, slider
from lnviz.style import METHOD_NAMES
from lnviz.train import History

__all__ = ["BatchSizePanel", "RNNTrainingPanel", "TrainingPanel"]

_TARGET_LOG_MIN = math.log10(ex.ADDING_CONSTANT_MSE / 2) - 2.0

_METRIC_OPTIONS = [("validation error", "val_error"), ("validation loss", "val_loss")]
_X_OPTIONS = {"step": ("steps", "step"), "examples": ("examples", "examples"), "wall_time": ("seconds", "wall_time")}


def _choice(description: str, values: tuple[int, ...], value: int, label=str) -> widgets.Dropdown:
    """A dropdown of numbers that also offers `value` when it is not among `values` (a test's tiny size)."""
    options = [(label(v), v) for v in sorted({*values, value}, reverse=values[0] > values[-1])]
    return widgets.Dropdown(options=options, value=value, description=description, style=STYLE)


def _toggles(description: str, options: list[tuple[str, str]], value: str) -> widgets.ToggleButtons:
    return widgets.ToggleButtons(options=options, value=value, description=description, style=STYLE)


class TrainingPanel(Panel, metaclass=abc.ABCMeta):
    """What the training panels share: settings, a Run button, a progress bar, live updates.

    Abstract (`inspect.isabstract`): a subclass implements `_train`, which trains with the current
    settings and redraws as it goes, and `example`.
    """

    settings: dict[str, widgets.ValueWidget]
    run_button: widgets.Button
    progress: widgets.IntProgress
    status: widgets.HTML

    def _assemble_training(self, figure, controls: dict[str, widgets.ValueWidget],
                           settings: dict[str, widgets.Widget]) -> None:
        self.settings = settings
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play",
                                         tooltip="train the models with these settings")
        self.run_button.on_click(lambda _: self.run())
        # A progress widget of our own rather than tqdm's: output captured from a button's callback
        # needs an Output widget, and nbclient (store_widget_state=False) fails on those.
        self.progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="240px"))
        self.status = widgets.HTML()
        train_row = widgets.HBox(list(settings.values()), layout=widgets.Layout(flex_flow="row wrap"))
        note = widgets.VBox([widgets.HTML("<b>Training settings</b> (used when you press Run)"), train_row,
                             widgets.HBox([self.run_button, self.progress, self.status])])
        self._assemble(figure, controls, note)
        self._drawn = self.compute()  # what the figure builder has drawn

    def run(self) -> None:
        """Train the models the settings ask for; the figure follows each run as it goes."""
        self.run_button.disabled = True
        self.run_button.description = "Running..."
        self.progress.value = 0
        try:
            with ex.threads(1):
                self._train()
        finally:
            self.run_button.disabled = False
            self.run_button.description = "Run"

    @abc.abstractmethod
    def _train(self) -> None:
        """Train with the current settings, redrawing the figure at every record."""

    @classmethod
    @abc.abstractmethod
    def example(cls) -> TrainingPanel:
        """A panel holding small finished runs: what a test of the controls needs to see them act."""

    def _on_change(self, change: dict) -> None:
        # Only what changed (Panel._redraw): these figures have many axes and curves, and a control
        # changes a few of them (a slider: some bars, a line and the title), a training record only
        # the growing curve.
        self._redraw()


# ----------------------------------------------------------------------------------------------------
# Notebook 4: LSTM, LN-LSTM, BN-LSTM (and plain RNNs) race to a target loss
# ----------------------------------------------------------------------------------------------------

class RNNTrainingPanel(TrainingPanel):
    """Recurrent models trained side by side on sequential MNIST or the adding problem.

    The figure: training loss with a target line (the `target` control), a second metric, and how
    long each model took to reach the target, in steps or in seconds. After a run the target moves
    to the first model's final training loss ("how long do the others take to get where the first
    one ended?"), and on the adding problem to half the constant guess's MSE (below the plateau
    where every model starts). Every model of a run has the same seed, so the same data in the
    same order.
    """

    MODELS: tuple[str, ...] = ("LSTM", "LN-LSTM", "BN-LSTM", "RNN", "LN-RNN", "BN-RNN")
    #: Default settings: small enough for the notebook to train them on load in seconds.
    DEFAULTS = dict(task="adding", pixels_per_step=28, length=30, models=("LSTM", "LN-LSTM"),
                    lr=3e-3, hidden_size=64, batch_size=64, steps=100, seed=0)
    #: Validation cases scored at each record, and records per run: enough for readable curves, few
    #: enough that scoring does not slow training down.
    VAL_SIZE = 200
    RECORDS = 10

    def __init__(self, val_size: int = VAL_SIZE, **defaults: object) -> None:
        """defaults: initial values of the settings (keys of `DEFAULTS`); val_size: validation cases
        scored at each record."""
        unknown = set(defaults) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"RNNTrainingPanel expected settings among {sorted(self.DEFAULTS)}, got {sorted(unknown)}")
        d = {**self.DEFAULTS, **defaults}
        self.val_size = val_size
        self.histories: dict[str, History | None] = {name: None for name in self.MODELS}
        controls = {
            # From a solved adding problem's MSE to an untrained net's cross-entropy, in steps of x1.26 (a
            # key press then moves the target visibly). The browser snaps the value to a step, so the
            # grid passes through the adding problem's target.
            "target": slider(widgets.FloatLogSlider, "target loss", base=10, min=_TARGET_LOG_MIN,
                             max=_TARGET_LOG_MIN + 3.5, step=0.1, value=10 ** (_TARGET_LOG_MIN + 3.5),
                             readout_format=".3f", continuous_update=True),
            "metric": _toggles("middle plot", _METRIC_OPTIONS + [("gradient norm", "grad_norm")], "val_loss"),
            "x": _toggles("x-axis", [_X_OPTIONS["step"], _X_OPTIONS["wall_time"]], "step"),
        }
        self.controls = controls
        settings = {
            "task": widgets.Dropdown(options=[("sequential MNIST", "sequential_mnist"), ("adding problem", "adding")],
                                     value=d["task"], description="task", style=STYLE),
            "pixels_per_step": _choice("MNIST pixels per step", (112, 56, 28, 14, 7, 4), d["pixels_per_step"],
                                       lambda k: f"{k} ({784 // k} steps)"),
            "length": _choice("adding: sequence length", (10, 20, 30, 50, 100, 200), d["length"]),
            "lr": slider(widgets.FloatLogSlider, "learning rate (Adam)", base=10, min=-4, max=-1, step=0.25,
                         value=d["lr"], readout_format=".0e", continuous_update=False),
            "hidden_size": _choice("hidden units", (16, 32, 64, 128, 256), d["hidden_size"]),
            "batch_size": _choice("batch size", (8, 16, 32, 64, 128), d["batch_size"]),
            "steps": slider(widgets.IntSlider, "training steps", min=20, max=2000, step=10, value=d["steps"],
                            continuous_update=False),
            "seed": widgets.BoundedIntText(value=d["seed"], min=0, max=10_000, description="seed", style=STYLE),
            "models": widgets.SelectMultiple(options=self.MODELS, value=tuple(d["models"]), rows=3,
                                             description="models", style=STYLE),
        }
        settings["task"].observe(lambda _: self._enable_lengths(), names="value")
        figure = target_loss_figure(self.histories, controls["target"].value, controls["metric"].value,
                                    controls["x"].value)
        self._assemble_training(figure, controls, settings)
        self._enable_lengths()

    def _enable_lengths(self) -> None:
        mnist = self.settings["task"].value == "sequential_mnist"
        self.settings["pixels_per_step"].disabled = not mnist
        self.settings["length"].disabled = mnist

    def compute(self) -> Update:
        c = {k: w.value for k, w in self.controls.items()}
        return target_loss_update(self.histories, c["target"], c["metric"], c["x"])

    def task(self) -> ex.Task:
        """The task the settings name (made once per process, then reused)."""
        s = {k: w.value for k, w in self.settings.items()}
        if s["task"] == "adding":
            return ex.make_task("adding", length=s["length"])
        return ex.make_task("sequential_mnist", pixels_per_step=s["pixels_per_step"])

    def _train(self) -> None:
        s = {k: w.value for k, w in self.settings.items()}
        chosen = [m for m in self.MODELS if m in s["models"]]
        if not chosen:
            self.status.value = "Choose at least one model."
            return
        task = self.task()
        self.histories = {name: None for name in self.MODELS}
        self._redraw()
        self.progress.max = s["steps"] * len(chosen)
        for i, name in enumerate(chosen):
            self.status.value = f"training {name} on {task.title}"
            kind, norm = _parse(name)
            history = ex.run(ex.sequence_model(task, kind, norm, s["hidden_size"]), task, steps=s["steps"],
                             batch_size=s["batch_size"], lr=s["lr"], seed=s["seed"], clip_grad_norm=1.0,
                             eval_every=max(1, s["steps"] // self.RECORDS), val_size=self.val_size,
                             progress=False, callback=lambda h, name=name, i=i: self._show(name, h, i * s["steps"]))
            self._show(name, history, i * s["steps"])
            if history.interrupted:
                break
        first = ex.final_loss(self.histories[chosen[0]])
        target = ex.ADDING_CONSTANT_MSE / 2 if task.loss == "mse" else first
        if math.isfinite(target):
            self.controls["target"].value = target  # the slider clips it to its range
        self.status.value = f"{task.title}; data: {task.source}"

    def _show(self, name: str, history: History, done_before: int) -> None:
        """Draw `history` as model `name`; the progress bar counts the steps of earlier runs and this one's."""
        self.histories[name] = history
        self.progress.value = done_before + (history.step[-1] if len(history) else 0)
        self._redraw()

    @classmethod
    def example(cls) -> RNNTrainingPanel:
        """A panel with two tiny finished runs (a second or two of training): for tests."""
        panel = cls(val_size=64, task="sequential_mnist", pixels_per_step=112, models=("LSTM", "LN-LSTM"),
                    hidden_size=16, batch_size=16, steps=20)
        panel.run()
        return panel


def _parse(name: str) -> tuple[str, str]:
    """"LN-LSTM" -> ("lstm", "layer")."""
    for norm, prefix in ex.NORM_PREFIX.items():
        if prefix and name.startswith(prefix):
            return name[len(prefix):].lower(), norm
    return name.lower(), "none"


# ----------------------------------------------------------------------------------------------------
# Notebook 5: Figure 6, batch sizes
# ----------------------------------------------------------------------------------------------------

class BatchSizePanel(TrainingPanel):
    """The Figure 6 network with no normalization, batch norm and layer norm, at two batch sizes.

    Every run sees the same number of examples in the same order (`lnviz.experiments.common_order`
    and `schedule`), so the curves compare at equal data seen; each batch size has its own learning
    rate. Batch norm cannot train on a batch of one: that slot stays empty ("n/a").
    """

    NORMS: tuple[str, ...] = ("none", "batch", "layer")
    WIDTHS: tuple[int, ...] = (64, 128, 256, 1000)
    #: Examples seen per run: multiples of RECORDS x 256, so that every offered batch size records at the same points.
    EXAMPLES: tuple[int, ...] = (2_560, 5_120, 10_240, 20_480, 40_960)
    DEFAULTS = dict(large_batch=128, small_batch=4, examples=2_560, width=128, lr_large=3e-3, lr_small=3e-4, seed=0)
    RECORDS = 10

    def __init__(self, **defaults: object) -> None:
        """defaults: initial values of the settings (keys of `DEFAULTS`)."""
        unknown = set(defaults) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"BatchSizePanel expected settings among {sorted(self.DEFAULTS)}, got {sorted(unknown)}")
        d = {**self.DEFAULTS, **defaults}
        self.batch_sizes: tuple[int, int] = (d["large_batch"], d["small_batch"])
        self.histories: dict[tuple[str, int], History | None] = self._empty()
        controls = {
            "fraction": slider(widgets.FloatSlider, "read at (of training)", min=0.1, max=1.0, step=0.1, value=1.0,
                               readout_format=".0%", continuous_update=True),
            "metric": _toggles("metric", _METRIC_OPTIONS + [("training loss", "train_loss")], "val_error"),
            "x": _toggles("x-axis", [_X_OPTIONS["examples"], _X_OPTIONS["step"], _X_OPTIONS["wall_time"]],
                          "examples"),
        }
        self.controls = controls
        settings = {
            "large_batch": _choice("large batch", (256, 128, 64), d["large_batch"]),
            "small_batch": _choice("small batch", (64, 32, 16, 8, 4, 2, 1), d["small_batch"]),
            "lr_large": slider(widgets.FloatLogSlider, "learning rate, large", base=10, min=-4, max=-1, step=0.25,
                               value=d["lr_large"], readout_format=".0e", continuous_update=False),
            "lr_small": slider(widgets.FloatLogSlider, "learning rate, small", base=10, min=-4, max=-1, step=0.25,
                               value=d["lr_small"], readout_format=".0e", continuous_update=False),
            "examples": _choice("examples seen", self.EXAMPLES, d["examples"], lambda e: f"{e:,}"),
            "width": _choice("network", self.WIDTHS, d["width"], lambda w: f"784-{w}-{w}-10"),
            "seed": widgets.BoundedIntText(value=d["seed"], min=0, max=10_000, description="seed", style=STYLE),
        }
        figure = batch_size_figure(self.histories, self.batch_sizes, controls["fraction"].value,
                                   controls["metric"].value, controls["x"].value)
        self._assemble_training(figure, controls, settings)

    def _empty(self) -> dict[tuple[str, int], History | None]:
        return {(norm, batch): None for batch in self.batch_sizes for norm in self.NORMS}

    def compute(self) -> Update:
        c = {k: w.value for k, w in self.controls.items()}
        return batch_size_update(self.histories, self.batch_sizes, c["fraction"], c["metric"], c["x"])

    def _train(self) -> None:
        s = {k: w.value for k, w in self.settings.items()}
        batch_sizes = (s["large_batch"], s["small_batch"])
        if batch_sizes != self.batch_sizes:
            # The subplots are per batch size: their titles change, the traces stay.
            self.batch_sizes = batch_sizes
            self.figure.layout.annotations[0].text = f"batch size {batch_sizes[0]}"
            self.figure.layout.annotations[1].text = f"batch size {batch_sizes[1]}"
        task = ex.common_order(ex.make_task("mnist"), batch_sizes)
        self.histories = self._empty()
        self._redraw()
        lrs = {batch_sizes[0]: s["lr_large"], batch_sizes[1]: s["lr_small"]}
        runs = [(norm, batch) for batch in batch_sizes for norm in self.NORMS if ex.feasible(norm, batch)]
        # Progress in examples seen: a step of the small batch is a small part of the work.
        self.progress.max = s["examples"] * len(runs)
        for i, (norm, batch) in enumerate(runs):
            steps, eval_every = ex.schedule(s["examples"], batch, self.RECORDS)
            self.status.value = f"training {METHOD_NAMES[norm]} at batch size {batch} ({steps:,} steps)"
            model = ex.mlp_model(task, norm, (s["width"], s["width"]))
            history = ex.run(model, task, steps=steps, batch_size=batch, lr=lrs[batch], seed=s["seed"],
                             eval_every=eval_every, val_size=None, progress=False,
                             callback=lambda h, key=(norm, batch), i=i: self._show(key, h, i * s["examples"]))
            self._show((norm, batch), history, i * s["examples"])
            if history.interrupted:
                break
        self.status.value = f"{len(task.y_train):,} training digits from {task.source}"

    def _show(self, key: tuple[str, int], history: History, done_before: int) -> None:
        """Draw `history` as run `key`; the progress bar counts examples, of earlier runs and this one."""
        self.histories[key] = history
        self.progress.value = done_before + (history.examples[-1] if len(history) else 0)
        self._redraw()

    @classmethod
    def example(cls) -> BatchSizePanel:
        """A panel with tiny finished runs (a second or two of training): for tests."""
        panel = cls(large_batch=64, small_batch=16, examples=640, width=64)
        panel.run()
        return panel
