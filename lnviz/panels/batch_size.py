"""Panel of lesson 5: the paper's Figure 6, batch sizes."""

from __future__ import annotations

import ipywidgets as widgets

from lnviz import batch_size
from lnviz.figures.batch_size import batch_size_figure, batch_size_update
from lnviz.figures.core import Update
from lnviz.nn.cells import NORMS
from lnviz.panels.base import STYLE, slider
from lnviz.panels.training import METRIC_OPTIONS, X_OPTIONS, TrainingPanel, choice, toggles
from lnviz.runs import feasible, schedule
from lnviz.style import METHOD_NAMES
from lnviz.train import History

__all__ = ["BatchSizePanel"]


class BatchSizePanel(TrainingPanel):
    """The Figure 6 network with no normalization, batch norm and layer norm, at two batch sizes.

    Every run sees the same number of examples in the same order (`lnviz.tasks.common_order`
    and `lnviz.runs.schedule`), so the curves compare at equal data seen; each batch size has its own learning
    rate. Batch norm cannot train on a batch of one: its slot in the read-out has no bar, and says "n/a".
    """

    NORMS = NORMS
    WIDTHS = batch_size.WIDTHS
    EXAMPLES = batch_size.EXAMPLES
    DEFAULTS = dict(large_batch=128, small_batch=4, examples=2_560, width=128, lr_large=3e-3, lr_small=3e-4, seed=0)
    QUICK = dict(examples=1_280)
    RECORDS = batch_size.RECORDS

    def __init__(self, **defaults: object) -> None:
        """defaults: initial values of the settings (keys of `DEFAULTS`)."""
        d = self._defaults(defaults)
        self.batch_sizes: tuple[int, int] = (d["large_batch"], d["small_batch"])
        self.histories: dict[tuple[str, int], History | None] = self._empty()
        controls = {
            "fraction": slider(
                widgets.FloatSlider,
                "read at (of training)",
                min=0.1,
                max=1.0,
                step=0.1,
                value=1.0,
                readout_format=".0%",
                continuous_update=True,
            ),
            "metric": toggles("metric", METRIC_OPTIONS + [("training loss", "train_loss")], "val_error"),
            "x": toggles("x-axis", [X_OPTIONS["examples"], X_OPTIONS["step"], X_OPTIONS["wall_time"]], "examples"),
        }
        self.controls = controls
        settings = {
            "large_batch": choice("large batch", (256, 128, 64), d["large_batch"]),
            "small_batch": choice("small batch", (64, 32, 16, 8, 4, 2, 1), d["small_batch"]),
            "lr_large": slider(
                widgets.FloatLogSlider,
                "learning rate, large",
                base=10,
                min=-4,
                max=-1,
                step=0.25,
                value=d["lr_large"],
                readout_format=".0e",
                continuous_update=False,
            ),
            "lr_small": slider(
                widgets.FloatLogSlider,
                "learning rate, small",
                base=10,
                min=-4,
                max=-1,
                step=0.25,
                value=d["lr_small"],
                readout_format=".0e",
                continuous_update=False,
            ),
            "examples": choice("examples seen", self.EXAMPLES, d["examples"], lambda e: f"{e:,}"),
            "width": choice("network", self.WIDTHS, d["width"], lambda w: f"784-{w}-{w}-10"),
            "seed": widgets.BoundedIntText(value=d["seed"], min=0, max=10_000, description="seed", style=STYLE),
        }
        figure = batch_size_figure(
            self.histories, self.batch_sizes, controls["fraction"].value, controls["metric"].value, controls["x"].value
        )
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
        task = batch_size.batch_size_task(batch_sizes)
        self.histories = self._empty()
        self._redraw()
        lrs = {batch_sizes[0]: s["lr_large"], batch_sizes[1]: s["lr_small"]}
        runs = [(norm, batch) for batch in batch_sizes for norm in self.NORMS if feasible(norm, batch)]
        # Progress in examples seen: a step of the small batch is a small part of the work.
        self.progress.max = s["examples"] * len(runs)
        for i, (norm, batch) in enumerate(runs):
            steps, _ = schedule(s["examples"], batch, self.RECORDS)
            self.status.value = f"training {METHOD_NAMES[norm]} at batch size {batch} ({steps:,} steps)"
            history = batch_size.train_mlp(
                norm,
                task,
                s["width"],
                batch,
                lrs[batch],
                s["examples"],
                s["seed"],
                self.RECORDS,
                callback=lambda h, key=(norm, batch), i=i: self._show(key, h, i * s["examples"]),
            )
            self._show((norm, batch), history, i * s["examples"])
            if history.interrupted:
                break
        self.status.value = f"{len(task.y_train):,} training digits from {task.source}"

    def _show(self, key: tuple[str, int], history: History, done_before: int) -> None:
        """Draw `history` as run `key`; the progress bar counts examples, of earlier runs and this one."""
        self.histories[key] = history
        self.progress.value = done_before + (history.examples[-1] if len(history) else 0)
        self._redraw()
