"""Many runs at once: worker processes for `python -m lnviz.reproduce`, and the torch thread count.

A `Job` is one run (`lnviz.runs.run`) described by picklable parts, so that `run_jobs` can hand runs to
worker processes; `tune` sweeps learning rates and then trains more seeds at the best one.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import torch
from torch import nn

from lnviz.runs import Sweep, run
from lnviz.tasks import Task
from lnviz.train import History
from lnviz.validation import positive_int

__all__ = ["Job", "Trial", "Tuned", "default_workers", "run_jobs", "threads", "tune"]


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch threads, then restore the caller's number.

    The notebooks' models are small enough that Python's per-operation overhead sets the pace:
    one thread is faster than several, and on a busy machine several threads waiting for each
    other can make every operation many times slower.
    """
    positive_int(n, "n", "threads")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
    positive_int(workers, "workers", "run_jobs")
    positive_int(threads, "threads", "run_jobs")
    if workers == 1:
        return contextlib.nullcontext(_InProcess())
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(threads,)
    )


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
                later[trial.name] = [
                    pool.submit(
                        _call, Job(trial.make_model, trial.task, {**trial.train_kwargs, "lr": best, "seed": seed})
                    )
                    for seed in rest
                ]
        tuned = {}
        for t in trials:
            sweep = Sweep(swept[t.name])
            tuned[t.name] = Tuned(sweep, [sweep.best] + [f.result() for f in later[t.name]])
    return tuned


def default_workers() -> int:
    """Worker processes for `run_jobs`: one per available core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
