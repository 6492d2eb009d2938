"""Tasks, runs and the scheduler behind lessons 4 and 5 and the reproduce table: models, tasks, sweeps,
fair comparisons."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
from torch import nn

from lnviz import runs, scheduler, tasks
from lnviz.nn.models import SequenceClassifier, SequenceRegressor
from lnviz.train import History

# tiny models: one thread is faster, and much faster on a busy machine (fixture in conftest.py)
pytestmark = pytest.mark.usefixtures("one_thread")


def history(losses: list[float], every: int = 10, batch_size: int = 4) -> History:
    steps = [every * (i + 1) for i in range(len(losses))]
    return History(
        batch_size=batch_size,
        loss="cross_entropy",
        step=steps,
        examples=[s * batch_size for s in steps],
        train_loss=list(losses),
        val_loss=list(losses),
        val_accuracy=[0.5] * len(losses),
        wall_time=[0.5 * s for s in steps],
        grad_norm=[1.0] * len(losses),
    )


@pytest.fixture(scope="module")
def adding() -> tasks.Task:
    return tasks.make_task("adding", length=6, n_train=256, n_test=64)


@pytest.fixture(scope="module")
def digits() -> tasks.Task:
    return tasks.make_task("mnist", n_train=512, n_test=200)


# ----------------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
def test_sequence_classifier_reads_out_the_last_hidden_state(kind, norm):
    torch.manual_seed(0)
    model = SequenceClassifier(kind, norm, input_size=3, hidden_size=5, n_classes=4, max_steps=7)
    x = torch.randn(6, 7, 3)
    model.eval()  # the initial state without its training-mode noise, the same in both calls
    outputs, _ = model.recurrent(x, model.start(len(x), x))
    torch.testing.assert_close(model(x), model.readout(outputs[:, -1]))
    assert model(x).shape == (6, 4)
    assert model.recurrent.cell.norm == norm and model.kind == kind


def test_sequence_classifier_without_norm_equals_torch_lstm_and_linear():
    torch.manual_seed(0)
    model = SequenceClassifier(
        "lstm", "none", input_size=3, hidden_size=5, n_classes=4, initial_state="zeros", state_noise=0
    ).double()  # torch's zero initial state
    lstm, linear = nn.LSTM(3, 5, batch_first=True).double(), nn.Linear(5, 4).double()
    cell = model.recurrent.cell
    lstm.load_state_dict(
        {
            "weight_ih_l0": cell.weight_ih,
            "weight_hh_l0": cell.weight_hh,
            "bias_ih_l0": cell.bias_ih,
            "bias_hh_l0": cell.bias_hh,
        }
    )
    linear.load_state_dict(model.readout.state_dict())
    x = torch.randn(2, 9, 3, dtype=torch.float64)
    torch.testing.assert_close(model(x), linear(lstm(x)[0][:, -1]))


def test_sequence_regressor_gives_one_number_per_sequence():
    model = SequenceRegressor("lstm", "layer", input_size=2, hidden_size=8)
    assert model(torch.rand(5, 10, 2)).shape == (5,)


def test_max_steps_is_required_by_batch_norm_and_ignored_by_the_others():
    with pytest.raises(ValueError, match="max_steps"):
        SequenceClassifier("lstm", "batch", 2, 4, 3)
    assert SequenceClassifier("lstm", "layer", 2, 4, 3, max_steps=10).recurrent.cell.max_steps is None
    assert SequenceClassifier("lstm", "batch", 2, 4, 3, max_steps=10).recurrent.cell.max_steps == 10


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(kind="transformer"), r"kind to be one of \('rnn', 'lstm', 'gru'\), got 'transformer'"),
        (dict(n_classes=0), "n_classes to be a positive int, got 0"),
        (dict(norm="group"), "norm to be one of"),
    ],
)
def test_bad_model_arguments_raise(kwargs, message):
    args = dict(kind="lstm", norm="none", input_size=2, hidden_size=4, n_classes=3) | kwargs
    with pytest.raises(ValueError, match=message):
        SequenceClassifier(**args)


def test_model_names_follow_the_paper():
    assert [runs.model_name("lstm", n) for n in ("none", "layer", "batch")] == ["LSTM", "LN-LSTM", "BN-LSTM"]
    assert runs.model_name("rnn", "layer") == "LN-RNN"
    with pytest.raises(ValueError, match="norm must be one of"):
        runs.model_name("lstm", "weight")


# ----------------------------------------------------------------------------------------------------
# Tasks
# ----------------------------------------------------------------------------------------------------


def test_sequential_mnist_shapes_and_the_first_n_digits():
    task = tasks.make_task("sequential_mnist", pixels_per_step=56, n_train=100, n_test=30)
    assert task.x_train.shape == (100, 14, 56) and task.y_train.shape == (100,)
    assert task.x_test.shape == (30, 14, 56)
    assert (task.input_size, task.length, task.loss, task.n_outputs) == (56, 14, "cross_entropy", 10)
    whole = tasks.make_task("sequential_mnist", pixels_per_step=56)
    torch.testing.assert_close(task.x_train, whole.x_train[:100])
    assert "MNIST" in task.source


def test_mnist_vectors_are_the_same_pixels_as_the_sequences(digits):
    rows = tasks.make_task("sequential_mnist", pixels_per_step=28, n_train=512, n_test=200)
    torch.testing.assert_close(digits.x_train, rows.x_train.reshape(512, 784))
    assert digits.length is None and digits.input_size == 784


def test_adding_task_has_separate_test_sequences(adding):
    assert adding.x_train.shape == (256, 6, 2) and adding.y_train.dtype == torch.float32
    assert adding.loss == "mse" and adding.n_outputs == 1
    assert not torch.equal(adding.x_train[:64], adding.x_test)
    # the target is the sum of the two marked values
    torch.testing.assert_close(adding.y_test, (adding.x_test[..., 0] * adding.x_test[..., 1]).sum(1))


def test_make_task_is_made_once_and_a_task_pickles_as_its_recipe(adding):
    assert tasks.make_task("adding", length=6, n_train=256, n_test=64) is adding
    data = pickle.dumps(adding)
    assert len(data) < 1000, "a task must travel to worker processes as its recipe, not its tensors"
    again = pickle.loads(data)
    torch.testing.assert_close(again.x_train, adding.x_train)
    with pytest.raises(ValueError, match="task must be one of"):
        tasks.make_task("cifar")


def test_factories_refuse_the_wrong_kind_of_task(adding, digits):
    with pytest.raises(ValueError, match="sequence_model expected a task of sequences"):
        runs.sequence_model(digits, "lstm", "none", 8)
    with pytest.raises(ValueError, match="mlp_model expected a task of vectors"):
        runs.mlp_model(adding, "none")
    assert isinstance(runs.sequence_model(adding, "lstm", "none", 8)(), SequenceRegressor)


# ----------------------------------------------------------------------------------------------------
# Reading histories: steps to reach a target loss
# ----------------------------------------------------------------------------------------------------


def test_reach_is_the_first_record_at_or_below_the_target_in_any_unit():
    h = history([2.0, 1.2, 0.9, 1.0, 0.7])
    assert h.reach(0.9) == 30
    assert h.reach(0.9, "examples") == 120
    assert h.reach(0.9, "wall_time") == 15.0
    assert h.reach(0.5) is None
    with pytest.raises(ValueError, match="History.reach expected x to be one of"):
        h.reach(1.0, "epoch")


def test_steps_fraction_against_the_reference_final_loss():
    lstm = history([2.0, 1.5, 1.1, 0.8])
    ln = history([1.6, 0.9, 0.7, 0.5])
    assert runs.steps_fraction(ln, lstm) == pytest.approx(30 / 40)
    assert runs.steps_fraction(lstm, lstm) == 1.0
    assert runs.steps_fraction(history([2.0, 1.9, 1.8, 1.7]), lstm) is None
    # a reference that dipped to its final loss earlier needed only those steps
    noisy = history([2.0, 0.8, 1.0, 0.8])
    assert runs.steps_fraction(ln, noisy) == pytest.approx(30 / 20)


def test_final_loss_of_a_diverged_or_empty_run_is_infinite():
    assert runs.final_loss(history([1.0, math.nan])) == math.inf
    assert runs.final_loss(history([])) == math.inf
    assert runs.final_loss(history([1.0, 0.25])) == 0.25


# ----------------------------------------------------------------------------------------------------
# Learning-rate sweeps
# ----------------------------------------------------------------------------------------------------


def test_sweep_picks_the_lowest_final_loss_and_never_a_diverged_run():
    sweep = runs.Sweep({1e-3: history([2.0, 1.0]), 1e-2: history([2.0, 0.5]), 1e-1: history([2.0, math.nan])})
    assert sweep.best_lr == 1e-2 and sweep.best is sweep.histories[1e-2]
    assert not sweep.at_edge
    assert runs.Sweep({1e-3: history([0.5]), 1e-2: history([0.5])}).best_lr == 1e-3  # a tie: the smaller
    assert runs.Sweep({1e-3: history([0.4]), 1e-2: history([0.5])}).at_edge


def test_lr_sweep_trains_each_rate_with_the_same_seed_and_data(adding):
    make = runs.sequence_model(adding, "lstm", "layer", 8)
    kwargs = dict(steps=6, batch_size=16, eval_every=3, progress=False)
    sweep = runs.lr_sweep(make, adding, [3e-2, 1e-4], **kwargs)
    assert sorted(sweep.histories) == [1e-4, 3e-2]
    again = runs.run(make, adding, lr=3e-2, **kwargs)
    assert again.train_loss == sweep.histories[3e-2].train_loss  # same seed, same batches
    losses = {lr: runs.final_loss(h) for lr, h in sweep.histories.items()}
    assert sweep.best_lr == min(losses, key=losses.get)
    with pytest.raises(ValueError, match="positive learning rates"):
        runs.lr_sweep(make, adding, [], **kwargs)


def test_tune_sweeps_at_the_first_seed_then_runs_the_others_at_the_best_rate(adding):
    kwargs = dict(steps=4, batch_size=16, eval_every=2)
    trials = [
        scheduler.Trial(name, runs.sequence_model(adding, "lstm", norm, 8), adding, (1e-4, 3e-2), kwargs)
        for name, norm in (("LSTM", "none"), ("LN-LSTM", "layer"))
    ]
    tuned = scheduler.tune(trials, seeds=(0, 5))
    for trial in trials:
        t = tuned[trial.name]
        assert t.runs[0] is t.sweep.best and len(t.runs) == 2
        rerun = runs.run(trial.make_model, adding, lr=t.lr, seed=5, progress=False, **kwargs)
        assert t.runs[1].train_loss == rerun.train_loss
        assert t.runs[1].train_loss != t.runs[0].train_loss  # another seed: another initialization and order
    with pytest.raises(ValueError, match="distinct names"):
        scheduler.tune(trials[:1] * 2, seeds=(0,))
    with pytest.raises(ValueError, match="positive learning rates"):
        scheduler.Trial("x", trials[0].make_model, adding, (), kwargs)


def test_jobs_give_the_same_numbers_in_a_worker_process(adding):
    # One job: the pool starts workers as jobs arrive, so one process is started (seconds, not tens).
    job = scheduler.Job(
        runs.sequence_model(adding, "lstm", "layer", 8), adding, dict(steps=3, batch_size=16, eval_every=3)
    )
    [here] = scheduler.run_jobs([job], workers=1)
    [there] = scheduler.run_jobs([job], workers=2)
    assert here.train_loss == there.train_loss and here.val_loss == there.val_loss
    assert there.model is None and here.model is None


def test_a_short_run_reduces_the_loss():
    task = tasks.make_task("sequential_mnist", pixels_per_step=112, n_train=512, n_test=100)
    h = runs.run(
        runs.sequence_model(task, "lstm", "layer", 16),
        task,
        steps=40,
        batch_size=32,
        lr=1e-2,
        eval_every=10,
        progress=False,
    )
    assert h.train_loss[-1] < 0.8 * h.train_loss[0]
    assert h.val_loss[-1] < h.val_loss[0]


# ----------------------------------------------------------------------------------------------------
# Batch sizes compared fairly
# ----------------------------------------------------------------------------------------------------


def test_schedule_records_every_batch_size_at_the_same_examples():
    assert runs.schedule(1280, 4, 10) == (320, 32)
    assert runs.schedule(1280, 128, 10) == (10, 1)
    with pytest.raises(ValueError, match="multiple of records \\* batch_size = 1280"):
        runs.schedule(1000, 128, 10)


def test_common_order_cuts_the_training_set_to_a_multiple_of_every_batch_size(digits):
    cut = tasks.common_order(digits, (48, 32))
    assert len(cut.y_train) == 480 and torch.equal(cut.x_test, digits.x_test)
    torch.testing.assert_close(cut.x_train, digits.x_train[:480])
    assert tasks.common_order(digits, (4, 128)) is digits  # 512 is already a multiple
    with pytest.raises(ValueError, match="at least 1024"):
        tasks.common_order(digits, (1024,))


class Recorder(nn.Module):
    """A linear model that remembers every training input it is shown, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(784, 10)
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen.append(x.detach().clone())
        return self.linear(x)


def test_batch_sizes_see_the_same_examples_in_the_same_order(digits):
    sizes, examples, records = (4, 48), 960, 5  # 960 > 480 cut cases: two epochs
    task = tasks.common_order(digits, sizes)
    seen, recorded = {}, {}
    for batch in sizes:
        steps, every = runs.schedule(examples, batch, records)
        h = runs.run(Recorder, task, steps=steps, batch_size=batch, eval_every=every, seed=3, progress=False)
        seen[batch] = torch.cat(h.model.seen)
        recorded[batch] = h.examples
    assert seen[4].shape == (examples, 784)
    assert torch.equal(seen[4], seen[48])
    assert recorded[4] == recorded[48] == [192, 384, 576, 768, 960]
    # without the cut, 512 cases leave a remainder of 32 at batch 48 and the second epochs differ
    h4 = runs.run(Recorder, digits, steps=240, batch_size=4, eval_every=240, seed=3, progress=False)
    h48 = runs.run(Recorder, digits, steps=20, batch_size=48, eval_every=20, seed=3, progress=False)
    assert not torch.equal(torch.cat(h4.model.seen), torch.cat(h48.model.seen))


def test_batch_norm_is_not_feasible_on_one_case():
    assert not runs.feasible("batch", 1)
    assert runs.feasible("batch", 2) and runs.feasible("layer", 1) and runs.feasible("none", 1)
