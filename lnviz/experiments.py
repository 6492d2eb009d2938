"""The training experiments behind notebooks 4 and 5 and `python -m lnviz.reproduce`.

Tasks (`Task`): sequential MNIST read k pixels per step, the adding problem, and MNIST as vectors
for the paper's Figure 6 network. Model factories (`sequence_model`, `mlp_model`) build fresh
models for `lnviz.train.train`, which seeds them. On top of one run (`run`):

- `lr_sweep` trains one model at a few learning rates and picks the one with the lowest final
  training loss (the test set plays no part in the choice);
- `reach` and `steps_fraction` read a history as "steps to reach a target loss": the paper's claim
  that layer normalization speeds up training (the recurrent experiments of section 6, Figures 1-5), made a number;
- `schedule` and `common_order` compare batch sizes fairly (Figure 6): the same number of examples
  seen, records at the same examples, and the same examples in the same order.

A `Job` is one run described by picklable parts, so that `run_jobs` can hand runs to worker
processes; a `Task` pickles as its recipe, and each worker rebuilds it (once) instead of receiving
its tensors. Nothing here imports plotly.
"""

from __future__ import annotations

import contextlib
import functools
import math
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from lnviz import data
from lnviz.models import CELLS, MLP, NORMS, SequenceClassifier, SequenceRegressor
from lnviz.train import History, train

__all__ = [
    "ADDING_CONSTANT_MSE",
    "NORM_PREFIX",
    "TASKS",
    "X_AXES",
    "Job",
    "Sweep",
    "Task",
    "Trial",
    "Tuned",
    "adding_task",
    "common_order",
    "default_workers",
    "feasible",
    "final_loss",
    "lr_sweep",
    "make_task",
    "mlp_model",
    "mnist_vectors",
    "model_name",
    "reach",
    "run",
    "run_jobs",
    "schedule",
    "sequence_model",
    "sequential_mnist",
    "steps_fraction",
    "threads",
    "tune",
]

#: How a normalization shows in a model's name: "LN-LSTM", "BN-LSTM", "LSTM".
NORM_PREFIX: dict[str, str] = {"none": "", "layer": "LN-", "batch": "BN-"}

#: The x-axes a history can be read against: History field -> axis title.
X_AXES: dict[str, str] = {"examples": "training examples seen", "step": "training step",
                          "wall_time": "seconds of training"}

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
    source = ("the 10,000 MNIST digits shipped with lnviz (8,000 train, 2,000 test)" if fallback
              else "MNIST (60,000 train, 10,000 test)")
    return train_digits, test_digits, source


def _first(n: int | None, *tensors: Tensor) -> tuple[Tensor, ...]:
    return tensors if n is None else tuple(t[:n] for t in tensors)


def _check_positive(name: str, value: object, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not (isinstance(value, int) and value > 0):
        raise ValueError(f"{name} must be a positive int{' or None' if allow_none else ''}, got {value!r}")


def sequential_mnist(pixels_per_step: int = 28, n_train: int | None = None, n_test: int | None = None,
                     download: bool = False) -> Task:
    """MNIST as sequences of 784 / pixels_per_step steps (28: one row per step), for recurrent models.

    x: (N, 784 // pixels_per_step, pixels_per_step) float32 in [0, 1]; y: (N,) int64 digits.
    n_train, n_test: the first that many digits (None: all). download=False takes full MNIST only if it
    is already cached (see `lnviz.data.mnist`) and otherwise the shipped digits, so a notebook never
    waits on the network.
    """
    _check_positive("n_train", n_train, allow_none=True)
    _check_positive("n_test", n_test, allow_none=True)
    train_digits, test_digits, source = _digits(download)
    x_train, y_train = _first(n_train, data.as_sequences(train_digits.images, pixels_per_step),
                              torch.from_numpy(train_digits.labels))
    x_test, y_test = _first(n_test, data.as_sequences(test_digits.images, pixels_per_step),
                            torch.from_numpy(test_digits.labels))
    steps = data.PIXELS // pixels_per_step
    return Task(f"sequential MNIST, {pixels_per_step} pixels per step ({steps} steps)", x_train, y_train,
                x_test, y_test, "cross_entropy", 10, source,
                _recipe("sequential_mnist", pixels_per_step=pixels_per_step, n_train=n_train,
                        n_test=n_test, download=download))


def mnist_vectors(n_train: int | None = None, n_test: int | None = None, download: bool = False) -> Task:
    """MNIST images as 784-vectors, for the permutation-invariant network of Figure 6.

    A feed-forward net does not know which pixels are neighbours, so the pixels are left in order.
    x: (N, 784) float32 in [0, 1]; y: (N,) int64. Arguments as for `sequential_mnist`.
    """
    _check_positive("n_train", n_train, allow_none=True)
    _check_positive("n_test", n_test, allow_none=True)
    train_digits, test_digits, source = _digits(download)
    x_train, y_train = _first(n_train, data.as_vectors(train_digits.images), torch.from_numpy(train_digits.labels))
    x_test, y_test = _first(n_test, data.as_vectors(test_digits.images), torch.from_numpy(test_digits.labels))
    return Task("permutation-invariant MNIST", x_train, y_train, x_test, y_test, "cross_entropy", 10, source,
                _recipe("mnist", n_train=n_train, n_test=n_test, download=download))


def adding_task(length: int = 50, n_train: int = 10_000, n_test: int = 1_000, seed: int = 0) -> Task:
    """The adding problem (`lnviz.data.adding_problem`): x (N, length, 2), y (N,) float32 sums.

    Training and test sequences come from different seeds. Predicting 1 for every sequence gives a
    mean squared error of 1/6 (`ADDING_CONSTANT_MSE`): a model below that has learned to carry the
    marked values.
    """
    _check_positive("n_train", n_train)
    _check_positive("n_test", n_test)
    x_train, y_train = data.adding_problem(n_train, length, seed)
    x_test, y_test = data.adding_problem(n_test, length, seed + _TEST_SEED_OFFSET)
    return Task(f"adding problem, {length} steps", x_train, y_train, x_test, y_test, "mse", 1,
                "generated (lnviz.data.adding_problem)",
                _recipe("adding", length=length, n_train=n_train, n_test=n_test, seed=seed))


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


# ----------------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------------

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
        raise ValueError(f"sequence_model expected a task of sequences, got {task.title!r} with x of shape "
                         f"{tuple(task.x_train.shape)}")
    if task.loss == "mse":
        return functools.partial(SequenceRegressor, kind, norm, task.input_size, hidden_size, task.length)
    return functools.partial(SequenceClassifier, kind, norm, task.input_size, hidden_size, task.n_outputs,
                             task.length)


def mlp_model(task: Task, norm: str, hidden: Sequence[int] = (256, 256)) -> Callable[[], nn.Module]:
    """A factory of fresh `MLP`s (Figure 6's network, `hidden` wide) for a feed-forward `task`."""
    if task.length is not None:
        raise ValueError(f"mlp_model expected a task of vectors, got {task.title!r} with x of shape "
                         f"{tuple(task.x_train.shape)}")
    return functools.partial(MLP, task.input_size, tuple(hidden), task.n_outputs, norm)


def feasible(norm: str, batch_size: int) -> bool:
    """Whether a model with `norm` can train at `batch_size`: batch norm needs two cases per mini-batch
    (the variance of one number is 0, and torch refuses, as `lnviz.norms.BatchNorm` does)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    return not (norm == "batch" and batch_size < 2)


# ----------------------------------------------------------------------------------------------------
# Runs
# ----------------------------------------------------------------------------------------------------

def run(make_model: Callable[[], nn.Module], task: Task, **train_kwargs: object) -> History:
    """`lnviz.train.train` on the task's training set, scored on its test set.

    train_kwargs: those of `train` (steps, batch_size, lr, seed, eval_every, val_size, clip_grad_norm,
    progress, callback, ...). The curves a notebook draws as "validation" are the test set's, as in
    the paper's figures; no choice is made on them (`lr_sweep` chooses by training loss).
    """
    return train(make_model, task.x_train, task.y_train, task.x_test, task.y_test, loss=task.loss,
                 **train_kwargs)


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch threads, then restore the caller's number.

    The notebooks' models are small enough that Python's per-operation overhead sets the pace:
    one thread is faster than several, and on a busy machine several threads waiting for each
    other can make every operation many times slower.
    """
    _check_positive("n", n)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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


def lr_sweep(make_model: Callable[[], nn.Module], task: Task, lrs: Iterable[float],
             **train_kwargs: object) -> Sweep:
    """Train `make_model` on `task` once per learning rate, with the same seed, data order and steps."""
    lrs = sorted(set(lrs))
    if not lrs or any(not lr > 0 for lr in lrs):
        raise ValueError(f"lrs must be one or more positive learning rates, got {lrs!r}")
    return Sweep({lr: run(make_model, task, lr=lr, **train_kwargs) for lr in lrs})


def reach(history: History, target: float, x: str = "step") -> float | None:
    """Where the smoothed training loss first gets to `target` or below, in units of `x` (a key of
    `X_AXES`: steps, examples or seconds); None if it never does. Exact to one evaluation interval."""
    if x not in X_AXES:
        raise ValueError(f"x must be one of {tuple(X_AXES)}, got {x!r}")
    index = next((i for i, loss in enumerate(history.train_loss) if loss <= target), None)
    return None if index is None else getattr(history, x)[index]


def steps_fraction(history: History, reference: History, x: str = "step") -> float | None:
    """The steps `history` needs to reach `reference`'s final training loss, as a fraction of the
    steps `reference` needs (at most all of them); None if `history` never gets there.

    Below 1: `history` trains faster. The paper's claim for LN-LSTM against LSTM, made a number.
    """
    target = final_loss(reference)
    if not math.isfinite(target):
        raise ValueError("steps_fraction expected a reference run with a finite final training loss, "
                         f"got {reference.train_loss[-1:]}")
    steps = reach(history, target, x)
    return None if steps is None else steps / reach(reference, target, x)


# ----------------------------------------------------------------------------------------------------
# Batch sizes compared fairly (Figure 6)
# ----------------------------------------------------------------------------------------------------

def schedule(examples: int, batch_size: int, records: int) -> tuple[int, int]:
    """(steps, eval_every) that show `examples` training examples at `batch_size` and record the run
    `records` times, every examples / records examples, whatever the batch size.

    Raises ValueError unless `examples` splits into `records` intervals of whole mini-batches.
    """
    for name, value in (("examples", examples), ("batch_size", batch_size), ("records", records)):
        _check_positive(name, value)
    if examples % (records * batch_size):
        raise ValueError(
            f"examples must be a multiple of records * batch_size = {records * batch_size} so that every "
            f"batch size is recorded at the same examples, got {examples}"
        )
    steps = examples // batch_size
    return steps, steps // records


def common_order(task: Task, batch_sizes: Iterable[int]) -> Task:
    """The task made again with `n_train` cut to a multiple of every batch size.

    `train` draws a seeded permutation per epoch and cuts it into full mini-batches, dropping the
    remainder. With no remainder for any of `batch_sizes`, runs with the same seed see the same
    examples in the same order, however they are grouped into mini-batches. (For MNIST the new
    training set is the first digits of the old one; the adding problem is generated anew.)
    """
    sizes = list(batch_sizes)
    for size in sizes:
        _check_positive("every batch size", size)
    multiple = math.lcm(*sizes)
    keep = len(task.y_train) - len(task.y_train) % multiple
    if keep == 0:
        raise ValueError(f"common_order expected at least {multiple} training cases (the lcm of the batch "
                         f"sizes {sizes}), got {len(task.y_train)}")
    if keep == len(task.y_train):
        return task
    name, params = task.recipe
    return make_task(name, **{**dict(params), "n_train": keep})


# ----------------------------------------------------------------------------------------------------
# Many runs, in worker processes
# ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """One run, described by picklable parts: `run(make_model, task, **train_kwargs)`.

    train_kwargs: those of `train` except progress and callback (a job runs silently).
    """

    make_model: Callable[[], nn.Module]
    task: Task
    train_kwargs: Mapping[str, object]

    def __call__(self) -> History:
        history = run(self.make_model, self.task, progress=False, **self.train_kwargs)
        history.model = None  # the numbers are what a caller collects; models stay in the worker
        return history

    @property
    def cost(self) -> int:
        """A rough measure of the job's length, to start the longest jobs first: steps x time steps
        (1000 steps where the job leaves them to `train`'s default)."""
        return int(self.train_kwargs.get("steps", 1000)) * (self.task.length or 1)


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def _call(job: Job) -> History:
    return job()


class _InProcess:
    """An executor that runs each job at once, in this process: `workers=1`."""

    def submit(self, fn: Callable[[Job], History], job: Job) -> Future:
        future: Future = Future()
        future.set_result(fn(job))
        return future


def _pool(workers: int, threads: int) -> contextlib.AbstractContextManager[ProcessPoolExecutor | _InProcess]:
    """Worker processes (spawned, each with `threads` torch threads), or this process for one worker."""
    _check_positive("workers", workers)
    _check_positive("threads", threads)
    if workers == 1:
        return contextlib.nullcontext(_InProcess())
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads,))


def _longest_first(jobs: Sequence[Job]) -> list[int]:
    """Job indices, longest first, so that no long job starts last while the other workers sit idle."""
    return sorted(range(len(jobs)), key=lambda i: -jobs[i].cost)


def run_jobs(jobs: Sequence[Job], workers: int = 1, threads: int = 1) -> list[History]:
    """Every job's History, in order. workers > 1 runs them in that many fresh processes (spawned,
    each with `threads` torch threads): runs this small are limited by Python's per-operation
    overhead, which more threads do not reduce but more processes do. The numbers do not depend on
    `workers`: each run is seeded on its own."""
    with _pool(workers, threads) as pool:
        futures = {i: pool.submit(_call, jobs[i]) for i in _longest_first(jobs)}
        return [futures[i].result() for i in range(len(jobs))]


@dataclass(frozen=True)
class Trial:
    """One model in one setting, to be trained at its best learning rate among `lrs` (see `tune`).

    train_kwargs: those of `train` except lr, seed, progress and callback.
    """

    name: str
    make_model: Callable[[], nn.Module]
    task: Task
    lrs: tuple[float, ...]
    train_kwargs: Mapping[str, object]

    def __post_init__(self) -> None:
        if not self.lrs or any(not lr > 0 for lr in self.lrs):
            raise ValueError(f"Trial {self.name!r} expected one or more positive learning rates, got {self.lrs!r}")


@dataclass
class Tuned:
    """A trial tuned: its `sweep` (every learning rate, first seed) and `runs`, one per seed at the
    best learning rate (`runs[0]` is the sweep's best run itself)."""

    sweep: Sweep
    runs: list[History]

    @property
    def lr(self) -> float:
        return self.sweep.best_lr


def tune(trials: Sequence[Trial], seeds: Sequence[int], workers: int = 1) -> dict[str, Tuned]:
    """Sweep each trial's learning rates at seeds[0], then train it at its best rate with the other
    seeds. Trials run with the same seed see the same data in the same order. Returns name -> Tuned.

    With `workers` processes, a trial's other seeds start as soon as its own sweep is done, not when
    every sweep is: no worker waits for the slowest sweep. The numbers do not depend on `workers`.
    """
    if not seeds:
        raise ValueError("tune expected at least one seed, got none")
    names = [t.name for t in trials]
    if len(set(names)) != len(names):
        raise ValueError(f"tune expected trials with distinct names, got {names}")
    first, rest = seeds[0], list(seeds[1:])
    grid = [(t, lr) for t in trials for lr in sorted(set(t.lrs))]
    jobs = [Job(t.make_model, t.task, {**t.train_kwargs, "lr": lr, "seed": first}) for t, lr in grid]
    swept: dict[str, dict[float, History]] = {t.name: {} for t in trials}
    later: dict[str, list[Future]] = {}
    with _pool(workers, 1) as pool:
        sweeping = {pool.submit(_call, jobs[i]): grid[i] for i in _longest_first(jobs)}
        for future in as_completed(sweeping):
            trial, lr = sweeping[future]
            swept[trial.name][lr] = future.result()
            if len(swept[trial.name]) == len(set(trial.lrs)):
                best = Sweep(swept[trial.name]).best_lr
                later[trial.name] = [pool.submit(_call, Job(trial.make_model, trial.task,
                                                            {**trial.train_kwargs, "lr": best, "seed": seed}))
                                     for seed in rest]
        tuned = {}
        for t in trials:
            sweep = Sweep(swept[t.name])
            tuned[t.name] = Tuned(sweep, [sweep.best] + [f.result() for f in later[t.name]])
    return tuned


def default_workers() -> int:
    """Worker processes for `run_jobs`: one per available core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
