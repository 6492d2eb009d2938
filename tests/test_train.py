"""The training loop: it learns, it is deterministic, it stops cleanly, and it records the right numbers."""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

import lnviz.train as train_module
from lnviz import data
from lnviz.nn.models import MLP
from lnviz.nn.norms import BatchNorm
from lnviz.train import TOLERANCE, History, evaluate, train

# tiny models: one thread is faster, and much faster on a busy machine (fixture in conftest.py)
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def mnist_small():
    """2,000 training and 500 validation digits of the MNIST shipped with lnviz, as vectors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.MNISTFallbackWarning)
        tr, te = data.mnist("train", download=False), data.mnist("test", download=False)
    return (
        data.as_vectors(tr.images[:2000]),
        torch.from_numpy(tr.labels[:2000]),
        data.as_vectors(te.images[:500]),
        torch.from_numpy(te.labels[:500]),
    )


@pytest.fixture(scope="module")
def blobs():
    """A small 3-class problem: the class is the argmax of a fixed linear map of 8 Gaussian features."""
    g = torch.Generator().manual_seed(123)
    w = torch.randn(8, 3, generator=g)
    x = torch.randn(300, 8, generator=g)
    y = (x @ w).argmax(dim=1)
    return x[:200], y[:200], x[200:], y[200:]


def small_mlp(norm: str = "none"):
    return lambda: MLP(in_features=8, hidden=(16,), out_features=3, norm=norm)


def comparable(history: History) -> dict:
    record = history.to_dict()
    del record["wall_time"]
    return record


def test_a_short_run_on_mnist_learns(mnist_small):
    history = train(lambda: MLP(hidden=(32,)), *mnist_small, steps=200, batch_size=64, eval_every=50, progress=False)
    assert history.step == [50, 100, 150, 200]
    assert history.train_loss[-1] < 0.6 * history.train_loss[0]
    assert history.val_loss[-1] < history.val_loss[0]
    assert history.val_accuracy[-1] > 0.75  # chance is 0.1
    assert not history.interrupted


def test_same_seed_same_history_exactly(blobs):
    kwargs = dict(steps=60, batch_size=16, eval_every=20, seed=7, progress=False)
    first, second = train(small_mlp("batch"), *blobs, **kwargs), train(small_mlp("batch"), *blobs, **kwargs)
    assert comparable(first) == comparable(second)
    for p, q in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(p, q)


def test_different_seed_different_history(blobs):
    kwargs = dict(steps=60, batch_size=16, eval_every=20, progress=False)
    first, second = train(small_mlp(), *blobs, seed=0, **kwargs), train(small_mlp(), *blobs, seed=1, **kwargs)
    assert first.train_loss != second.train_loss


class Recorder(nn.Module):
    """A linear classifier that remembers every batch it sees, split by training and eval mode."""

    def __init__(self, in_features: int = 8, classes: int = 3):
        super().__init__()
        self.linear = nn.Linear(in_features, classes)
        self.train_batches: list[torch.Tensor] = []
        self.eval_batches: list[torch.Tensor] = []

    def forward(self, x):
        (self.train_batches if self.training else self.eval_batches).append(x.clone())
        return self.linear(x)


def test_models_trained_with_one_seed_see_the_same_batches(blobs):
    def recorder_after_other_random_draws():
        torch.randn(1000)  # a model whose construction consumes more random numbers
        return Recorder()

    kwargs = dict(steps=30, batch_size=16, eval_every=10, seed=3, progress=False)
    a = train(Recorder, *blobs, **kwargs).model
    b = train(recorder_after_other_random_draws, *blobs, **kwargs).model
    assert len(a.train_batches) == 30
    assert all(torch.equal(p, q) for p, q in zip(a.train_batches, b.train_batches))
    c = train(Recorder, *blobs, **{**kwargs, "seed": 4}).model
    assert not torch.equal(a.train_batches[0], c.train_batches[0])


def test_an_epoch_visits_every_full_batch_of_cases_once(blobs):
    x = blobs[0]
    model = train(Recorder, *blobs, steps=12, batch_size=16, eval_every=12, progress=False).model
    epoch = torch.cat(model.train_batches[:12])  # 200 cases = 12 batches of 16, 8 left over
    rows = {tuple(r.tolist()) for r in epoch}
    assert len(rows) == 192 and rows <= {tuple(r.tolist()) for r in x}


def test_the_callers_random_state_is_left_alone(blobs):
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    train(small_mlp(), *blobs, steps=5, eval_every=5, progress=False)
    assert torch.equal(torch.rand(3), expected)


def test_examples_seen_is_steps_times_batch_size_and_the_last_step_is_recorded(blobs):
    for batch_size in (4, 32):
        history = train(small_mlp(), *blobs, steps=25, batch_size=batch_size, eval_every=10, progress=False)
        assert history.step == [10, 20, 25]
        assert history.examples == [s * batch_size for s in history.step]
        assert history.batch_size == batch_size


def test_every_list_has_one_entry_per_record_and_the_numbers_are_sane(blobs):
    history = train(small_mlp(), *blobs, steps=40, eval_every=10, progress=False)
    assert all(len(v) == 4 for v in history.to_dict().values() if isinstance(v, list))
    assert all(g > 0 and math.isfinite(g) for g in history.grad_norm)
    assert all(0 <= a <= 1 for a in history.val_accuracy)
    assert history.wall_time == sorted(history.wall_time) and history.wall_time[0] > 0


def test_callback_is_called_after_every_record_with_the_history_so_far(blobs):
    calls = []
    history = train(
        small_mlp(),
        *blobs,
        steps=35,
        eval_every=10,
        progress=False,
        callback=lambda h: calls.append((id(h), list(h.step))),
    )
    assert [steps for _, steps in calls] == [[10], [10, 20], [10, 20, 30], [10, 20, 30, 35]]
    assert {i for i, _ in calls} == {id(history)}


def test_interrupt_from_the_callback_returns_a_usable_partial_history(blobs):
    calls = []

    def stop_at_third(history):
        calls.append(history.step[-1])
        if len(calls) == 3:
            raise KeyboardInterrupt

    history = train(small_mlp(), *blobs, steps=100, eval_every=10, progress=False, callback=stop_at_third)
    assert history.interrupted
    assert calls == [10, 20, 30]  # not called again after the interrupt
    assert history.step == [10, 20, 30]
    assert all(len(v) == 3 for v in history.to_dict().values() if isinstance(v, list))
    json.dumps(history.to_dict())
    loss, accuracy = evaluate(history.model, blobs[2], blobs[3], "cross_entropy")
    assert math.isfinite(loss) and 0 <= accuracy <= 1


class Poisoned(Recorder):
    """A linear classifier whose training loss turns NaN (or inf) from training step `at` on."""

    def __init__(self, at: int, value: float = math.nan):
        super().__init__()
        self.at, self.value = at, value

    def forward(self, x):
        out = super().forward(x)
        if self.training and len(self.train_batches) >= self.at:
            return out * self.value  # NaN or inf logits: a NaN or inf loss, as after an overflow
        return out


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_non_finite_loss_stops_the_run_at_the_next_record_and_keeps_the_finite_ones(blobs, value):
    calls = []
    history = train(
        lambda: Poisoned(at=23, value=value),
        *blobs,
        steps=100,
        eval_every=10,
        progress=False,
        callback=lambda h: calls.append(h.step[-1]),
    )
    assert history.diverged and history.diverged_at == 23
    assert history.step == [10, 20] and calls == [10, 20]  # the record at 30 is not made
    assert len(history.model.train_batches) == 30  # stopped there, not after 100 steps
    assert not history.interrupted
    record = history.to_dict()
    assert record["diverged_at"] == 23
    assert all(math.isfinite(v) for name in ("train_loss", "val_loss", "grad_norm") for v in record[name])
    json.dumps(record)


def test_a_run_that_stays_finite_has_not_diverged(blobs):
    history = train(lambda: Poisoned(at=10**9), *blobs, steps=30, eval_every=10, progress=False)
    assert not history.diverged and history.diverged_at is None and history.step == [10, 20, 30]


def test_a_learning_rate_far_too_high_diverges_and_says_where(blobs):
    # Plain SGD at 1e30 on a linear softmax: the logits overflow float32 within a few steps.
    history = train(small_mlp(), *blobs, steps=50, eval_every=10, lr=1e30, optimizer="sgd", progress=False)
    assert history.diverged and 1 <= history.diverged_at <= 10
    assert len(history) == 0  # it diverged before the first record


class SpyBar:
    """Stands in for tqdm, to see that the bar is closed."""

    instances: list[SpyBar] = []

    def __init__(self, total, disable, **kwargs):
        self.total, self.count, self.closed = total, 0, False
        SpyBar.instances.append(self)

    def update(self, n=1):
        self.count += n

    def set_postfix(self, **kwargs):
        pass

    def close(self):
        self.closed = True


def test_interrupt_inside_a_step_closes_the_bar_and_keeps_complete_records(blobs, monkeypatch):
    monkeypatch.setattr(train_module, "tqdm", SpyBar)

    class Stops(Recorder):
        def forward(self, x):
            if self.training and len(self.train_batches) == 24:  # during step 25
                raise KeyboardInterrupt
            return super().forward(x)

    history = train(Stops, *blobs, steps=100, eval_every=10, progress=True)
    bar = SpyBar.instances[-1]
    assert history.interrupted and history.step == [10, 20]
    assert bar.closed and bar.total == 100 and bar.count == 24


def test_a_half_appended_record_is_dropped(blobs):
    history = History(
        batch_size=4,
        loss="mse",
        step=[1, 2],
        examples=[4, 8],
        train_loss=[1.0, 0.5],
        val_loss=[1.0],
        val_accuracy=[0.0],
        wall_time=[0.1],
        grad_norm=[1.0],
    )
    history._drop_incomplete()
    assert history.step == [1] and history.train_loss == [1.0] and history.examples == [4]


def test_grad_norm_is_the_norm_before_clipping_and_clipping_limits_the_step(blobs):
    x, y = blobs[0].double(), blobs[1]

    def make():
        return nn.Linear(8, 3).double()

    torch.manual_seed(5)
    reference = make()
    nn.functional.cross_entropy(reference(x), y).backward()
    expected = torch.cat([p.grad.flatten() for p in reference.parameters()]).norm().item()

    # one full-batch step of plain SGD with lr 1: the parameters move by the clipped gradient
    history = train(
        make,
        x,
        y,
        x,
        y,
        steps=1,
        batch_size=len(y),
        eval_every=1,
        optimizer="sgd",
        lr=1.0,
        clip_grad_norm=1e-3,
        seed=5,
        progress=False,
    )
    assert history.grad_norm[0] == pytest.approx(expected, rel=1e-9)
    assert expected > 1e-2
    moved = torch.cat([(p - q).flatten() for p, q in zip(history.model.parameters(), reference.parameters())])
    assert moved.norm().item() == pytest.approx(1e-3, rel=1e-5)  # torch adds 1e-6 to the norm


def test_weight_decay_shrinks_the_weights(blobs):
    def weight_norm(decay):
        history = train(
            small_mlp(), *blobs, steps=50, eval_every=50, weight_decay=decay, optimizer="sgd", lr=0.1, progress=False
        )
        return torch.cat([p.flatten() for p in history.model.parameters()]).norm()

    assert weight_norm(0.5) < 0.9 * weight_norm(0.0)


def test_adam_and_sgd_differ(blobs):
    kwargs = dict(steps=20, eval_every=20, progress=False)
    assert (
        train(small_mlp(), *blobs, optimizer="adam", **kwargs).train_loss
        != train(small_mlp(), *blobs, optimizer="sgd", **kwargs).train_loss
    )


def test_validation_uses_eval_mode_a_fixed_subset_and_restores_training_mode(blobs):
    models = [
        train(Recorder, *blobs, steps=20, eval_every=10, val_size=40, seed=s, progress=False).model for s in (0, 1)
    ]
    for model in models:
        assert model.training
        assert len(model.eval_batches) == 2 and all(len(b) == 40 for b in model.eval_batches)
    # the same 40 cases whatever the seed, so runs are scored alike
    assert torch.equal(models[0].eval_batches[0], models[1].eval_batches[0])
    assert torch.equal(models[0].eval_batches[0], models[0].eval_batches[1])


def test_evaluate_uses_running_statistics_and_leaves_them_alone():
    torch.manual_seed(0)
    model = nn.Sequential(BatchNorm(4), nn.Linear(4, 2)).train()
    x, y = torch.randn(10, 4) + 3, torch.randint(0, 2, (10,))
    before = model[0].running_mean.clone()
    evaluate(model, x, y, "cross_entropy")
    assert model.training and torch.equal(model[0].running_mean, before)


class Constant(nn.Module):
    def __init__(self, value: float):
        super().__init__()
        self.value = value
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return torch.full((len(x), 1), self.value) + 0 * self.dummy


def test_regression_loss_and_accuracy_within_tolerance():
    _, y = data.adding_problem(300, 10, seed=2)
    x = torch.zeros(300, 10, 2)
    loss, accuracy = evaluate(Constant(1.0), x, y, "mse")
    assert loss == pytest.approx(((1.0 - y) ** 2).mean().item(), rel=1e-5)
    assert accuracy == pytest.approx(((1.0 - y).abs() < TOLERANCE).double().mean().item())
    assert 0 < accuracy < 0.2


def test_adding_problem_trains_with_mse_inferred_from_float_targets():
    x, y = data.adding_problem(256, 8, seed=0)
    xv, yv = data.adding_problem(128, 8, seed=1)

    def make():
        return nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1))

    history = train(make, x, y, xv, yv, steps=200, batch_size=32, eval_every=50, lr=3e-3, progress=False)
    assert history.loss == "mse"
    assert history.val_loss[-1] < 1 / 6  # the error of always answering 1
    assert history.train_loss[-1] < history.train_loss[0]


def test_to_dict_is_json_and_leaves_out_the_model(blobs):
    history = train(small_mlp(), *blobs, steps=10, eval_every=5, progress=False)
    record = json.loads(json.dumps(history.to_dict()))
    assert "model" not in record
    assert record["train_loss"] == history.train_loss and record["interrupted"] is False
    assert record["loss"] == "cross_entropy" and record["batch_size"] == 64


def test_progress_bar_runs(blobs, capsys):
    train(small_mlp(), *blobs, steps=10, eval_every=5, progress=True)
    assert "10/10" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(optimizer="rmsprop"), r"optimizer must be one of \('adam', 'sgd'\), got 'rmsprop'"),
        (dict(loss="hinge"), "loss must be one of"),
        (dict(loss="mse"), "mse expected floating-point targets in y_train, got torch.int64"),
        (dict(steps=0), "train expected steps to be a positive int, got 0"),
        (dict(eval_every=0), "train expected eval_every to be a positive int"),
        (dict(batch_size=500), "batch_size must be at most the 200 training cases, got 500"),
        (dict(lr=0.0), "lr must be positive"),
        (dict(clip_grad_norm=0.0), "clip_grad_norm must be positive or None"),
        (dict(weight_decay=-1.0), "weight_decay must be non-negative"),
        (dict(val_size=0), "train expected val_size to be a positive int or None"),
    ],
)
def test_bad_arguments_raise(blobs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        train(small_mlp(), *blobs, progress=False, **kwargs)


def test_mismatched_data_raise(blobs):
    x, y, xv, yv = blobs
    with pytest.raises(ValueError, match=r"same N >= 1, got shapes \(200, 8\) and \(199,\)"):
        train(small_mlp(), x, y[:-1], xv, yv, progress=False)
    with pytest.raises(ValueError, match=r"cross_entropy expected int64 class labels in y_val"):
        train(small_mlp(), x, y, xv, yv.float(), progress=False)


def test_wrong_model_output_for_the_loss_raises(blobs):
    with pytest.raises(ValueError, match=r"cross_entropy expected model output of shape \(64, classes\)"):
        train(lambda: nn.Sequential(nn.Linear(8, 1), nn.Flatten(0)), *blobs, progress=False)


def imported_modules(module: str, seen: set[str] | None = None) -> set[str]:
    """Every module that importing `module` imports, following lnviz's own modules (and its
    package __init__) transitively, read from their source."""
    seen = set() if seen is None else seen
    tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from lnviz import data` imports the module lnviz.data
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name not in seen and _is_lnviz_module(name):
                seen.add(name)
                imported_modules(name, seen)
            seen.add(name)
    return seen


def _is_lnviz_module(name: str) -> bool:
    if name.split(".")[0] != "lnviz":
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a class or function imported from a module
        return False


def test_training_and_models_never_import_plotly_or_widgets():
    # importing lnviz.train runs lnviz/__init__.py first
    imported = imported_modules("lnviz") | imported_modules("lnviz.train") | imported_modules("lnviz.nn.models")
    assert {"lnviz.nn.norms", "lnviz.nn.functional", "torch"} <= imported  # the walk follows lnviz's imports
    assert not {m for m in imported if m.split(".")[0] in ("plotly", "ipywidgets")}
    assert not imported & {"lnviz.figures", "lnviz.panels"}
