"""lnviz.nn.cells cells: torch's cells for norm="none", the paper's equations for norm="layer",
Cooijmans et al.'s per-step statistics for norm="batch", and the errors for bad input."""

import pytest
import torch
from torch import Tensor, nn
from torch.func import functional_call

from lnviz.nn.cells import (
    SATURATION_THRESHOLD,
    GRUCell,
    LSTMCell,
    RNNCell,
    StepwiseBatchNorm,
    saturated_fraction,
)
from lnviz.nn.norms import LayerNorm

CELLS = {"rnn": (RNNCell, nn.RNNCell), "lstm": (LSTMCell, nn.LSTMCell), "gru": (GRUCell, nn.GRUCell)}
EPS = 1e-5


def _randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _randomize(module: nn.Module, seed: int) -> None:
    """Random parameters everywhere, gains and norm biases included, so that each one matters.
    Gains (the norms' `weight`) scatter around 1, everything else around 0."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            gain = name.endswith(".weight")
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5 + gain)


def _state(name: str, batch: int, hidden: int, seed: int, dtype=torch.float64):
    h = _randn(batch, hidden, seed=seed, dtype=dtype)
    return (h, _randn(batch, hidden, seed=seed + 1, dtype=dtype)) if name == "lstm" else h


def _flat(state) -> list[Tensor]:
    return list(state) if isinstance(state, tuple) else [state]


def _make(name: str, norm: str, input_size=5, hidden=6, **kw):
    if norm == "batch":
        kw.setdefault("max_steps", 4)
    return CELLS[name][0](input_size, hidden, norm=norm, **kw)


# ------------------------------------------------------------------ norm="none" equals torch


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", CELLS)
def test_none_equals_torch_cell_with_copied_weights(name: str, dtype: torch.dtype) -> None:
    ours = _make(name, "none", dtype=dtype)
    theirs = CELLS[name][1](5, 6, dtype=dtype)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-12}

    # three steps from a random state, so the recurrence and the carried state are compared too
    state_ours = state_theirs = _state(name, 3, 6, seed=1, dtype=dtype)
    for t in range(3):
        x = _randn(3, 5, seed=10 + t, dtype=dtype)
        state_ours, state_theirs = ours(x, state_ours), theirs(x, state_theirs)
        for a, b in zip(_flat(state_ours), _flat(state_theirs)):
            torch.testing.assert_close(a, b, **tol)
    sum(s.pow(2).sum() for s in _flat(state_ours)).backward()
    sum(s.pow(2).sum() for s in _flat(state_theirs)).backward()
    for (pname, p), q in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad, **tol, msg=lambda m, pname=pname: f"{pname}: {m}")


@pytest.mark.parametrize("name", CELLS)
def test_none_state_defaults_to_zeros_as_in_torch(name: str) -> None:
    ours = _make(name, "none")
    theirs = CELLS[name][1](5, 6, dtype=torch.float32)
    theirs.load_state_dict(ours.state_dict())
    x = _randn(2, 5, dtype=torch.float32)
    for a, b in zip(_flat(ours(x)), _flat(theirs(x))):
        torch.testing.assert_close(a, b)


# ------------------------------------------------------------------ norm="layer": the paper's equations


def _ln(a: Tensor, gain: Tensor, bias: Tensor) -> Tensor:
    """Eqs. (3)-(4) written out: statistics over the units of each case, then gain and bias."""
    mu = a.mean(-1, keepdim=True)
    sigma = ((a - mu) ** 2).mean(-1, keepdim=True).add(EPS).sqrt()
    return gain / sigma * (a - mu) + bias


def _reference(cell, x: Tensor, state):
    """The LN cells' equations with plain tensor math, reading only the cell's parameters."""
    p = dict(cell.named_parameters())
    H = cell.hidden_size
    if isinstance(cell, RNNCell):  # eq. (4)
        a = x @ p["weight_ih"].T + state @ p["weight_hh"].T
        return torch.tanh(_ln(a, p["ln.weight"], p["ln.bias"]))
    if isinstance(cell, LSTMCell):  # supplement eqs. (17)-(22)
        h, c = state
        gates = (
            _ln(x @ p["weight_ih"].T, p["ln_ih.weight"], p["ln_ih.bias"])
            + _ln(h @ p["weight_hh"].T, p["ln_hh.weight"], p["ln_hh.bias"])
            + p["bias_ih"]
            + p["bias_hh"]
        )
        i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(_ln(c_new, p["ln_c.weight"], p["ln_c.bias"]))
        return h_new, c_new
    gi = _ln(x @ p["weight_ih"].T, p["ln_ih.weight"], p["ln_ih.bias"]) + p["bias_ih"]  # eqs. (23)-(28)
    gh = _ln(state @ p["weight_hh"].T, p["ln_hh.weight"], p["ln_hh.bias"]) + p["bias_hh"]
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    return (1 - z) * n + z * state


@pytest.mark.parametrize("name", CELLS)
def test_layer_cell_equals_the_papers_equations(name: str) -> None:
    cell = _make(name, "layer", dtype=torch.float64)
    _randomize(cell, seed=3)
    state = _state(name, 4, 6, seed=5)
    for t in range(3):
        x = _randn(4, 5, seed=20 + t)
        ours, expected = cell(x, state), _reference(cell, x, state)
        for a, b in zip(_flat(ours), _flat(expected)):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
        state = ours


def test_layer_lstm_carries_the_raw_cell_state() -> None:
    cell = _make("lstm", "layer", dtype=torch.float64)
    _randomize(cell, seed=4)
    c = _randn(3, 6, seed=2)
    (h_new, c_new), inside = cell(_randn(3, 5, seed=1), (_randn(3, 6, seed=3), c), return_internals=True)
    i, f, g, o = inside.normalized.chunk(4, 1)
    raw = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    torch.testing.assert_close(c_new, raw)  # carried: c', not ln_c(c')
    torch.testing.assert_close(h_new, torch.sigmoid(o) * torch.tanh(cell.ln_c(raw)))
    assert not torch.allclose(cell.ln_c(raw), raw, atol=0.1)


@pytest.mark.parametrize("name", CELLS)
def test_layer_norms_are_lnviz_layernorms_with_gain_1_and_bias_0(name: str) -> None:
    cell = _make(name, "layer")
    norms = [m for m in cell.modules() if isinstance(m, LayerNorm)]
    expected = {"rnn": {"ln"}, "lstm": {"ln_ih", "ln_hh", "ln_c"}, "gru": {"ln_ih", "ln_hh"}}[name]
    assert {n for n, m in cell.named_children()} == expected
    assert len(norms) == len(expected)
    for m in norms:
        assert torch.equal(m.weight, torch.ones_like(m.weight))
        assert torch.equal(m.bias, torch.zeros_like(m.bias))


def test_layer_rnn_has_no_bias_before_the_normalization() -> None:
    cell = _make("rnn", "layer")
    assert cell.bias_ih is None and cell.bias_hh is None
    # a constant added to every summed input is removed by the normalization, so there is no
    # place for such a bias: shifting x W_ih^T by a constant vector changes nothing
    x, h = _randn(2, 5, dtype=torch.float32), _randn(2, 6, seed=1, dtype=torch.float32)
    with torch.no_grad():
        out = cell(x, h)
        shifted = torch.tanh(cell.ln(x @ cell.weight_ih.T + h @ cell.weight_hh.T + 3.0))
    torch.testing.assert_close(out, shifted)


@pytest.mark.parametrize("name", CELLS)
def test_layer_cell_gradcheck(name: str) -> None:
    cell = _make(name, "layer", input_size=3, hidden=2, dtype=torch.float64)
    _randomize(cell, seed=6)
    names = [n for n, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    x = _randn(2, 3, seed=7).requires_grad_()
    state = [s.requires_grad_() for s in _flat(_state(name, 2, 2, seed=8))]

    def fn(x, *rest):
        st = tuple(rest[: len(state)])
        out = functional_call(cell, dict(zip(names, rest[len(state) :])), (x, st if name == "lstm" else st[0]))
        return out

    assert torch.autograd.gradcheck(fn, (x, *state, *params))


# ------------------------------------------------------------------ saturation


def test_saturated_fraction_counts_units_past_the_thresholds() -> None:
    s = torch.tensor([[0.01, 0.5, 0.99, 0.96], [0.5, 0.5, 0.5, 0.5]])
    t = torch.tensor([[-0.99, 0.0], [0.94, 0.951]])
    # case 0: 3 sigmoid + 1 tanh of 6 units; case 1: 1 tanh of 6
    torch.testing.assert_close(saturated_fraction((s,), (t,)), torch.tensor([4 / 6, 1 / 6]))
    assert SATURATION_THRESHOLD == 0.95


def test_internals_of_one_lstm_step() -> None:
    cell = _make("lstm", "layer", dtype=torch.float64)
    _randomize(cell, seed=9)
    x, (h, c) = _randn(3, 5, seed=1), _state("lstm", 3, 6, seed=2)
    (h1, c1), inside = cell(x, (h, c), return_internals=True)
    p = dict(cell.named_parameters())
    torch.testing.assert_close(inside.summed, x @ p["weight_ih"].T + h @ p["weight_hh"].T)
    gates = (
        _ln(x @ p["weight_ih"].T, p["ln_ih.weight"], p["ln_ih.bias"])
        + _ln(h @ p["weight_hh"].T, p["ln_hh.weight"], p["ln_hh.bias"])
        + p["bias_ih"]
        + p["bias_hh"]
    )
    torch.testing.assert_close(inside.normalized, gates)
    acts = torch.cat([torch.sigmoid(gates[:, :12]), torch.tanh(gates[:, 12:18]), torch.sigmoid(gates[:, 18:])], 1)
    sat = ((acts[:, :12] < 0.05) | (acts[:, :12] > 0.95)).sum(1) + (acts[:, 12:18].abs() > 0.95).sum(1)
    sat = sat + ((acts[:, 18:] < 0.05) | (acts[:, 18:] > 0.95)).sum(1)
    torch.testing.assert_close(inside.saturation, sat.double() / 24)
    # the state is the same as without internals
    torch.testing.assert_close(h1, cell(x, (h, c))[0])


# ------------------------------------------------------------------ recurrent batch normalization


@pytest.mark.parametrize("name", CELLS)
def test_batch_norm_gains_start_at_0_1_with_per_step_buffers(name: str) -> None:
    cell = _make(name, "batch", max_steps=7)
    bns = dict(cell.named_children())
    assert bns and all(isinstance(m, StepwiseBatchNorm) for m in bns.values())
    for m in bns.values():
        torch.testing.assert_close(m.weight, torch.full_like(m.weight, 0.1))
        assert torch.equal(m.bias, torch.zeros_like(m.bias))
        assert m.running_mean.shape == m.running_var.shape == (7, m.num_features)


@pytest.mark.parametrize("training", [True, False])
def test_stepwise_batch_norm_row_equals_batchnorm1d(training: bool) -> None:
    bn = StepwiseBatchNorm(4, max_steps=3, dtype=torch.float64)
    ref = nn.BatchNorm1d(4, dtype=torch.float64)
    with torch.no_grad():
        bn.running_mean.copy_(_randn(3, 4, seed=1))
        bn.running_var.copy_(_randn(3, 4, seed=2).abs() + 0.5)
        ref.running_mean.copy_(bn.running_mean[1])
        ref.running_var.copy_(bn.running_var[1])
        ref.weight.fill_(0.1)
    bn.train(training)
    ref.train(training)
    x = _randn(8, 4, seed=3) * 2 + 1
    torch.testing.assert_close(bn(x, step=1), ref(x))
    torch.testing.assert_close(bn.running_mean[1], ref.running_mean)
    torch.testing.assert_close(bn.running_var[1], ref.running_var)


def test_batch_statistics_are_per_step() -> None:
    cell = _make("rnn", "batch", max_steps=3, dtype=torch.float64)
    h = _randn(16, 6, seed=1)
    xs = [_randn(16, 5, seed=10 + t) * (t + 1) + t for t in range(3)]  # steps with different statistics
    for t, x in enumerate(xs):
        a = x @ cell.weight_ih.T + h @ cell.weight_hh.T
        out = cell(x, h, step=t)
        # training: step t is normalized with its own batch statistics, biased variance
        pre = (a - a.mean(0)) / (a.var(0, correction=0) + EPS).sqrt() * 0.1
        torch.testing.assert_close(out, torch.tanh(pre))
        # running statistics of row t only, from their init (mean 0, var 1), momentum 0.1
        torch.testing.assert_close(cell.bn.running_mean[t], 0.1 * a.mean(0).detach())
        torch.testing.assert_close(cell.bn.running_var[t], 0.9 + 0.1 * a.var(0).detach())
    rm = cell.bn.running_mean
    assert not torch.allclose(rm[0], rm[1]) and not torch.allclose(rm[1], rm[2])


def test_batch_norm_eval_uses_the_steps_row_and_the_last_row_beyond_max_steps() -> None:
    cell = _make("lstm", "batch", max_steps=3, dtype=torch.float64)
    with torch.no_grad():
        for m in cell.children():
            m.running_mean.copy_(_randn(*m.running_mean.shape, seed=1))
            m.running_var.copy_(_randn(*m.running_var.shape, seed=2).abs() + 0.5)
    cell.eval()
    x, state = _randn(2, 5, seed=3), _state("lstm", 2, 6, seed=4)
    out = {t: cell(x, state, step=t)[0] for t in (0, 1, 2, 3, 50)}
    assert not torch.allclose(out[0], out[1]) and not torch.allclose(out[1], out[2])
    torch.testing.assert_close(out[3], out[2])
    torch.testing.assert_close(out[50], out[2])
    # eval works with a single case (no batch statistics needed) and leaves the buffers alone
    before = cell.bn_ih.running_mean.clone()
    cell(x[:1], (state[0][:1], state[1][:1]), step=1)
    assert torch.equal(before, cell.bn_ih.running_mean)


def test_batch_norm_training_beyond_max_steps_updates_the_last_row() -> None:
    bn = StepwiseBatchNorm(3, max_steps=2, dtype=torch.float64)
    xs = [_randn(10, 3, seed=t) + t for t in range(5)]
    for t, x in enumerate(xs):
        bn(x, step=t)
    expected_last = torch.zeros(3, dtype=torch.float64)
    for x in xs[1:]:  # steps 1 (its own row, the last), 2, 3, 4 (beyond) all move row 1, in order
        expected_last = 0.9 * expected_last + 0.1 * x.mean(0)
    torch.testing.assert_close(bn.running_mean[0], 0.1 * xs[0].mean(0))
    torch.testing.assert_close(bn.running_mean[1], expected_last)


def test_batch_norm_over_a_time_block_equals_step_by_step() -> None:
    a, b = (StepwiseBatchNorm(3, max_steps=4, dtype=torch.float64) for _ in range(2))
    x = _randn(6, 5, 3, seed=2)  # (time, batch, features), running past max_steps
    block = a(x, step=1)
    steps = torch.stack([b(x_t, step=1 + t) for t, x_t in enumerate(x)])
    torch.testing.assert_close(block, steps)
    torch.testing.assert_close(a.running_mean, b.running_mean)
    torch.testing.assert_close(a.running_var, b.running_var)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("name", CELLS)
def test_wrong_feature_size_raises(name: str) -> None:
    cell = _make(name, "none")
    with pytest.raises(ValueError, match=r"input_size=5.*\(3, 4\)"):
        cell(torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"\(batch, input_size\) or \(input_size,\).*\(2, 3, 5\)"):
        cell(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"input_size=5.*\(4,\)"):
        cell(torch.zeros(4))
    with pytest.raises(ValueError, match="dtype torch.float32, got torch.float64"):
        cell(torch.zeros(3, 5, dtype=torch.float64))


@pytest.mark.parametrize("name", CELLS)
def test_wrong_state_shape_raises(name: str) -> None:
    cell = _make(name, "layer")
    bad = torch.zeros(3, 7)
    state = (bad, torch.zeros(3, 6)) if name == "lstm" else bad
    with pytest.raises(ValueError, match=r"hidden state h of shape \(batch=3, hidden_size=6\), got shape \(3, 7\)"):
        cell(torch.zeros(3, 5), state)


def test_lstm_state_must_be_a_pair() -> None:
    cell = _make("lstm", "none")
    with pytest.raises(ValueError, match=r"pair \(h, c\), got Tensor"):
        cell(torch.zeros(3, 5), torch.zeros(3, 6))
    with pytest.raises(ValueError, match=r"cell state c of shape \(batch=3, hidden_size=6\), got shape \(2, 6\)"):
        cell(torch.zeros(3, 5), (torch.zeros(3, 6), torch.zeros(2, 6)))


@pytest.mark.parametrize("name", CELLS)
def test_batch_norm_needs_step_and_max_steps(name: str) -> None:
    cell = _make(name, "batch")
    with pytest.raises(ValueError, match="expected the time index step="):
        cell(torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"step to be an int >= 0, got -1"):
        cell(torch.zeros(3, 5), step=-1)
    with pytest.raises(ValueError, match="expected max_steps"):
        CELLS[name][0](5, 6, norm="batch")
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        cell(torch.zeros(1, 5), step=0)


def test_unknown_norm_and_bad_sizes_raise() -> None:
    with pytest.raises(ValueError, match=r"norm to be one of \('none', 'batch', 'layer'\), got 'group'"):
        LSTMCell(5, 6, norm="group")
    with pytest.raises(ValueError, match="hidden_size to be a positive int, got 0"):
        GRUCell(5, 0)
    with pytest.raises(ValueError, match="max_steps only with norm='batch'"):
        RNNCell(5, 6, norm="layer", max_steps=3)
    with pytest.raises(ValueError, match=r"input of shape \(batch, 3\).*got input of shape \(2, 4\)"):
        StepwiseBatchNorm(3, max_steps=2)(torch.zeros(2, 4), step=0)


# ------------------------------------------------------------------ torch's signature and call convention


def test_positional_arguments_are_torchs() -> None:
    """RNNCell(input_size, hidden_size, bias, nonlinearity, device, dtype), the others without nonlinearity."""
    rnn = RNNCell(5, 6, False, "relu", "cpu", torch.float64)
    assert (rnn.bias, rnn.nonlinearity, rnn.bias_ih, rnn.norm) == (False, "relu", None, "none")
    assert rnn.weight_ih.dtype == torch.float64
    for cls in (LSTMCell, GRUCell):
        cell = cls(5, 6, False, "cpu", torch.float64, norm="layer")
        assert (cell.bias, cell.bias_ih, cell.bias_hh, cell.norm) == (False, None, None, "layer")
        assert cell.weight_hh.dtype == torch.float64


@pytest.mark.parametrize("name", CELLS)
def test_a_norm_name_where_bias_goes_is_refused(name: str) -> None:
    """torch's third argument is `bias`: a norm name there is an error, not silently read as the norm."""
    with pytest.raises(ValueError, match="bias to be True or False, got 'layer'"):
        CELLS[name][0](5, 6, "layer")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("name", "kw"), [("rnn", {"nonlinearity": "relu"}), ("rnn", {}), ("lstm", {}), ("gru", {})])
def test_bias_false_and_relu_equal_torch(name: str, kw: dict, dtype: torch.dtype) -> None:
    theirs = CELLS[name][1](5, 6, bias=False, dtype=dtype, **kw)
    ours = CELLS[name][0](5, 6, bias=False, dtype=dtype, **kw)
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == ["weight_ih", "weight_hh"]
    x, state = _randn(3, 5, seed=4, dtype=dtype), _state(name, 3, 6, seed=5, dtype=dtype)
    for a, b in zip(_flat(ours(x, state)), _flat(theirs(x, state))):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("norm", ["layer", "batch"])
@pytest.mark.parametrize("name", CELLS)
def test_bias_false_with_a_norm_keeps_only_the_norms_biases(name: str, norm: str) -> None:
    cell = _make(name, norm, bias=False, dtype=torch.float64)
    assert cell.bias_ih is None and cell.bias_hh is None
    assert all(not n.startswith("bias") for n, _ in cell.named_parameters())
    _randomize(cell, seed=3)
    out = cell(_randn(3, 5, seed=1), step=0)
    assert all(torch.isfinite(t).all() for t in _flat(out))


@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
@pytest.mark.parametrize("name", CELLS)
def test_unbatched_input_equals_a_batch_of_one(name: str, norm: str) -> None:
    cell = _make(name, norm, dtype=torch.float64)
    _randomize(cell, seed=2)
    cell.eval()  # a batch of one has no batch statistics
    x, state = _randn(5, seed=1), _state(name, 1, 6, seed=3)
    one = _flat(cell(x, tuple(s[0] for s in state) if name == "lstm" else state[0], step=0))
    batch = _flat(cell(x[None], state, step=0))
    assert [t.shape for t in one] == [(6,)] * len(batch)
    for a, b in zip(one, batch):
        torch.testing.assert_close(a, b[0])
    # no state means zeros, batched as the input
    zeros = _flat(cell(x, step=0))
    for a, b in zip(zeros, _flat(cell(x[None], step=0))):
        torch.testing.assert_close(a, b[0])
    new_state, internals = cell(x, step=0, return_internals=True)
    assert internals.summed.dim() == 1 and internals.saturation.dim() == 0


@pytest.mark.parametrize("name", CELLS)
def test_state_of_wrong_dtype_or_batching_raises(name: str) -> None:
    cell = _make(name, "none")  # float32
    x = torch.zeros(3, 5)
    h32, h64 = torch.zeros(3, 6), torch.zeros(3, 6, dtype=torch.float64)
    bad_h = (h64, h32) if name == "lstm" else h64
    with pytest.raises(ValueError, match="hidden state h of dtype torch.float32 on cpu.*got dtype torch.float64"):
        cell(x, bad_h)
    if name == "lstm":
        with pytest.raises(ValueError, match="cell state c of dtype torch.float32 on cpu.*got dtype torch.float64"):
            cell(x, (h32, h64))
    unbatched = torch.zeros(6)
    with pytest.raises(ValueError, match=r"hidden state h of shape \(hidden_size=6,\), got shape \(3, 6\)"):
        cell(torch.zeros(5), (h32, unbatched) if name == "lstm" else h32)
    with pytest.raises(ValueError, match=r"of shape \(batch=3, hidden_size=6\), got shape \(6,\)"):
        cell(x, (unbatched, h32) if name == "lstm" else unbatched)


def test_numpy_integers_are_sizes_and_steps_as_in_torch() -> None:
    np = pytest.importorskip("numpy")
    cell = RNNCell(np.int64(3), np.int64(4))
    assert (cell.input_size, cell.hidden_size) == (3, 4) and type(cell.hidden_size) is int
    bn = LSTMCell(np.int32(3), np.int32(4), norm="batch", max_steps=np.int64(2))
    assert bn.max_steps == 2 and bn.bn_ih.running_mean.shape == (2, 16)
    bn(torch.randn(2, 3), step=np.int64(1))


@pytest.mark.parametrize("eps", [float("nan"), float("inf"), -1.0, "1e-5", None])
@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
def test_cells_refuse_a_bad_eps(norm: str, eps) -> None:
    """norm='none' builds no normalization, so the cell itself must check it."""
    with pytest.raises(ValueError, match="expected a finite eps >= 0"):
        _make("gru", norm, eps=eps)


def test_bad_bias_and_nonlinearity_raise() -> None:
    with pytest.raises(ValueError, match="nonlinearity to be 'tanh' or 'relu', got 'sigmoid'"):
        RNNCell(5, 6, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="bias to be True or False, got 1"):
        GRUCell(5, 6, 1)


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_relu_rnn_saturation_is_the_fraction_of_units_at_zero(norm: str) -> None:
    cell = RNNCell(5, 6, nonlinearity="relu", norm=norm, dtype=torch.float64)
    _randomize(cell, seed=6)
    h, internals = cell(_randn(4, 5, seed=7), return_internals=True)
    assert (h >= 0).all() and (h == 0).any()
    torch.testing.assert_close(internals.saturation, (h == 0).double().mean(-1))
    torch.testing.assert_close(h, torch.relu(internals.normalized))
