"""lnviz.exercises: right answers pass, each catalogued mistake is named, anything else fails without raising.

The solutions and the mistaken implementations below are written as a student would write them, not
from the checkers' own candidate functions, so a checker whose candidates drift from the mistake they
name fails here.
"""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from lnviz import invariance as inv
from lnviz.exercises import (
    Feedback,
    check_batch_norm,
    check_layer_norm,
    check_ln_lstm_step,
    check_ln_rnn_step,
    check_recurrent_batch_norm,
    check_rms_norm,
    check_table1,
    check_weight_norm,
    check_weight_norm_grad,
)
from lnviz.exercises.normalization import BATCH_NORM, LAYER_NORM, RMS_NORM
from lnviz.exercises.recurrent import LN_LSTM_STEP, LN_RNN_STEP, RECURRENT_BATCH_NORM
from lnviz.exercises.weight_norm import WEIGHT_NORM, WEIGHT_NORM_GRAD

# -- solutions, as in a notebook's collapsed solution cell ------------------------------------------------


def layer_norm(x, gain, bias, eps):
    mu = x.mean(dim=-1, keepdim=True)  # eq. (3): over the H hidden units of each case
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)
    return gain * (x - mu) / torch.sqrt(var + eps) + bias


def batch_norm(x, gain, bias, eps):
    mu = x.mean(dim=0, keepdim=True)  # eq. (2): over the cases of the mini-batch
    var = ((x - mu) ** 2).mean(dim=0, keepdim=True)
    return gain * (x - mu) / torch.sqrt(var + eps) + bias


def rms_norm(x, gain, eps):
    return gain * x / torch.sqrt((x**2).mean(dim=-1, keepdim=True) + eps)


def ln_rnn_step(x, h, weight_ih, weight_hh, gain, bias, eps):
    a = x @ weight_ih.T + h @ weight_hh.T
    return torch.tanh(layer_norm(a, gain, bias, eps))  # eq. (4)


def ln_lstm_step(x, h, c, cell):
    gates = cell.ln_ih(x @ cell.weight_ih.T) + cell.ln_hh(h @ cell.weight_hh.T) + cell.bias_ih + cell.bias_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(cell.ln_c(c_new))
    return h_new, c_new


def recurrent_batch_norm(a, gain, bias, eps):
    mu = a.mean(dim=1, keepdim=True)  # one mean per time step and unit, over the batch
    var = a.var(dim=1, unbiased=False, keepdim=True)
    return gain * (a - mu) / torch.sqrt(var + eps) + bias


def weight_norm(v, g):
    return g.unsqueeze(1) * v / v.norm(dim=1, keepdim=True)


def weight_norm_grad(v, g, grad_w):
    norm = v.norm(dim=1, keepdim=True)
    grad_g = (grad_w * v / norm).sum(dim=1)
    grad_v = g.unsqueeze(1) / norm * (grad_w - grad_g.unsqueeze(1) * v / norm)
    return grad_g, grad_v


# -- the mistakes, one or more ways of making each ----------------------------------------------------------


def _affine_mistakes(dim: int, wrong_dim: int) -> dict[str, list]:
    """Layer norm (dim=-1) or batch norm (dim=0) with one mistake each."""

    def std(x, d=dim):
        return x.std(dim=d, unbiased=False, keepdim=True)

    def var(x, d=dim):
        return x.var(dim=d, unbiased=False, keepdim=True)

    def mean(x, d=dim):
        return x.mean(dim=d, keepdim=True)

    return {
        "wrong_axis": [
            lambda x, g, b, eps: g * (x - mean(x, wrong_dim)) / torch.sqrt(var(x, wrong_dim) + eps) + b,
        ],
        "unbiased_variance": [
            lambda x, g, b, eps: g * (x - mean(x)) / torch.sqrt(x.var(dim=dim, keepdim=True) + eps) + b,
        ],
        "eps_outside_sqrt": [lambda x, g, b, eps: g * (x - mean(x)) / (std(x) + eps) + b],
        "no_centering": [
            lambda x, g, b, eps: g * x / torch.sqrt(var(x) + eps) + b,
            lambda x, g, b, eps: g * x / torch.sqrt(mean(x * x) + eps) + b,
        ],
        "variance_not_std": [lambda x, g, b, eps: g * (x - mean(x)) / (var(x) + eps) + b],
        "no_gain_bias": [
            lambda x, g, b, eps: (x - mean(x)) / torch.sqrt(var(x) + eps),
            lambda x, g, b, eps: (x - mean(x)) / torch.sqrt(var(x) + eps) + b,
            lambda x, g, b, eps: g * (x - mean(x)) / torch.sqrt(var(x) + eps),
        ],
        "gain_bias_swapped": [lambda x, g, b, eps: b * (x - mean(x)) / torch.sqrt(var(x) + eps) + g],
    }


def _named(mistakes: dict[str, list], wrong_axis: str) -> list[tuple[str, object]]:
    return [(wrong_axis if code == "wrong_axis" else code, fn) for code, fns in mistakes.items() for fn in fns]


LAYER_NORM_MISTAKES = _named(_affine_mistakes(-1, 0), "batch_axis")
BATCH_NORM_MISTAKES = _named(_affine_mistakes(0, -1), "hidden_axis")

RMS_NORM_MISTAKES = [
    ("centered", lambda x, g, eps: g * (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, False, True) + eps)),
    ("centered", lambda x, g, eps: F.layer_norm(x, x.shape[-1:], g, None, eps)),
    ("centered", lambda x, g, eps: g * x / torch.sqrt(x.var(-1, False, True) + eps)),
    ("eps_outside_sqrt", lambda x, g, eps: g * x / (x.pow(2).mean(-1, keepdim=True).sqrt() + eps)),
    ("batch_axis", lambda x, g, eps: g * x / torch.sqrt(x.pow(2).mean(0, keepdim=True) + eps)),
    ("no_gain", lambda x, g, eps: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)),
]


def _ln(a, gain, bias, eps):
    return F.layer_norm(a, a.shape[-1:], gain, bias, eps)


RNN_MISTAKES = [
    (
        "separate_norms",
        lambda x, h, w_ih, w_hh, g, b, eps: torch.tanh(_ln(x @ w_ih.T, g, b, eps) + _ln(h @ w_hh.T, g, b, eps)),
    ),
    (
        "separate_norms",
        lambda x, h, w_ih, w_hh, g, b, eps: torch.tanh(
            g * (_ln(x @ w_ih.T, None, None, eps) + _ln(h @ w_hh.T, None, None, eps)) + b
        ),
    ),
    ("norm_after_tanh", lambda x, h, w_ih, w_hh, g, b, eps: _ln(torch.tanh(x @ w_ih.T + h @ w_hh.T), g, b, eps)),
    (
        "batch_axis",
        lambda x, h, w_ih, w_hh, g, b, eps: torch.tanh(batch_norm(x @ w_ih.T + h @ w_hh.T, g, b, eps)),
    ),
    (
        "bias_before_norm",
        lambda x, h, w_ih, w_hh, g, b, eps: torch.tanh(_ln(x @ w_ih.T + h @ w_hh.T + b, g, None, eps)),
    ),
    (
        "bias_before_norm",
        lambda x, h, w_ih, w_hh, g, b, eps: torch.tanh(_ln(g * (x @ w_ih.T + h @ w_hh.T) + b, None, None, eps)),
    ),
]


def _lstm(cell, x, h, c, gates_of, *, normalize_c=True, carry_normalized=False):
    """The LSTM step with the summed inputs computed by `gates_of(x, h, cell)` and two switches."""
    i, f, g, o = (gates_of(x, h, cell) + cell.bias_ih + cell.bias_hh).chunk(4, dim=1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    c_out = cell.ln_c(c_new) if normalize_c else c_new
    return torch.sigmoid(o) * torch.tanh(c_out), (c_out if carry_normalized else c_new)


def _two_norms(x, h, cell):
    return cell.ln_ih(x @ cell.weight_ih.T) + cell.ln_hh(h @ cell.weight_hh.T)


def _per_gate(x, h, cell):
    def norm(a, ln):
        hidden = a.shape[1] // 4
        blocks = F.layer_norm(a.view(a.shape[0], 4, hidden), (hidden,), eps=ln.eps).view_as(a)
        return ln.weight * blocks + ln.bias

    return norm(x @ cell.weight_ih.T, cell.ln_ih) + norm(h @ cell.weight_hh.T, cell.ln_hh)


LSTM_MISTAKES = [
    ("normalized_c_carried", lambda x, h, c, cell: _lstm(cell, x, h, c, _two_norms, carry_normalized=True)),
    ("c_not_normalized", lambda x, h, c, cell: _lstm(cell, x, h, c, _two_norms, normalize_c=False)),
    ("per_gate_norm", lambda x, h, c, cell: _lstm(cell, x, h, c, _per_gate)),
    (
        "joint_norm",
        lambda x, h, c, cell: _lstm(
            cell, x, h, c, lambda x, h, cell: cell.ln_ih(x @ cell.weight_ih.T + h @ cell.weight_hh.T)
        ),
    ),
    (
        "joint_norm",
        lambda x, h, c, cell: _lstm(
            cell,
            x,
            h,
            c,
            lambda x, h, cell: cell.ln_hh(x @ cell.weight_ih.T + h @ cell.weight_hh.T) + cell.ln_ih.bias,
        ),
    ),
]

RECURRENT_BATCH_NORM_MISTAKES = [
    (
        "shared_statistics",
        lambda a, g, b, eps: g * (a - a.mean((0, 1), keepdim=True)) / (a.var((0, 1), False, True) + eps).sqrt() + b,
    ),
    ("hidden_axis", lambda a, g, b, eps: F.layer_norm(a, a.shape[-1:], g, b, eps)),
    ("time_axis", lambda a, g, b, eps: g * (a - a.mean(0, keepdim=True)) / (a.var(0, False, True) + eps).sqrt() + b),
    (
        "unbiased_variance",
        lambda a, g, b, eps: torch.stack(
            [g * (a_t - a_t.mean(0)) / torch.sqrt(a_t.var(0) + eps) + b for a_t in a.unbind(0)]
        ),
    ),
]

WEIGHT_NORM_MISTAKES = [
    ("wrong_axis", lambda v, g: g[:, None] * v / v.norm(dim=0, keepdim=True)),
    ("whole_matrix_norm", lambda v, g: g[:, None] * v / v.norm()),
    ("squared_norm", lambda v, g: g[:, None] * v / (v * v).sum(1, keepdim=True)),
    ("no_gain", lambda v, g: F.normalize(v, dim=1)),
]


def _wn_grad(v, g, grad_w, *, project=True, gain=True, norm_scale=True, normalize_grad_g=True):
    u = v / v.norm(dim=1, keepdim=True)
    grad_v = grad_w - (grad_w * u).sum(1, keepdim=True) * u if project else grad_w
    grad_v = grad_v * (g[:, None] if gain else 1) / (v.norm(dim=1, keepdim=True) if norm_scale else 1)
    grad_g = (grad_w * (u if normalize_grad_g else v)).sum(1)
    return grad_g, grad_v


WEIGHT_NORM_GRAD_MISTAKES = [
    ("no_projection", lambda v, g, grad_w: _wn_grad(v, g, grad_w, project=False)),
    ("no_gain", lambda v, g, grad_w: _wn_grad(v, g, grad_w, gain=False)),
    ("no_norm_scale", lambda v, g, grad_w: _wn_grad(v, g, grad_w, norm_scale=False)),
    ("grad_g_not_normalized", lambda v, g, grad_w: _wn_grad(v, g, grad_w, normalize_grad_g=False)),
]

CHECKERS = {
    "layer_norm": (check_layer_norm, layer_norm, LAYER_NORM_MISTAKES),
    "batch_norm": (check_batch_norm, batch_norm, BATCH_NORM_MISTAKES),
    "rms_norm": (check_rms_norm, rms_norm, RMS_NORM_MISTAKES),
    "ln_rnn_step": (check_ln_rnn_step, ln_rnn_step, RNN_MISTAKES),
    "ln_lstm_step": (check_ln_lstm_step, ln_lstm_step, LSTM_MISTAKES),
    "recurrent_batch_norm": (check_recurrent_batch_norm, recurrent_batch_norm, RECURRENT_BATCH_NORM_MISTAKES),
    "weight_norm": (check_weight_norm, weight_norm, WEIGHT_NORM_MISTAKES),
    "weight_norm_grad": (check_weight_norm_grad, weight_norm_grad, WEIGHT_NORM_GRAD_MISTAKES),
}
EXERCISES = {
    "layer_norm": LAYER_NORM,
    "batch_norm": BATCH_NORM,
    "rms_norm": RMS_NORM,
    "ln_rnn_step": LN_RNN_STEP,
    "ln_lstm_step": LN_LSTM_STEP,
    "recurrent_batch_norm": RECURRENT_BATCH_NORM,
    "weight_norm": WEIGHT_NORM,
    "weight_norm_grad": WEIGHT_NORM_GRAD,
}
MISTAKE_CASES = [
    pytest.param(name, code, fn, id=f"{name}-{code}-{k}")
    for name, (_, _, mistakes) in CHECKERS.items()
    for k, (code, fn) in enumerate(mistakes)
]


@pytest.mark.parametrize("name", CHECKERS)
def test_the_solution_passes(name):
    checker, solution, _ = CHECKERS[name]
    feedback = checker(solution)
    assert feedback.passed, str(feedback)
    assert feedback.mistake is None and feedback.verdict == "Passed"


@pytest.mark.parametrize(("name", "code", "fn"), MISTAKE_CASES)
def test_each_mistake_is_named(name, code, fn):
    feedback = CHECKERS[name][0](fn)
    assert not feedback.passed
    assert feedback.mistake == code, str(feedback)
    assert feedback.verdict == "Not yet" and feedback.hint


@pytest.mark.parametrize("name", CHECKERS)
def test_every_catalogued_code_is_tested(name):
    exercise = EXERCISES[name]
    assert {m.code for m in exercise.mistakes} == {code for code, _ in CHECKERS[name][2]}


def _perturbed(fn, change):
    def perturbed(*args):
        out = fn(*args)
        return tuple(change(t) for t in out) if isinstance(out, tuple) else change(out)

    return perturbed


@pytest.mark.parametrize("name", CHECKERS)
@pytest.mark.parametrize(
    "change",
    [lambda y: y + 1e-3, lambda y: y * (1 + 1e-4), lambda y: y + 1e-3 * (torch.arange(y.numel()) == 2).view_as(y)],
    ids=["shift", "scale", "one element"],
)
def test_a_small_change_of_the_right_answer_fails(name, change):
    checker, solution, _ = CHECKERS[name]
    feedback = checker(_perturbed(solution, change))
    assert not feedback.passed and feedback.mistake is None
    assert "largest difference" in feedback.message


def test_an_unknown_wrong_answer_shows_the_largest_difference():
    feedback = check_layer_norm(lambda x, g, b, eps: layer_norm(x, g, b, eps) + 0.5 * (x > 3.5))
    assert not feedback.passed and feedback.mistake is None
    assert "largest difference, 0.5," in feedback.message
    assert "y[" in feedback.message


def test_with_two_outputs_the_right_one_is_named():
    def c_off(x, h, c, cell):
        h_new, c_new = ln_lstm_step(x, h, c, cell)
        return h_new, c_new + 0.1 * c

    feedback = check_ln_lstm_step(c_off)
    assert feedback.mistake is None
    assert feedback.message.startswith("Your h_new is right.")
    assert "at c_new[" in feedback.message


@pytest.mark.parametrize("name", CHECKERS)
def test_a_stub_is_not_done_yet(name):
    def stub(*args):
        raise NotImplementedError

    feedback = CHECKERS[name][0](stub)
    assert not feedback.passed and not feedback.done and feedback.mistake is None
    assert feedback.verdict == "Not done yet"
    assert "not done yet" in str(feedback).lower()


def test_another_exception_is_reported_with_the_students_line():
    def broken(x, gain, bias, eps):
        mu = x.mean(dim=-1)
        return gain * (x - mu.unsqueeze(0)) + bias  # a shape error

    feedback = check_layer_norm(broken)
    assert not feedback.passed and feedback.done and feedback.mistake is None
    assert "RuntimeError" in feedback.message
    assert "gain * (x - mu.unsqueeze(0)) + bias" in feedback.message
    assert "in broken, line" in feedback.message


def test_a_function_with_other_arguments_is_told_how_it_is_called():
    feedback = check_rms_norm(lambda x, gain, bias, eps: x)
    assert "TypeError" in feedback.message
    assert "The checker calls it as fn(x, gain, eps) -> y." in feedback.message


def test_an_error_raised_on_purpose_is_reported():
    def picky(x, gain, bias, eps):
        raise ValueError("I only take float32")

    feedback = check_batch_norm(picky)
    assert not feedback.passed
    assert "ValueError: I only take float32" in feedback.message


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (lambda x, g, b, eps: layer_norm(x, g, b, eps)[:, :-1], ["shape", "expected (4, 5)"]),
        (lambda x, g, b, eps: layer_norm(x, g, b, eps).float(), ["dtype", "torch.float32"]),
        (lambda x, g, b, eps: layer_norm(x, g, b, eps).numpy(), ["ndarray", "expected a tensor"]),
        (lambda x, g, b, eps: None, ["NoneType"]),
    ],
    ids=["shape", "dtype", "numpy", "none"],
)
def test_a_wrong_output_is_named(fn, words):
    feedback = check_layer_norm(fn)
    assert not feedback.passed and feedback.mistake is None
    for word in words:
        assert word in feedback.message


def test_the_lstm_must_return_a_pair():
    feedback = check_ln_lstm_step(lambda x, h, c, cell: ln_lstm_step(x, h, c, cell)[0])
    assert not feedback.passed
    assert "tuple of tensors (h_new, c_new)" in feedback.message


def test_the_lstm_cells_own_step_is_not_an_answer():
    feedback = check_ln_lstm_step(lambda x, h, c, cell: cell(x, (h, c)))
    assert not feedback.passed
    assert "RuntimeError: this exercise asks you to write the step yourself" in feedback.message


def test_not_a_function():
    feedback = check_rms_norm(3)
    assert not feedback.passed and "Expected a function, got int" in feedback.message


def test_a_function_that_changes_its_inputs_does_not_change_the_reference():
    def in_place(x, gain, bias, eps):
        y = layer_norm(x, gain, bias, eps)
        x.zero_(), gain.zero_()
        return y

    assert check_layer_norm(in_place).passed


@pytest.mark.parametrize("name", CHECKERS)
def test_the_feedback_is_deterministic(name):
    checker, _, mistakes = CHECKERS[name]
    wrong = _perturbed(CHECKERS[name][1], lambda y: y * 1.01)
    for fn in (wrong, mistakes[0][1]):
        first, second = checker(fn), checker(fn)
        assert first == second


@pytest.mark.parametrize("exercise", EXERCISES.values(), ids=list(EXERCISES))
def test_the_probes_separate_every_pair_of_candidates(exercise):
    """No two candidates with different names agree on all probes, by a margin far above the tolerance."""
    probes = exercise.probes()
    candidates = [("right", exercise.reference)] + [(m.code, m.compute) for m in exercise.mistakes]
    outputs = [(code, [fn(*p.args) for p in probes]) for code, fn in candidates]
    for (code_a, a), (code_b, b) in itertools.combinations(outputs, 2):
        if code_a == code_b:
            continue
        largest = max((s - t).abs().max().item() for pa, pb in zip(a, b) for s, t in zip(pa, pb))
        assert largest > 1e-2, (code_a, code_b, largest)


@pytest.mark.parametrize("exercise", [LAYER_NORM, BATCH_NORM], ids=["layer_norm", "batch_norm"])
def test_the_probes_separate_two_mistakes_from_one_and_from_other_pairs(exercise):
    probes = exercise.probes()
    singles = [("right", exercise.reference)] + [(m.code, m.compute) for m in exercise.mistakes]
    pairs = [(f"{a.code}+{b.code}", compute) for a, b, compute in exercise.combinations]
    assert len(pairs) > 20
    outputs = {name: [fn(*p.args) for p in probes] for name, fn in singles + pairs}
    for (name_a, a), (name_b, b) in itertools.combinations(outputs.items(), 2):
        if "+" not in name_a + name_b:
            continue
        largest = max((s - t).abs().max().item() for pa, pb in zip(a, b) for s, t in zip(pa, pb))
        assert largest > 1e-2, (name_a, name_b, largest)


@pytest.mark.parametrize(
    ("check", "fn", "codes"),
    [
        (
            check_layer_norm,
            lambda x, g, b, eps: g * (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + eps) + b,
            ("unbiased_variance", "eps_outside_sqrt"),
        ),
        (
            check_layer_norm,
            lambda x, g, b, eps: (x - x.mean(0, keepdim=True)) / (x.var(0, False, True) + eps).sqrt() * b + g,
            ("batch_axis", "gain_bias_swapped"),
        ),
        (
            check_batch_norm,
            lambda x, g, b, eps: g * x / torch.sqrt(x.var(0, keepdim=True) + eps) + b,
            ("unbiased_variance", "no_centering"),
        ),
    ],
    ids=["std_plus_eps", "batch_axis_swapped", "unbiased_uncentered"],
)
def test_two_mistakes_together_are_both_named(check, fn, codes):
    feedback = check(fn)
    assert not feedback.passed and feedback.mistake is None
    assert f"Two mistakes together ({codes[0]} and {codes[1]})" in feedback.message


def test_one_mistake_is_named_alone_and_three_are_not_named():
    one = check_batch_norm(lambda x, g, b, eps: F.batch_norm(x, None, None, None, None, True, 0.0, eps) * g)
    assert one.mistake == "no_gain_bias"
    three = check_batch_norm(lambda x, g, b, eps: g * x / (x.var(0, keepdim=True) + eps) + b)
    assert three.mistake is None and "matches neither" in three.message


def test_the_probes_are_the_same_on_every_call():
    for exercise in EXERCISES.values():
        first, second = exercise.probes(), exercise.probes()
        for p, q in zip(first, second):
            for a, b in zip(p.args, q.args):
                if isinstance(a, torch.Tensor):
                    assert torch.equal(a, b)
                elif isinstance(a, torch.nn.Module):
                    assert all(torch.equal(s, t) for s, t in zip(a.parameters(), b.parameters()))
                else:
                    assert a == b


def test_other_right_answers_pass():
    """A loop over the time steps, and autograd for the gradients, are right too."""
    by_step = lambda a, g, b, eps: torch.stack([batch_norm(a_t, g, b, eps) for a_t in a])  # noqa: E731
    assert check_recurrent_batch_norm(by_step).passed

    def by_autograd(v, g, grad_w):
        v, g = v.requires_grad_(), g.requires_grad_()
        w = weight_norm(v, g)
        grad_g, grad_v = torch.autograd.grad(w, (g, v), grad_w)
        return grad_g, grad_v

    assert check_weight_norm_grad(by_autograd).passed
    assert check_rms_norm(lambda x, g, eps: F.rms_norm(x, x.shape[-1:], g, eps)).passed


def test_the_weight_norm_gradient_is_orthogonal_to_w():
    """Section 5.2's geometry, which the checker's reference must show: grad_v . w = 0 row by row."""
    for probe in WEIGHT_NORM_GRAD.probes():
        v, g, grad_w = probe.args
        _, grad_v = WEIGHT_NORM_GRAD.reference(v, g, grad_w)
        assert (grad_v * v).sum(1).abs().max() < 1e-12 < (grad_w * v).sum(1).abs().min()


def test_the_probes_use_an_eps_that_shows_where_it_goes():
    for exercise in (LAYER_NORM, BATCH_NORM, RMS_NORM, RECURRENT_BATCH_NORM):
        assert all(p.args[-1] >= 1e-2 for p in exercise.probes())


# -- the feedback box -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "verdict"),
    [
        (layer_norm, "Passed"),
        (LAYER_NORM_MISTAKES[2][1], "Not yet"),
        (lambda *a: exec("raise NotImplementedError"), "Not done yet"),
    ],
    ids=["passed", "mistake", "stub"],
)
def test_the_html_box_says_the_verdict_in_words_and_gives_the_hint(fn, verdict):
    feedback = check_layer_norm(fn)
    box = feedback._repr_html_()
    assert f"{verdict}: layer norm" in box
    assert str(feedback).startswith(f"{verdict}: layer norm")
    if verdict != "Passed":
        assert "Hint:" in box and "Eq. (3)" in box
        assert feedback.hint and feedback.hint[:40] in box


def test_the_html_box_escapes_the_message():
    feedback = Feedback(False, None, "x < y & <script>", "see eq. (3)", "test")
    box = feedback._repr_html_()
    assert "<script>" not in box and "&lt;script&gt;" in box
    assert "Not yet" in box and "see eq. (3)" in box


def test_the_verdict_words():
    assert Feedback(True, None, "ok").verdict == "Passed"
    assert Feedback(False, "no_gain", "no").verdict == "Not yet"
    assert Feedback(False, None, "stub", done=False).verdict == "Not done yet"


# -- Table 1 ------------------------------------------------------------------------------------------------

#: The paper's Table 1 as a student would type it (True = invariant).
STUDENT_TABLE = {
    "batch": {
        "weight_matrix_rescaling": True,
        "weight_matrix_recentering": False,
        "weight_vector_rescaling": True,
        "dataset_rescaling": True,
        "dataset_recentering": True,
        "case_rescaling": False,
    },
    "weight": {
        "weight_matrix_rescaling": True,
        "weight_matrix_recentering": False,
        "weight_vector_rescaling": True,
        "dataset_rescaling": False,
        "dataset_recentering": False,
        "case_rescaling": False,
    },
    "layer": {
        "weight_matrix_rescaling": True,
        "weight_matrix_recentering": True,
        "weight_vector_rescaling": False,
        "dataset_rescaling": True,
        "dataset_recentering": False,
        "case_rescaling": True,
    },
}


def _table(**changes: bool) -> dict[str, dict[str, bool]]:
    """STUDENT_TABLE with cells changed: method__transformation=value."""
    table = {m: dict(row) for m, row in STUDENT_TABLE.items()}
    for cell, value in changes.items():
        method, transformation = cell.split("__")
        table[method][transformation] = value
    return table


def test_the_right_table_passes():
    assert check_table1(STUDENT_TABLE).passed
    rms = {
        "weight_matrix_rescaling": True,
        "weight_matrix_recentering": False,
        "weight_vector_rescaling": False,
        "dataset_rescaling": True,
        "dataset_recentering": False,
        "case_rescaling": True,
    }
    assert check_table1({**STUDENT_TABLE, "rms": rms}).passed


def test_each_wrong_cell_is_named_with_the_panel_setting():
    feedback = check_table1(_table(layer__weight_matrix_recentering=False, batch__case_rescaling=True))
    assert not feedback.passed and feedback.mistake is None
    assert "2 of 18 cells are wrong" in feedback.message
    assert "layer norm under weight matrix recentering: you said not invariant, it is invariant" in feedback.message
    assert 'set method to "layer norm" and transformation to "weight matrix recentering"' in feedback.message
    assert "batch norm under case rescaling: you said invariant, it is not invariant" in feedback.message
    assert "weight norm" not in feedback.message


@pytest.mark.parametrize(("method", "transformation"), list(itertools.product(STUDENT_TABLE, inv.TRANSFORMATIONS)))
def test_every_cell_is_checked(method, transformation):
    feedback = check_table1(_table(**{f"{method}__{transformation}": not STUDENT_TABLE[method][transformation]}))
    assert not feedback.passed
    assert "1 of 18 cells is wrong" in feedback.message
    assert f'transformation to "{transformation.replace("_", " ")}"' in feedback.message


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ([1, 2], "got list"),
        ({"batch": STUDENT_TABLE["batch"]}, "no row for ['weight', 'layer']"),
        ({**STUDENT_TABLE, "group": {}}, "Unknown method(s) ['group']"),
        (_table(layer__case_rescaling="Invariant"), "should be True (invariant) or False"),
        ({**STUDENT_TABLE, "layer": {"case_rescaling": True}}, "no entry for"),
        ({**STUDENT_TABLE, "layer": {**STUDENT_TABLE["layer"], "shear": True}}, "unknown transformation(s) ['shear']"),
    ],
    ids=["list", "missing row", "unknown method", "not bool", "missing cells", "unknown transformation"],
)
def test_a_malformed_table_is_explained(answer, words):
    feedback = check_table1(answer)
    assert not feedback.passed and feedback.done
    assert words in feedback.message


def test_an_unfilled_table_is_not_done_yet():
    feedback = check_table1(...)
    assert not feedback.passed and feedback.verdict == "Not done yet"


def test_table1_left_all_blank_is_not_done_yet_and_one_blank_is_named() -> None:
    blank = {m: dict.fromkeys(inv.TRANSFORMATIONS, ...) for m in ("batch", "weight", "layer")}
    feedback = check_table1(blank)
    assert not feedback.passed and not feedback.done and "Not done yet" in str(feedback)
    partly = {m: dict(row) for m, row in inv.table().items() if m != "rms"}
    partly["layer"]["weight_matrix_rescaling"] = ...
    feedback = check_table1(partly)
    assert not feedback.passed and feedback.done and "weight_matrix_rescaling" in feedback.message
