"""The data sets the training lessons (4, 5, 7) and `python -m lnviz.reproduce` train on.

A `Task` is a data set ready for `lnviz.train.train`: sequential MNIST read k pixels per step, the
adding problem, and MNIST as vectors for the paper's Figure 6 network. A task pickles as its recipe,
so that a worker process (`lnviz.scheduler`) rebuilds it instead of receiving its tensors.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from lnviz import data
from lnviz.validation import positive_int

__all__ = [
    "ADDING_CONSTANT_MSE",
    "TASKS",
    "Task",
    "adding_task",
    "common_order",
    "make_task",
    "mnist_vectors",
    "sequential_mnist",
]


#: The mean squared error of always answering 1 on the adding problem: the plateau a model must leave.
ADDING_CONSTANT_MSE = 1 / 6


#: The shipped digits and the adding problem are generated for the test split with this seed offset,
#: so that training and test sequences never coincide.
_TEST_SEED_OFFSET = 1_000


@dataclass(frozen=True, eq=False)
class Task:
    """A data set ready for `lnviz.train.train`, with the recipe that made it.

    x_train: (N, ...) inputs, y_train: (N,) targets (int64 classes, or float32 for regression);
    x_test, y_test likewise. loss: "cross_entropy" or "mse"; n_outputs: classes, or 1 for
    regression. source says where the data came from (full MNIST, the shipped digits, generated).
    recipe: (the name in `TASKS`, its keyword arguments as sorted pairs), from which `make_task`
    makes the same task again; pickling sends only the recipe.
    """

    title: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    loss: str
    n_outputs: int
    source: str
    recipe: tuple[str, tuple[tuple[str, object], ...]] = field(repr=False)

    @property
    def input_size(self) -> int:
        """Features per case (feed-forward) or per time step (sequences)."""
        return self.x_train.shape[-1]

    @property
    def length(self) -> int | None:
        """Time steps per sequence; None for a feed-forward task."""
        return self.x_train.shape[1] if self.x_train.dim() == 3 else None

    def __reduce__(self):
        name, params = self.recipe
        return _rebuild_task, (name, params)


def _rebuild_task(name: str, params: tuple[tuple[str, object], ...]) -> Task:
    return make_task(name, **dict(params))


@functools.lru_cache(maxsize=4)
def _digits(download: bool) -> tuple[data.Digits, data.Digits, str]:
    """MNIST train and test digits, and where they came from. Cached: notebooks call this per run."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", data.MNISTFallbackWarning)
        train_digits, test_digits = data.mnist("train", download=download), data.mnist("test", download=download)
    fallback = any(issubclass(w.category, data.MNISTFallbackWarning) for w in caught)
    source = (
        "the 10,000 MNIST digits shipped with lnviz (8,000 train, 2,000 test)"
        if fallback
        else "MNIST (60,000 train, 10,000 test)"
    )
    return train_digits, test_digits, source


def _first(n: int | None, *tensors: Tensor) -> tuple[Tensor, ...]:
    return tensors if n is None else tuple(t[:n] for t in tensors)


def sequential_mnist(
    pixels_per_step: int = 28, n_train: int | None = None, n_test: int | None = None, download: bool = False
) -> Task:
    """MNIST as sequences of 784 / pixels_per_step steps (28: one row per step), for recurrent models.

    x: (N, 784 // pixels_per_step, pixels_per_step) float32 in [0, 1]; y: (N,) int64 digits.
    n_train, n_test: the first that many digits (None: all). download=False takes full MNIST only if it
    is already cached (see `lnviz.data.mnist`) and otherwise the shipped digits, so a notebook never
    waits on the network.
    """
    positive_int(n_train, "n_train", "sequential_mnist", allow_none=True)
    positive_int(n_test, "n_test", "sequential_mnist", allow_none=True)
    train_digits, test_digits, source = _digits(download)
    x_train, y_train = _first(
        n_train, data.as_sequences(train_digits.images, pixels_per_step), torch.from_numpy(train_digits.labels)
    )
    x_test, y_test = _first(
        n_test, data.as_sequences(test_digits.images, pixels_per_step), torch.from_numpy(test_digits.labels)
    )
    steps = data.PIXELS // pixels_per_step
    return Task(
        f"sequential MNIST, {pixels_per_step} pixels per step ({steps} steps)",
        x_train,
        y_train,
        x_test,
        y_test,
        "cross_entropy",
        10,
        source,
        _recipe("sequential_mnist", pixels_per_step=pixels_per_step, n_train=n_train, n_test=n_test, download=download),
    )


def mnist_vectors(n_train: int | None = None, n_test: int | None = None, download: bool = False) -> Task:
    """MNIST images as 784-vectors, for the permutation-invariant network of Figure 6.

    A feed-forward net does not know which pixels are neighbours, so the pixels are left in order.
    x: (N, 784) float32 in [0, 1]; y: (N,) int64. Arguments as for `sequential_mnist`.
    """
    positive_int(n_train, "n_train", "mnist_vectors", allow_none=True)
    positive_int(n_test, "n_test", "mnist_vectors", allow_none=True)
    train_digits, test_digits, source = _digits(download)
    x_train, y_train = _first(n_train, data.as_vectors(train_digits.images), torch.from_numpy(train_digits.labels))
    x_test, y_test = _first(n_test, data.as_vectors(test_digits.images), torch.from_numpy(test_digits.labels))
    return Task(
        "permutation-invariant MNIST",
        x_train,
        y_train,
        x_test,
        y_test,
        "cross_entropy",
        10,
        source,
        _recipe("mnist", n_train=n_train, n_test=n_test, download=download),
    )


def adding_task(length: int = 50, n_train: int = 10_000, n_test: int = 1_000, seed: int = 0) -> Task:
    """The adding problem (`lnviz.data.adding_problem`): x (N, length, 2), y (N,) float32 sums.

    Training and test sequences come from different seeds. Predicting 1 for every sequence gives a
    mean squared error of 1/6 (`ADDING_CONSTANT_MSE`): a model below that has learned to carry the
    marked values.
    """
    positive_int(n_train, "n_train", "adding_task")
    positive_int(n_test, "n_test", "adding_task")
    x_train, y_train = data.adding_problem(n_train, length, seed)
    x_test, y_test = data.adding_problem(n_test, length, seed + _TEST_SEED_OFFSET)
    return Task(
        f"adding problem, {length} steps",
        x_train,
        y_train,
        x_test,
        y_test,
        "mse",
        1,
        "generated (lnviz.data.adding_problem)",
        _recipe("adding", length=length, n_train=n_train, n_test=n_test, seed=seed),
    )


#: The task makers by name, for `make_task` and for a Task's recipe.
TASKS: dict[str, Callable[..., Task]] = {
    "sequential_mnist": sequential_mnist,
    "mnist": mnist_vectors,
    "adding": adding_task,
}


def _recipe(name: str, **params: object) -> tuple[str, tuple[tuple[str, object], ...]]:
    return name, tuple(sorted(params.items()))


@functools.lru_cache(maxsize=8)
def _cached_task(name: str, params: tuple[tuple[str, object], ...]) -> Task:
    return TASKS[name](**dict(params))


def make_task(name: str, **params: object) -> Task:
    """The task `TASKS[name](**params)`, made once per process and then shared (tasks are read-only)."""
    if name not in TASKS:
        raise ValueError(f"task must be one of {tuple(TASKS)}, got {name!r}")
    return _cached_task(name, tuple(sorted(params.items())))


def common_order(task: Task, batch_sizes: Iterable[int]) -> Task:
    """The task made again with `n_train` cut to a multiple of every batch size.

    `train` draws a seeded permutation per epoch and cuts it into full mini-batches, dropping the
    remainder. With no remainder for any of `batch_sizes`, runs with the same seed see the same
    examples in the same order, however they are grouped into mini-batches. (For MNIST the new
    training set is the first digits of the old one; the adding problem is generated anew.)
    """
    sizes = list(batch_sizes)
    for size in sizes:
        positive_int(size, "every batch size", "common_order")
    multiple = math.lcm(*sizes)
    keep = len(task.y_train) - len(task.y_train) % multiple
    if keep == 0:
        raise ValueError(
            f"common_order expected at least {multiple} training cases (the lcm of the batch "
            f"sizes {sizes}), got {len(task.y_train)}"
        )
    if keep == len(task.y_train):
        return task
    name, params = task.recipe
    return make_task(name, **{**dict(params), "n_train": keep})
