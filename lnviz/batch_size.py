"""Numbers for lesson 5: the paper's Figure 6 in miniature. The permutation-invariant MNIST network
(784-w-w-10, narrower than the paper's 784-1000-1000-10) with no normalization, batch norm and layer
norm, trained at two batch sizes on the same examples in the same order (section 6.6)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lnviz import runs, tasks
from lnviz.train import History

__all__ = ["EXAMPLES", "RECORDS", "WIDTHS", "batch_size_task", "train_mlp"]

#: Hidden widths offered for the 784-w-w-10 network.
WIDTHS: tuple[int, ...] = (64, 128, 256, 1000)

#: Records per run, at the same examples seen whatever the batch size.
RECORDS = 10

#: Examples seen per run: multiples of RECORDS x 256, so that every offered batch size records at the same points.
EXAMPLES: tuple[int, ...] = (2_560, 5_120, 10_240, 20_480, 40_960)


def batch_size_task(batch_sizes: Sequence[int]) -> tasks.Task:
    """MNIST as vectors, cut so that every batch size sees the same examples in the same order."""
    return tasks.common_order(tasks.make_task("mnist"), batch_sizes)


def train_mlp(
    norm: str,
    task: tasks.Task,
    width: int,
    batch: int,
    lr: float,
    examples: int,
    seed: int,
    records: int = RECORDS,
    callback: Callable[[History], None] | None = None,
) -> History:
    """The 784-width-width-10 network with `norm`, trained with Adam on `examples` training examples at
    batch size `batch`, recorded `records` times at the same examples seen whatever the batch size."""
    steps, eval_every = runs.schedule(examples, batch, records)
    return runs.run(
        runs.mlp_model(task, norm, (width, width)),
        task,
        steps=steps,
        batch_size=batch,
        lr=lr,
        seed=seed,
        eval_every=eval_every,
        val_size=None,
        progress=False,
        callback=callback,
    )
