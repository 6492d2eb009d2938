"""`python -m lnviz.reproduce`: the smoke run prints every row, and each verdict follows from the numbers."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest

from lnviz import reproduce, runs, scheduler, tasks
from lnviz.reproduce import DOES_NOT, QUICK, REPRODUCES, Row
from lnviz.train import History

# tiny models: one thread is faster, and much faster on a busy machine (fixture in conftest.py)
pytestmark = pytest.mark.usefixtures("one_thread")


def test_quick_run_prints_a_markdown_table_with_every_row(capsys):
    assert reproduce.main(["--quick"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("|")]
    assert lines[0] == "| claim | setting | seeds | measured | verdict |"
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    # sequential MNIST at two lengths, Figure 6 at two batch sizes, the adding problem
    assert len(rows) == 5
    assert all(len(row) == 5 for row in rows)
    assert [("28 steps" in r[1], "7 steps" in r[1]) for r in rows[:2]] == [(True, False), (False, True)]
    assert "batch 16" in rows[2][1] and "batch 4" in rows[3][1] and "adding problem" in rows[4][1]
    assert all(row[2] == "0, 1" for row in rows)
    assert all(row[4].startswith((REPRODUCES, DOES_NOT)) for row in rows)
    assert "Measured in" in out and "--quick" in out


def test_flags_change_the_settings():
    args = reproduce._parser().parse_args(
        ["--seeds", "3", "4", "--rnn-steps", "50", "40", "--no-adding", "--workers", "1"]
    )
    s = reproduce.settings_from(args)
    assert (s.seeds, s.rnn_steps, s.adding, s.workers) == ((3, 4), (50, 40), False, 1)
    assert s.mlp_examples == reproduce.DEFAULT.mlp_examples
    assert reproduce.settings_from(reproduce._parser().parse_args(["--quick"])) == QUICK


def test_a_bad_option_value_gets_a_usage_message_and_status_2_from_the_real_command():
    done = subprocess.run(
        [sys.executable, "-m", "lnviz.reproduce", "--workers", "0"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("usage: python -m lnviz.reproduce")
    assert "--workers to be a positive int, got 0" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--workers", "-2"], "--workers to be a positive int, got -2"),
        (["--rnn-steps", "-5", "10"], "each of --rnn-steps to be a positive int, got -5"),
        (["--rnn-steps", "0", "10"], "each of --rnn-steps to be a positive int, got 0"),
        (["--rnn-steps", "5"], r"--rnn-steps expected 2 numbers, one per length \(28, 14\), got \[5\]"),
        (["--adding-steps", "-1"], "--adding-steps to be a positive int, got -1"),
        (["--mlp-examples", "-1280"], "--mlp-examples to be a positive int, got -1280"),
        (["--mlp-examples", "1000"], r"--mlp-examples expected a multiple of 1280 \(10 records at batch sizes 128, 4"),
        (["--quick", "--mlp-examples", "100"], "--mlp-examples expected a multiple of 32"),
        (["--workers", "two"], "argument --workers: invalid int value: 'two'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_options_exit_2_with_a_usage_message_before_anything_trains(capsys, monkeypatch, argv, expected):
    monkeypatch.setattr(reproduce, "measure", lambda *args, **kwargs: pytest.fail("trained despite a bad option"))
    with pytest.raises(SystemExit) as stop:
        reproduce.main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m lnviz.reproduce") and re.search(expected, err)


def test_without_the_adding_problem_there_is_no_adding_row(capsys):
    reproduce.main(["--quick", "--no-adding", "--seeds", "0"])
    out = capsys.readouterr().out
    assert "adding problem" not in out and out.count("| reproduces") + out.count("| does not") == 4


# ----------------------------------------------------------------------------------------------------
# Verdicts from given numbers
# ----------------------------------------------------------------------------------------------------


def history(losses: list[float], accuracy: float = 0.9, val_loss: float = 0.5) -> History:
    steps = [10 * (i + 1) for i in range(len(losses))]
    return History(
        batch_size=8,
        loss="cross_entropy",
        step=steps,
        examples=[8 * s for s in steps],
        train_loss=losses,
        val_loss=[val_loss] * len(losses),
        val_accuracy=[accuracy] * len(losses),
        wall_time=[float(s) for s in steps],
        grad_norm=[1.0] * len(losses),
    )


def tuned(*histories: History) -> scheduler.Tuned:
    return scheduler.Tuned(runs.Sweep({1e-3: histories[0]}), list(histories))


@pytest.fixture(scope="module")
def task() -> tasks.Task:
    return tasks.make_task("adding", length=4, n_train=32, n_test=8)


def test_lstm_row_reproduces_when_ln_is_faster_for_every_seed(task):
    s = dataclasses.replace(QUICK, seeds=(0, 1))
    lstm = tuned(history([2.0, 1.0, 0.5, 0.4]), history([2.0, 1.0, 0.6, 0.5]))
    ln = tuned(history([1.0, 0.4, 0.3, 0.2]), history([1.0, 0.5, 0.3, 0.2]))
    row = reproduce._lstm_row(task, {f"{task.title}|LSTM": lstm, f"{task.title}|LN-LSTM": ln}, s, 40, 8, 8)
    assert row.verdict == REPRODUCES
    assert "0.50 (per seed: 0.50, 0.50)" in row.measured
    slower = tuned(history([2.0, 1.5, 1.0, 0.6]), history([2.0, 1.9, 1.8, 0.45]))
    row = reproduce._lstm_row(task, {f"{task.title}|LSTM": lstm, f"{task.title}|LN-LSTM": slower}, s, 40, 8, 8)
    assert row.verdict == DOES_NOT and "not reached in 1 of 2 seeds" in row.measured


def test_adding_row_counts_the_steps_to_leave_the_plateau(task):
    s = dataclasses.replace(QUICK, seeds=(0, 1))
    plateau = history([0.3, 0.17, 0.16, 0.17], val_loss=0.17)
    stuck = {
        f"{task.title}|LSTM": tuned(plateau, plateau),
        f"{task.title}|LN-LSTM": tuned(history([0.2, 0.16, 0.15, 0.16]), history([0.2, 0.16, 0.16, 0.15])),
    }
    row = reproduce._adding_row(task, stuck, s)
    assert row.verdict.startswith(DOES_NOT) and "does not separate" in row.verdict
    # LN leaves the plateau (below 1/12) in both seeds, the LSTM in neither: although the LSTM's final
    # loss is reached by both models at once, the row reads the plateau, not the LSTM's final loss
    solved = {
        f"{task.title}|LSTM": tuned(plateau, plateau),
        f"{task.title}|LN-LSTM": tuned(history([0.2, 0.05, 0.01, 0.01]), history([0.2, 0.15, 0.07, 0.02])),
    }
    row = reproduce._adding_row(task, solved, s)
    assert row.verdict == REPRODUCES
    assert "LSTM never, never; LN-LSTM 20, 30" in row.measured
    both = {
        f"{task.title}|LSTM": tuned(history([0.2, 0.05, 0.01, 0.01]), plateau),
        f"{task.title}|LN-LSTM": tuned(history([0.2, 0.15, 0.07, 0.02]), history([0.2, 0.05, 0.01, 0.01])),
    }
    assert reproduce._adding_row(task, both, s).verdict == DOES_NOT  # seed 0: the LSTM was first


def _figure6(errors: dict[tuple[str, int], float]) -> dict[str, scheduler.Tuned]:
    return {f"mlp|{norm}|{batch}": tuned(history([1.0], accuracy=1 - error)) for (norm, batch), error in errors.items()}


def test_figure_6_rows_compare_ln_with_bn_at_each_batch_size(task):
    s = dataclasses.replace(QUICK, mlp_batch_sizes=(128, 4))
    paper_like = {
        ("none", 128): 0.05,
        ("batch", 128): 0.04,
        ("layer", 128): 0.03,
        ("none", 4): 0.06,
        ("batch", 4): 0.09,
        ("layer", 4): 0.035,
    }
    large, small = reproduce._mlp_rows(task, _figure6(paper_like), s)
    assert "batch 128" in large.setting and "batch 4" in small.setting
    assert large.verdict == small.verdict == REPRODUCES
    assert "BN 9.00%" in small.measured and "BN +5.00%" in small.measured and "LN +0.50%" in small.measured
    bn_wins = dict(paper_like) | {("batch", 4): 0.03}
    assert reproduce._mlp_rows(task, _figure6(bn_wins), s)[1].verdict == DOES_NOT


def test_the_table_is_markdown_and_escapes_pipes():
    text = reproduce.table([Row("a|b", "s", "0", "m", REPRODUCES)])
    assert text.splitlines() == [
        "| claim | setting | seeds | measured | verdict |",
        "|---|---|---|---|---|",
        "| a/b | s | 0 | m | reproduces |",
    ]
