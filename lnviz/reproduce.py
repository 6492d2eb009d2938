"""The paper's claims about training, measured on this machine: ``python -m lnviz.reproduce``.

Prints a markdown table with one row per claim: the claim, the setting, the seeds, the figures
measured and a verdict, "reproduces" or "does not reproduce at this scale". The numbers are
whatever the runs give. Every model (and every batch size) is trained at its best learning rate
from a small sweep, chosen by final training loss at the first seed; all models of a comparison see
the same examples in the same order (one seed, one data order) and the same number of them.

    python -m lnviz.reproduce                   # the default run: about 5 minutes on 2 cores
    python -m lnviz.reproduce --quick           # a smoke run of seconds: the table's shape, not its numbers
    python -m lnviz.reproduce --seeds 0 1 2 3 4 --rnn-steps 500 300 --workers 2

The rows:
1. LN-LSTM against LSTM on sequential MNIST, read one row per step (28 steps) and at a longer
   length: the fraction of the LSTM's steps that the LN-LSTM needs to reach the LSTM's final
   training loss (mean over seeds), and both final test accuracies. The paper (abstract; section 6,
   Figures 1-5): layer normalization "can substantially reduce the training time" of recurrent nets.
2. Figure 6: the permutation-invariant MNIST network (784-1000-1000-10 in the paper; narrower here)
   without normalization, with batch norm and with layer norm, trained at batch size 128 and 4 on
   the same number of examples: the test error of each. The paper: layer normalization "is robust
   to the batch sizes and exhibits a faster training convergence" than batch normalization.
3. The adding problem: the steps each model needs to get its training MSE below half that of the
   constant guess (always answering 1), i.e. to leave the plateau where both start.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import torch

from lnviz import runs, scheduler, tasks
from lnviz.validation import positive_int

__all__ = ["DEFAULT", "QUICK", "Row", "Settings", "main", "measure", "table"]

REPRODUCES = "reproduces"
DOES_NOT = "does not reproduce at this scale"

#: The adding problem's target: half the mean squared error of always answering 1. A model there has
#: left the constant guess's plateau for good.
ADDING_TARGET_MSE = tasks.ADDING_CONSTANT_MSE / 2


@dataclass(frozen=True)
class Settings:
    """Everything a reproduction run depends on. `DEFAULT` is the 5-minute run, `QUICK` a smoke run."""

    seeds: tuple[int, ...] = (0, 1, 2)
    workers: int = 2
    download: bool = False
    # rows 1: sequential MNIST, LSTM against LN-LSTM, at each number of pixels per step
    rnn_pixels_per_step: tuple[int, ...] = (28, 14)
    #: steps at each length: a step at the longer length costs twice as much
    rnn_steps: tuple[int, ...] = (250, 150)
    rnn_hidden: int = 64
    rnn_batch: int = 64
    rnn_records: int = 10
    rnn_lrs: tuple[float, ...] = (3e-3, 1e-2, 3e-2)
    rnn_n_train: int | None = None
    rnn_val_size: int | None = 1000
    clip_grad_norm: float = 1.0
    # rows 2: Figure 6
    mlp_hidden: tuple[int, ...] = (256, 256)
    mlp_batch_sizes: tuple[int, ...] = (128, 4)
    mlp_examples: int = 128 * 50
    mlp_records: int = 10
    #: the sweep at each batch size: a learning rate good at batch 128 is too large at batch 4
    mlp_lrs: tuple[tuple[int, tuple[float, ...]], ...] = ((128, (1e-3, 3e-3, 1e-2)), (4, (1e-4, 3e-4, 1e-3)))
    mlp_n_train: int | None = None
    # row 3: the adding problem
    adding: bool = True
    adding_length: int = 30
    adding_hidden: int = 64
    adding_batch: int = 64
    adding_steps: int = 200
    adding_records: int = 10
    adding_lrs: tuple[float, ...] = (3e-3, 1e-2, 3e-2)
    adding_n_train: int = 10_000


DEFAULT = Settings()

QUICK = Settings(
    seeds=(0, 1),
    workers=1,
    rnn_pixels_per_step=(28, 112),
    rnn_steps=(6, 6),
    rnn_hidden=8,
    rnn_batch=8,
    rnn_records=3,
    rnn_lrs=(3e-3, 1e-2),
    rnn_n_train=256,
    rnn_val_size=64,
    mlp_hidden=(16,),
    mlp_batch_sizes=(16, 4),
    mlp_examples=64,
    mlp_records=2,
    mlp_lrs=((16, (1e-3, 1e-2)), (4, (1e-3,))),
    mlp_n_train=256,
    adding_length=8,
    adding_hidden=8,
    adding_batch=8,
    adding_steps=6,
    adding_records=3,
    adding_lrs=(1e-2,),
    adding_n_train=256,
)


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    claim: str
    setting: str
    seeds: str
    measured: str
    verdict: str


# ----------------------------------------------------------------------------------------------------
# What is trained
# ----------------------------------------------------------------------------------------------------


def _lstm_trials(
    task: tasks.Task,
    s: Settings,
    hidden: int,
    batch: int,
    steps: int,
    records: int,
    lrs: tuple[float, ...],
    val_size: int | None,
) -> list[scheduler.Trial]:
    kwargs = dict(
        steps=steps,
        batch_size=batch,
        eval_every=max(1, steps // records),
        val_size=val_size,
        clip_grad_norm=s.clip_grad_norm,
    )
    return [
        scheduler.Trial(
            f"{task.title}|{runs.model_name('lstm', norm)}",
            runs.sequence_model(task, "lstm", norm, hidden),
            task,
            lrs,
            kwargs,
        )
        for norm in ("none", "layer")
    ]


def _mlp_trials(task: tasks.Task, s: Settings) -> list[scheduler.Trial]:
    lrs = dict(s.mlp_lrs)
    trials = []
    for batch in s.mlp_batch_sizes:
        steps, eval_every = runs.schedule(s.mlp_examples, batch, s.mlp_records)
        for norm in ("none", "batch", "layer"):
            if runs.feasible(norm, batch):
                trials.append(
                    scheduler.Trial(
                        f"mlp|{norm}|{batch}",
                        runs.mlp_model(task, norm, s.mlp_hidden),
                        task,
                        lrs[batch],
                        dict(steps=steps, batch_size=batch, eval_every=eval_every, val_size=None),
                    )
                )
    return trials


def _trials(s: Settings) -> tuple[list[tasks.Task], tasks.Task, tasks.Task | None, list[scheduler.Trial]]:
    sequences = [
        tasks.make_task("sequential_mnist", pixels_per_step=k, n_train=s.rnn_n_train, download=s.download)
        for k in s.rnn_pixels_per_step
    ]
    vectors = tasks.common_order(
        tasks.make_task("mnist", n_train=s.mlp_n_train, download=s.download), s.mlp_batch_sizes
    )
    adding = tasks.make_task("adding", length=s.adding_length, n_train=s.adding_n_train) if s.adding else None
    trials = [
        t
        for task, steps in zip(sequences, s.rnn_steps, strict=True)
        for t in _lstm_trials(task, s, s.rnn_hidden, s.rnn_batch, steps, s.rnn_records, s.rnn_lrs, s.rnn_val_size)
    ]
    trials += _mlp_trials(vectors, s)
    if adding is not None:
        trials += _lstm_trials(
            adding, s, s.adding_hidden, s.adding_batch, s.adding_steps, s.adding_records, s.adding_lrs, None
        )
    return sequences, vectors, adding, trials


# ----------------------------------------------------------------------------------------------------
# From runs to rows
# ----------------------------------------------------------------------------------------------------


def _seeds(s: Settings) -> str:
    return ", ".join(map(str, s.seeds))


def _lr(tuned: scheduler.Tuned) -> str:
    return f"{tuned.lr:g}" + (" (edge of sweep)" if tuned.sweep.at_edge else "")


def _fractions(lstm: scheduler.Tuned, ln: scheduler.Tuned) -> list[float | None]:
    return [runs.steps_fraction(ln_run, lstm_run) for lstm_run, ln_run in zip(lstm.runs, ln.runs)]


def _fraction_text(fractions: list[float | None]) -> str:
    shown = ", ".join("never" if f is None else f"{f:.2f}" for f in fractions)
    reached = [f for f in fractions if f is not None]
    mean = (
        f"{statistics.mean(reached):.2f}"
        if len(reached) == len(fractions)
        else f"not reached in {len(fractions) - len(reached)} of {len(fractions)} seeds"
    )
    return f"{mean} (per seed: {shown})"


def _mean_final(tuned: scheduler.Tuned, key: str) -> float:
    return statistics.mean(getattr(h, key)[-1] for h in tuned.runs)


def _lstm_setting(
    task: tasks.Task, lstm: scheduler.Tuned, ln: scheduler.Tuned, s: Settings, steps: int, batch: int, hidden: int
) -> str:
    return (
        f"{task.title}; hidden {hidden}, batch {batch}, {steps} steps, Adam, clip {s.clip_grad_norm:g}; "
        f"lr LSTM {_lr(lstm)}, LN-LSTM {_lr(ln)}; {len(task.y_train):,} training cases"
    )


def _lstm_row(
    task: tasks.Task, tuned: dict[str, scheduler.Tuned], s: Settings, steps: int, batch: int, hidden: int
) -> Row:
    """Sequential MNIST: the steps LN-LSTM needs to reach LSTM's final training loss, per seed."""
    lstm, ln = tuned[f"{task.title}|LSTM"], tuned[f"{task.title}|LN-LSTM"]
    fractions = _fractions(lstm, ln)
    faster = all(f is not None and f < 1 for f in fractions)
    measured = (
        f"steps LN-LSTM needs to reach LSTM's final training loss, as a fraction of LSTM's: "
        f"{_fraction_text(fractions)}; final test accuracy LSTM {_mean_final(lstm, 'val_accuracy'):.1%}, "
        f"LN-LSTM {_mean_final(ln, 'val_accuracy'):.1%}"
    )
    return Row(
        "LN-LSTM trains faster than LSTM (abstract; section 6, Figures 1-5)",
        _lstm_setting(task, lstm, ln, s, steps, batch, hidden),
        _seeds(s),
        measured,
        REPRODUCES if faster else DOES_NOT,
    )


def _adding_row(task: tasks.Task, tuned: dict[str, scheduler.Tuned], s: Settings) -> Row:
    """The adding problem: the steps each model needs to leave the constant guess's plateau.

    The LSTM's own final loss is no target here: a model that has not left the plateau ends on it,
    and the other model reaches that level at once. The target is half the constant guess's MSE.
    """
    lstm, ln = tuned[f"{task.title}|LSTM"], tuned[f"{task.title}|LN-LSTM"]
    reached = {name: [h.reach(ADDING_TARGET_MSE) for h in t.runs] for name, t in (("LSTM", lstm), ("LN-LSTM", ln))}
    shown = "; ".join(
        f"{name} " + ", ".join("never" if r is None else f"{r:.0f}" for r in steps) for name, steps in reached.items()
    )
    measured = (
        f"steps to reach training MSE {ADDING_TARGET_MSE:.3f} (half the constant guess's "
        f"{tasks.ADDING_CONSTANT_MSE:.3f}), "
        f"per seed: {shown}; final test MSE LSTM {_mean_final(lstm, 'val_loss'):.3f}, "
        f"LN-LSTM {_mean_final(ln, 'val_loss'):.3f}"
    )
    if all(r is None for steps in reached.values() for r in steps):
        verdict = f"{DOES_NOT}: neither model leaves the constant guess's plateau, so the task does not separate them"
    else:
        faster = all(n is not None and (l is None or n < l) for l, n in zip(reached["LSTM"], reached["LN-LSTM"]))
        verdict = REPRODUCES if faster else DOES_NOT
    return Row(
        "LN-LSTM trains faster than LSTM on the adding problem",
        _lstm_setting(task, lstm, ln, s, s.adding_steps, s.adding_batch, s.adding_hidden),
        _seeds(s),
        measured,
        verdict,
    )


_NORM_LABELS = (("none", "no norm"), ("batch", "BN"), ("layer", "LN"))


def _mlp_rows(task: tasks.Task, tuned: dict[str, scheduler.Tuned], s: Settings) -> list[Row]:
    errors: dict[tuple[str, int], float] = {}
    for name, t in tuned.items():
        if name.startswith("mlp|"):
            _, norm, batch = name.split("|")
            errors[norm, int(batch)] = statistics.mean(1 - h.val_accuracy[-1] for h in t.runs)
    large, small = max(s.mlp_batch_sizes), min(s.mlp_batch_sizes)
    width = "-".join(map(str, (784, *s.mlp_hidden, 10)))
    rows = []
    for batch in (large, small):
        lrs = ", ".join(
            f"{label} {_lr(tuned[f'mlp|{n}|{batch}'])}" for n, label in _NORM_LABELS if f"mlp|{n}|{batch}" in tuned
        )
        setting = (
            f"Figure 6 network {width} (paper: 784-1000-1000-10), batch {batch}, "
            f"{s.mlp_examples:,} examples seen ({s.mlp_examples // batch:,} steps), Adam; lr {lrs}; "
            f"{len(task.y_train):,} training digits"
        )
        shown = ", ".join(
            f"{label} {errors[norm, batch]:.2%}"
            if (norm, batch) in errors
            else f"{label} n/a (batch norm needs 2 cases)"
            for norm, label in _NORM_LABELS
        )
        measured = f"test error: {shown}"
        if batch == large:
            claim = "Figure 6: LN trains faster than BN (test error after the same examples)"
            holds = errors["layer", batch] < errors["batch", batch]
        else:
            claim = (
                f"Figure 6: LN is robust to the batch size: at batch {batch} LN beats BN, and loses less "
                f"than BN going from batch {large} to {small}"
            )
            ln_loss = errors["layer", small] - errors["layer", large]
            if ("batch", small) in errors:
                bn_loss = errors["batch", small] - errors["batch", large]
                holds = errors["layer", small] < errors["batch", small] and ln_loss < bn_loss
                measured += f"; change from batch {large}: BN {bn_loss:+.2%}, LN {ln_loss:+.2%}"
            else:
                holds = True
                measured += f"; change from batch {large}: LN {ln_loss:+.2%}"
        rows.append(Row(claim, setting, _seeds(s), measured, REPRODUCES if holds else DOES_NOT))
    return rows


def measure(s: Settings = DEFAULT, say=print) -> list[Row]:
    """Train every model of every row (see the module's docstring) and return the table's rows.

    `say` receives progress messages (print by default; pass `lambda *_: None` for silence).
    """
    sequences, vectors, adding, trials = _trials(s)
    say(
        f"{len(trials)} models, {sum(len(t.lrs) for t in trials)} sweep runs and "
        f"{len(trials) * (len(s.seeds) - 1)} more seeds, on {s.workers} worker(s); data: {vectors.source}"
    )
    tuned = scheduler.tune(trials, s.seeds, workers=s.workers)
    rows = [_lstm_row(task, tuned, s, steps, s.rnn_batch, s.rnn_hidden) for task, steps in zip(sequences, s.rnn_steps)]
    rows += _mlp_rows(vectors, tuned, s)
    if adding is not None:
        rows.append(_adding_row(adding, tuned, s))
    return rows


def table(rows: Sequence[Row]) -> str:
    """The rows as a markdown table."""
    header = [f.name for f in fields(Row)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(getattr(row, h)).replace("|", "/") for h in header) + " |")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lnviz.reproduce",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of seconds: tiny models and data")
    parser.add_argument("--seeds", type=int, nargs="+", help=f"seeds (default {' '.join(map(str, DEFAULT.seeds))})")
    parser.add_argument(
        "--rnn-steps",
        type=int,
        nargs="+",
        help="training steps of each LSTM run on sequential MNIST, one number per length "
        f"(default {' '.join(map(str, DEFAULT.rnn_steps))})",
    )
    parser.add_argument(
        "--mlp-examples", type=int, help=f"examples seen by each Figure 6 run (default {DEFAULT.mlp_examples})"
    )
    parser.add_argument(
        "--adding-steps", type=int, help=f"steps of each adding-problem run (default {DEFAULT.adding_steps})"
    )
    parser.add_argument("--no-adding", action="store_true", help="leave out the adding problem")
    parser.add_argument("--workers", type=int, help=f"worker processes (default {DEFAULT.workers}; 1 runs in this one)")
    parser.add_argument(
        "--download",
        action="store_true",
        help="download full MNIST if it is not cached (default: the cache, else the shipped digits)",
    )
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings the command line asks for: `QUICK` or `DEFAULT`, with the flags given applied.

    Raises ValueError naming the option and what it expects when a value cannot be run.
    """
    s = QUICK if args.quick else DEFAULT
    for option in ("workers", "mlp_examples", "adding_steps"):
        if getattr(args, option) is not None:
            positive_int(getattr(args, option), "--" + option.replace("_", "-"), "lnviz.reproduce")
    for step_count in args.rnn_steps or ():
        positive_int(step_count, "each of --rnn-steps", "lnviz.reproduce")
    changes = {
        name: value
        for name, value in (
            ("mlp_examples", args.mlp_examples),
            ("adding_steps", args.adding_steps),
            ("workers", args.workers),
        )
        if value is not None
    }
    if args.seeds:
        changes["seeds"] = tuple(args.seeds)
    if args.rnn_steps:
        if len(args.rnn_steps) != len(s.rnn_pixels_per_step):
            raise ValueError(
                f"--rnn-steps expected {len(s.rnn_pixels_per_step)} numbers, one per length "
                f"{s.rnn_pixels_per_step}, got {args.rnn_steps}"
            )
        changes["rnn_steps"] = tuple(args.rnn_steps)
    if args.no_adding:
        changes["adding"] = False
    if args.download:
        changes["download"] = True
    s = replace(s, **changes)
    # runs.schedule's rule: every batch size sees the same examples and is recorded at the same ones.
    multiple = s.mlp_records * math.lcm(*s.mlp_batch_sizes)
    if s.mlp_examples % multiple:
        raise ValueError(
            f"--mlp-examples expected a multiple of {multiple} ({s.mlp_records} records at batch sizes "
            f"{', '.join(map(str, s.mlp_batch_sizes))}), got {s.mlp_examples}"
        )
    return s


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; bad options end it with a usage message and exit status 2, as argparse does."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        s = settings_from(args)
    except ValueError as err:
        parser.error(str(err))
    # One thread per process: these models are small enough that Python's per-operation overhead,
    # not arithmetic, sets the pace, and the cores are better spent on parallel runs.
    torch.set_num_threads(1)
    start = time.perf_counter()
    rows = measure(s, say=lambda message: print(message, file=sys.stderr, flush=True))
    minutes = (time.perf_counter() - start) / 60
    print(table(rows))
    print(
        f"\nMeasured in {minutes:.1f} min on {platform.machine()} ({platform.processor() or 'cpu'}), "
        f"{scheduler.default_workers()} cores, torch {torch.__version__}, {s.workers} worker(s), "
        f"{'--quick' if args.quick else 'default settings'}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
