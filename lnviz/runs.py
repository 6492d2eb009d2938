"""One training run on a task, and what is read from it: the machinery of lessons 4 and 5 and of
`python -m lnviz.reproduce`.

Model factories (`sequence_model`, `mlp_model`) build fresh models for `lnviz.train.train`, which
seeds them. On top of one run (`run`):

- `lr_sweep` trains one model at a few learning rates and picks the one with the lowest final
  training loss (the test set plays no part in the choice);
- `steps_fraction` reads two histories as "steps to reach a target loss": the paper's claim that
  layer normalization speeds up training (section 6, Figures 1-5), made a number;
- `schedule` (with `lnviz.tasks.common_order`) compares batch sizes fairly (Figure 6): the same
  number of examples seen, records at the same examples, the same examples in the same order.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from torch import nn

from lnviz.nn.models import CELLS, MLP, NORMS, SequenceClassifier, SequenceRegressor
from lnviz.tasks import Task
from lnviz.train import History, train
from lnviz.validation import positive_int

__all__ = [
    "NORM_PREFIX",
    "Sweep",
    "feasible",
    "final_loss",
    "lr_sweep",
    "mlp_model",
    "model_name",
    "run",
    "schedule",
    "sequence_model",
    "steps_fraction",
]


#: How a normalization shows in a model's name: "LN-LSTM", "BN-LSTM", "LSTM".
NORM_PREFIX: dict[str, str] = {"none": "", "layer": "LN-", "batch": "BN-"}


def model_name(kind: str, norm: str) -> str:
    """The name the paper's figures use: ("lstm", "layer") -> "LN-LSTM", ("rnn", "none") -> "RNN"."""
    if kind not in CELLS:
        raise ValueError(f"kind must be one of {tuple(CELLS)}, got {kind!r}")
    if norm not in NORM_PREFIX:
        raise ValueError(f"norm must be one of {tuple(NORM_PREFIX)}, got {norm!r}")
    return NORM_PREFIX[norm] + kind.upper()


def sequence_model(task: Task, kind: str, norm: str, hidden_size: int) -> Callable[[], nn.Module]:
    """A factory of fresh recurrent models for `task`: a `SequenceClassifier`, or for a regression
    task a `SequenceRegressor`. Picklable (a functools.partial of the class)."""
    if task.length is None:
        raise ValueError(
            f"sequence_model expected a task of sequences, got {task.title!r} with x of shape "
            f"{tuple(task.x_train.shape)}"
        )
    if task.loss == "mse":
        return functools.partial(SequenceRegressor, kind, norm, task.input_size, hidden_size, task.length)
    return functools.partial(SequenceClassifier, kind, norm, task.input_size, hidden_size, task.n_outputs, task.length)


def mlp_model(task: Task, norm: str, hidden: Sequence[int] = (256, 256)) -> Callable[[], nn.Module]:
    """A factory of fresh `MLP`s (Figure 6's network, `hidden` wide) for a feed-forward `task`."""
    if task.length is not None:
        raise ValueError(
            f"mlp_model expected a task of vectors, got {task.title!r} with x of shape {tuple(task.x_train.shape)}"
        )
    return functools.partial(MLP, task.input_size, tuple(hidden), task.n_outputs, norm)


def feasible(norm: str, batch_size: int) -> bool:
    """Whether a model with `norm` can train at `batch_size`: batch norm needs two cases per mini-batch
    (the variance of one number is 0, and torch refuses, as `lnviz.nn.norms.BatchNorm` does)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    return not (norm == "batch" and batch_size < 2)


def run(make_model: Callable[[], nn.Module], task: Task, **train_kwargs: object) -> History:
    """`lnviz.train.train` on the task's training set, scored on its test set.

    train_kwargs: those of `train` (steps, batch_size, lr, seed, eval_every, val_size, clip_grad_norm,
    progress, callback, ...). The curves a notebook draws as "validation" are the test set's, as in
    the paper's figures; no choice is made on them (`lr_sweep` chooses by training loss).
    """
    return train(make_model, task.x_train, task.y_train, task.x_test, task.y_test, loss=task.loss, **train_kwargs)


def final_loss(history: History) -> float:
    """The last recorded (smoothed) training loss; infinity for an empty or diverged run."""
    if not history.train_loss or not math.isfinite(history.train_loss[-1]):
        return math.inf
    return history.train_loss[-1]


@dataclass
class Sweep:
    """One model trained at several learning rates with everything else equal: lr -> History.

    `best_lr` has the lowest `final_loss`; a tie goes to the smaller learning rate. `at_edge` says
    the best is the smallest or largest rate tried, so a wider sweep might find a better one.
    """

    histories: dict[float, History]

    @property
    def best_lr(self) -> float:
        return min(sorted(self.histories), key=lambda lr: final_loss(self.histories[lr]))

    @property
    def best(self) -> History:
        return self.histories[self.best_lr]

    @property
    def at_edge(self) -> bool:
        return len(self.histories) > 1 and self.best_lr in (min(self.histories), max(self.histories))


def lr_sweep(make_model: Callable[[], nn.Module], task: Task, lrs: Iterable[float], **train_kwargs: object) -> Sweep:
    """Train `make_model` on `task` once per learning rate, with the same seed, data order and steps."""
    lrs = sorted(set(lrs))
    if not lrs or any(not lr > 0 for lr in lrs):
        raise ValueError(f"lrs must be one or more positive learning rates, got {lrs!r}")
    return Sweep({lr: run(make_model, task, lr=lr, **train_kwargs) for lr in lrs})


def steps_fraction(history: History, reference: History, x: str = "step") -> float | None:
    """The steps `history` needs to reach `reference`'s final training loss, as a fraction of the
    steps `reference` needs (at most all of them); None if `history` never gets there.

    Below 1: `history` trains faster. The paper's claim for LN-LSTM against LSTM, made a number.
    """
    target = final_loss(reference)
    if not math.isfinite(target):
        raise ValueError(
            "steps_fraction expected a reference run with a finite final training loss, "
            f"got {reference.train_loss[-1:]}"
        )
    steps = history.reach(target, x)
    return None if steps is None else steps / reference.reach(target, x)


def schedule(examples: int, batch_size: int, records: int) -> tuple[int, int]:
    """(steps, eval_every) that show `examples` training examples at `batch_size` and record the run
    `records` times, every examples / records examples, whatever the batch size.

    Raises ValueError unless `examples` splits into `records` intervals of whole mini-batches.
    """
    for name, value in (("examples", examples), ("batch_size", batch_size), ("records", records)):
        positive_int(value, name, "schedule")
    if examples % (records * batch_size):
        raise ValueError(
            f"examples must be a multiple of records * batch_size = {records * batch_size} so that every "
            f"batch size is recorded at the same examples, got {examples}"
        )
    steps = examples // batch_size
    return steps, steps // records
