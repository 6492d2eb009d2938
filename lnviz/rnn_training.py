"""Numbers for lesson 4: recurrent models with and without normalization trained side by side on
sequential MNIST and the adding problem, read as "steps to reach a target loss" (section 6).

The paper's models are named as its figures name them: "LSTM", "LN-LSTM" (eqs. (17)-(22)), "BN-LSTM"
(recurrent batch norm, Cooijmans et al. 2016), and the same three for a plain tanh RNN.
"""

from __future__ import annotations

from collections.abc import Callable

from lnviz import runs, tasks
from lnviz.runs import NORM_PREFIX
from lnviz.train import History

__all__ = ["MODELS", "PIXELS_PER_STEP", "LENGTHS", "parse_model", "rnn_task", "train_model"]

#: The models lesson 4 offers, by the paper's names.
MODELS: tuple[str, ...] = ("LSTM", "LN-LSTM", "BN-LSTM", "RNN", "LN-RNN", "BN-RNN")

#: Sequential MNIST read k pixels per step (784 / k steps): the longer the sequence, the harder.
PIXELS_PER_STEP: tuple[int, ...] = (112, 56, 28, 14, 7, 4)

#: Sequence lengths of the adding problem.
LENGTHS: tuple[int, ...] = (10, 20, 30, 50, 60, 100, 200)


def parse_model(name: str) -> tuple[str, str]:
    """ "LN-LSTM" -> ("lstm", "layer"): a model's name as (cell kind, normalization)."""
    for norm, prefix in NORM_PREFIX.items():
        if prefix and name.startswith(prefix):
            return name[len(prefix) :].lower(), norm
    return name.lower(), "none"


def rnn_task(task: str, pixels_per_step: int = 28, length: int = 30) -> tasks.Task:
    """Sequential MNIST at `pixels_per_step`, or the adding problem of `length` steps (made once per process)."""
    if task == "adding":
        return tasks.make_task("adding", length=length)
    return tasks.make_task("sequential_mnist", pixels_per_step=pixels_per_step)


def train_model(
    name: str,
    task: tasks.Task,
    hidden_size: int,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    records: int,
    val_size: int,
    callback: Callable[[History], None] | None = None,
) -> History:
    """Train the model `name` (one of `MODELS`) on `task` with Adam, gradients clipped at norm 1 as in
    the paper's recurrent experiments, recording `records` times."""
    if name not in MODELS:
        raise ValueError(f"train_model expected a model among {MODELS}, got {name!r}")
    kind, norm = parse_model(name)
    return runs.run(
        runs.sequence_model(task, kind, norm, hidden_size),
        task,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        clip_grad_norm=1.0,
        eval_every=max(1, steps // records),
        val_size=val_size,
        progress=False,
        callback=callback,
    )
