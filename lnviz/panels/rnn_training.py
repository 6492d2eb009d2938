"""Panel of lesson 4: LSTM, LN-LSTM, BN-LSTM (and plain RNNs) race to a target loss."""

from __future__ import annotations

import math

import ipywidgets as widgets

from lnviz import rnn_training
from lnviz.figures.core import Update
from lnviz.figures.rnn_training import divergence_message, target_loss_figure, target_loss_update
from lnviz.panels.base import STYLE, slider
from lnviz.panels.training import METRIC_OPTIONS, X_OPTIONS, TrainingPanel, choice, toggles
from lnviz.runs import final_loss
from lnviz.tasks import ADDING_CONSTANT_MSE, Task
from lnviz.train import History

__all__ = ["RNNTrainingPanel"]

_TARGET_LOG_MIN = math.log10(ADDING_CONSTANT_MSE / 2) - 2.0


class RNNTrainingPanel(TrainingPanel):
    """Recurrent models trained side by side on sequential MNIST or the adding problem.

    The figure: training loss with a target line (the `target` control), a second metric, and how
    long each model took to reach the target, in steps or in seconds. After a run the target moves
    to the first model's final training loss ("how long do the others take to get where the first
    one ended?"), and on the adding problem to half the constant guess's MSE (below the plateau
    where every model starts). Every model of a run has the same seed, so the same data in the
    same order. A model whose training loss turns NaN or inf (a learning rate too high) stops
    there, the figure's title and the status line say so, and the other models still train.
    """

    MODELS = rnn_training.MODELS
    #: Default settings: small enough for the notebook to train them on load in seconds.
    DEFAULTS = dict(
        task="adding",
        pixels_per_step=28,
        length=30,
        models=("LSTM", "LN-LSTM"),
        lr=3e-3,
        hidden_size=64,
        batch_size=64,
        steps=100,
        seed=0,
    )
    QUICK = dict(steps=40)
    #: The target losses offered: from a solved adding problem's MSE to an untrained net's cross-entropy,
    #: in steps of x1.26 (a key press then moves the target visibly), through the adding problem's target.
    #: After a run the target the panel sets joins them.
    TARGETS = tuple(10 ** (_TARGET_LOG_MIN + k / 10) for k in range(36))
    #: three significant digits: the smallest targets are below 0.001; the figure's title writes them so
    TARGET_FORMAT = ".3g"
    #: Validation cases scored at each record, and records per run: enough for readable curves, few
    #: enough that scoring does not slow training down.
    VAL_SIZE = 200
    RECORDS = 10

    def __init__(self, val_size: int = VAL_SIZE, **defaults: object) -> None:
        """defaults: initial values of the settings (keys of `DEFAULTS`); val_size: validation cases
        scored at each record."""
        d = self._defaults(defaults)
        self.val_size = val_size
        self.histories: dict[str, History | None] = dict.fromkeys(self.MODELS)
        controls = {
            "target": self._target_control(self.TARGETS[-1], continuous_update=True),
            "metric": toggles("middle plot", METRIC_OPTIONS + [("gradient norm", "grad_norm")], "val_loss"),
            "x": toggles("x-axis", [X_OPTIONS["step"], X_OPTIONS["wall_time"]], "step"),
        }
        self.controls = controls
        settings = {
            "task": widgets.Dropdown(
                options=[("sequential MNIST", "sequential_mnist"), ("adding problem", "adding")],
                value=d["task"],
                description="task",
                style=STYLE,
            ),
            # Descriptions short enough for STYLE's description width (the browser cuts longer ones
            # off), with the full wording in a tooltip.
            "pixels_per_step": choice(
                "pixels per step",
                rnn_training.PIXELS_PER_STEP,
                d["pixels_per_step"],
                lambda k: f"{k} ({784 // k} steps)",
            ),
            "length": choice("sequence length", rnn_training.LENGTHS, d["length"]),
            "lr": slider(
                widgets.FloatLogSlider,
                "learning rate",
                tooltip="learning rate of Adam",
                base=10,
                min=-4,
                max=-1,
                step=0.25,
                value=d["lr"],
                readout_format=".0e",
                continuous_update=False,
            ),
            "hidden_size": choice("hidden units", (16, 32, 64, 128, 256), d["hidden_size"]),
            "batch_size": choice("batch size", (8, 16, 32, 64, 128), d["batch_size"]),
            "steps": slider(
                widgets.IntSlider,
                "training steps",
                min=20,
                max=2000,
                step=10,
                value=d["steps"],
                continuous_update=False,
            ),
            "seed": widgets.BoundedIntText(value=d["seed"], min=0, max=10_000, description="seed", style=STYLE),
            "models": widgets.SelectMultiple(
                options=self.MODELS,
                value=tuple(d["models"]),
                rows=len(self.MODELS),  # every model in view: no scrolling to find the BN-LSTM
                description="models",
                tooltip="models to train: hold Ctrl or Shift to select several",
                style=STYLE,
            ),
        }
        settings["pixels_per_step"].tooltip = "sequential MNIST: pixels per step"
        settings["length"].tooltip = "adding problem: sequence length"
        settings["task"].observe(lambda _: self._enable_lengths(), names="value")
        figure = target_loss_figure(
            self.histories, controls["target"].value, controls["metric"].value, controls["x"].value
        )
        self._assemble_training(figure, controls, settings)
        self._enable_lengths()

    def _enable_lengths(self) -> None:
        mnist = self.settings["task"].value == "sequential_mnist"
        self.settings["pixels_per_step"].disabled = not mnist
        self.settings["length"].disabled = mnist

    def compute(self) -> Update:
        c = {k: w.value for k, w in self.controls.items()}
        return target_loss_update(self.histories, c["target"], c["metric"], c["x"])

    def task(self) -> Task:
        """The task the settings name (made once per process, then reused)."""
        s = {k: w.value for k, w in self.settings.items()}
        return rnn_training.rnn_task(s["task"], s["pixels_per_step"], s["length"])

    def _train(self) -> None:
        s = {k: w.value for k, w in self.settings.items()}
        chosen = [m for m in self.MODELS if m in s["models"]]
        if not chosen:
            self.status.value = "Choose at least one model."
            return
        task = self.task()
        self.histories = dict.fromkeys(self.MODELS)
        self._redraw()
        self.progress.max = s["steps"] * len(chosen)
        for i, name in enumerate(chosen):
            self.status.value = f"training {name} on {task.title}"
            history = rnn_training.train_model(
                name,
                task,
                s["hidden_size"],
                s["steps"],
                s["batch_size"],
                s["lr"],
                s["seed"],
                self.RECORDS,
                self.val_size,
                callback=lambda h, name=name, i=i: self._show(name, h, i * s["steps"]),
            )
            self._show(name, history, i * s["steps"])
            if history.interrupted:
                break
        finished = {m: self.histories[m] for m in chosen if self.histories[m] is not None}
        # The first model that did not diverge sets the target: a diverged run's last loss is no goal.
        first = next((final_loss(h) for h in finished.values() if not h.diverged), math.inf)
        target = ADDING_CONSTANT_MSE / 2 if task.loss == "mse" else first
        if math.isfinite(target):
            self._fit_target(target)  # exactly: the first model reaches it by its last record
        diverged = [f"{m} at step {h.diverged_at}" for m, h in finished.items() if h.diverged]
        note = f"; {divergence_message(diverged)}" if diverged else ""
        self.status.value = f"{task.title}; data: {task.source}{note}"

    def _show(self, name: str, history: History, done_before: int) -> None:
        """Draw `history` as model `name`; the progress bar counts the steps of earlier runs and this one's
        (all of a diverged run's steps, since it will take no more)."""
        self.histories[name] = history
        done = self.settings["steps"].value if history.diverged else (history.step[-1] if len(history) else 0)
        self.progress.value = done_before + done
        self._redraw()
