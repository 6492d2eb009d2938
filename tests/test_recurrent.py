"""lnviz.nn.recurrent: the sequence runner equals stepping the cell by hand, and the trace's statistics
and gradient norms are right on cases small enough to check by hand."""

import math

import numpy as np
import pytest
import torch
from torch import Tensor

from lnviz.nn.cells import GRUCell, LSTMCell, RNNCell
from lnviz.nn.recurrent import Recurrent, Trace

CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
NORMS = ["none", "layer", "batch"]


def _randn(*shape: int, seed: int = 0) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _cell(name: str, norm: str, input_size: int = 3, hidden: int = 4, **kw):
    if norm == "batch":
        kw.setdefault("max_steps", 3)
    torch.manual_seed(0)
    return CELLS[name](input_size, hidden, norm=norm, dtype=torch.float64, **kw)


def _by_hand(cell, x: Tensor, state=None):
    """Step the cell by hand over x: (batch, time, features); outputs (batch, time, H), final state."""
    outputs = []
    for t in range(x.shape[1]):
        state = cell(x[:, t], state, step=t)
        outputs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(outputs, 1), state


def _flat(state) -> list[Tensor]:
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", CELLS)
def test_runner_equals_stepping_the_cell_by_hand(name: str, norm: str) -> None:
    # 5 steps with max_steps=3 for batch norm: steps 3 and 4 share the last statistics
    cell = _cell(name, norm)
    reference = _cell(name, norm)
    x = _randn(4, 5, 3, seed=1)
    state0 = [_randn(4, 4, seed=2), _randn(4, 4, seed=3)]
    state0 = tuple(state0) if name == "lstm" else state0[0]
    out, final = Recurrent(cell)(x, state0)
    out_ref, final_ref = _by_hand(reference, x, state0)
    torch.testing.assert_close(out, out_ref)
    for a, b in zip(_flat(final), _flat(final_ref)):
        torch.testing.assert_close(a, b)
    # the gradients, and for batch norm the running statistics, agree as well
    out.pow(2).sum().backward()
    out_ref.pow(2).sum().backward()
    for (pname, p), q in zip(cell.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=lambda m, pname=pname: f"{pname}: {m}")
    for (bname, b), c in zip(cell.named_buffers(), reference.buffers()):
        torch.testing.assert_close(b, c, msg=lambda m, bname=bname: f"{bname}: {m}")


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", CELLS)
def test_recording_changes_nothing_but_returns_a_trace(name: str, norm: str) -> None:
    runner = Recurrent(_cell(name, norm), batch_first=False)
    runner.eval()
    x = _randn(6, 2, 3, seed=4)  # (time, batch, features)
    out, final = runner(x)
    out_rec, final_rec, trace = runner(x, record=True)
    assert out.shape == (6, 2, 4)
    torch.testing.assert_close(out_rec, out)
    for a, b in zip(_flat(final_rec), _flat(final)):
        torch.testing.assert_close(a, b)
    units = {"rnn": 1, "lstm": 4, "gru": 3}[name] * 4
    assert trace.summed.shape == trace.normalized.shape == (6, 2, units)
    stats = trace.numpy()
    assert set(stats) == {"summed_mean", "summed_std", "normalized_mean", "normalized_std", "hidden_norm", "saturation"}
    for value in stats.values():
        assert isinstance(value, np.ndarray) and value.shape == (6, 2)
    np.testing.assert_allclose(stats["hidden_norm"], out.norm(dim=-1).detach().numpy())


def _identity_rnn(norm: str) -> RNNCell:
    """A 2-unit RNN whose summed inputs are the inputs themselves: W_ih = I, W_hh = 0, biases 0."""
    cell = RNNCell(2, 2, norm=norm, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.eye(2))
        cell.weight_hh.zero_()
        if cell.bias_ih is not None:
            cell.bias_ih.zero_()
            cell.bias_hh.zero_()
    return cell


def test_trace_statistics_by_hand_without_normalization() -> None:
    # one case, three steps; the summed inputs are x_t = (a, b): mean (a+b)/2, std |a-b|/2
    x = torch.tensor([[[3.0, 1.0], [0.0, 0.0], [-2.0, 4.0]]], dtype=torch.float64)
    out, _, trace = Recurrent(_identity_rnn("none"))(x, record=True)
    torch.testing.assert_close(trace.summed_mean[:, 0], torch.tensor([2.0, 0.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(trace.summed_std[:, 0], torch.tensor([1.0, 0.0, 3.0], dtype=torch.float64))
    # no normalization: what the tanh receives is the summed input itself
    torch.testing.assert_close(trace.normalized, trace.summed)
    # h = tanh(x): |tanh(3)|, |tanh(-2)|, |tanh(4)| > 0.95 are saturated, tanh(1) = 0.76 is not
    torch.testing.assert_close(trace.saturation[:, 0], torch.tensor([0.5, 0.0, 1.0], dtype=torch.float64))
    expected_norm = [math.hypot(math.tanh(3), math.tanh(1)), 0.0, math.hypot(math.tanh(-2), math.tanh(4))]
    torch.testing.assert_close(trace.hidden_norm[:, 0], torch.tensor(expected_norm, dtype=torch.float64))


def test_trace_statistics_by_hand_with_layer_norm() -> None:
    # two units: LN maps (a, b) to (+-d, -+d) / sqrt(d^2 + eps) with d = (a-b)/2: mean 0, std ~ 1
    x = torch.tensor([[[3.0, 1.0], [10.0, 4.0]], [[0.5, 0.7], [-1.0, 1.0]]], dtype=torch.float64)
    _, _, trace = Recurrent(_identity_rnn("layer"))(x, record=True)
    d = (x[..., 0] - x[..., 1]).abs().T / 2  # (time, batch)
    torch.testing.assert_close(trace.summed_mean, x.mean(-1).T)
    torch.testing.assert_close(trace.summed_std, d)
    torch.testing.assert_close(trace.normalized_mean, torch.zeros(2, 2, dtype=torch.float64))
    torch.testing.assert_close(trace.normalized_std, d / (d**2 + 1e-5).sqrt())
    # both units at tanh(+-0.99998...) = +-0.7616: none saturated
    assert torch.equal(trace.saturation, torch.zeros(2, 2, dtype=torch.float64))


def test_trace_statistics_by_hand_for_the_lstm_gate_vector() -> None:
    # H = 1: four gate units i, f, g, o with summed inputs (1, 2, 3, 4) * x
    cell = LSTMCell(1, 1, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor([[1.0], [2.0], [3.0], [4.0]]))
        cell.weight_hh.zero_()
        cell.bias_ih.zero_()
        cell.bias_hh.fill_(0.5)
    x = torch.tensor([[[1.0], [-2.0]]], dtype=torch.float64)
    _, _, trace = Recurrent(cell)(x, record=True)
    torch.testing.assert_close(trace.summed_mean[:, 0], torch.tensor([2.5, -5.0], dtype=torch.float64))
    torch.testing.assert_close(trace.summed_std[:, 0], torch.tensor([1.25**0.5, 2 * 1.25**0.5], dtype=torch.float64))
    torch.testing.assert_close(trace.normalized_mean[:, 0], torch.tensor([3.0, -4.5], dtype=torch.float64))
    # step 0, pre-activations (1.5, 2.5, 3.5, 4.5): sigmoid(i)=0.82, sigmoid(f)=0.92 unsaturated,
    # tanh(g)=0.998 and sigmoid(o)=0.989 saturated -> 2/4. Step 1, (-1.5, -3.5, -5.5, -7.5): 3/4.
    torch.testing.assert_close(trace.saturation[:, 0], torch.tensor([0.5, 0.75], dtype=torch.float64))


@pytest.mark.parametrize("scale,direction", [(0.5, "vanish"), (1.5, "explode")])
def test_grad_norms_vanish_or_explode_back_through_time(scale: float, direction: str) -> None:
    # An RNN near h = 0, where tanh' = 1: dLoss/dh_t = (scale * Q^T)^(T-1-t) dLoss/dh_{T-1} for an
    # orthogonal Q, so its norm changes by the factor `scale` per step back in time.
    hidden, steps = 8, 12
    cell = RNNCell(hidden, hidden, dtype=torch.float64)
    q, _ = torch.linalg.qr(_randn(hidden, hidden, seed=5))
    with torch.no_grad():
        cell.weight_hh.copy_(scale * q)
        cell.weight_ih.zero_()
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
    x = torch.zeros(3, steps, hidden, dtype=torch.float64)
    h0 = 1e-6 * _randn(3, hidden, seed=6)
    out, _, trace = Recurrent(cell)(x, h0, record=True)
    (out[:, -1] * _randn(3, hidden, seed=7)).sum().backward()  # a loss on the last step only
    norms = trace.grad_norms()
    assert norms.shape == (steps, 3)
    ratios = norms[:-1] / norms[1:]  # one step back in time
    torch.testing.assert_close(ratios, torch.full_like(ratios, scale), rtol=1e-6, atol=0)
    first, last = norms[0], norms[-1]
    if direction == "vanish":
        assert (first < 0.01 * last).all()
    else:
        assert (first > 50 * last).all()


def test_grad_norms_include_the_path_through_later_steps() -> None:
    runner = Recurrent(_cell("lstm", "layer"))
    out, _, trace = runner(_randn(2, 4, 3, seed=8), record=True)
    out.sum().backward()
    norms = trace.grad_norms()
    # with a loss on every output, h_t gets its own output's gradient (all ones) plus later steps'
    direct = torch.ones(2, 4, dtype=torch.float64).norm(dim=-1)
    assert torch.all(norms[-1] == direct[0])
    assert not torch.allclose(norms[:-1], torch.full_like(norms[:-1], direct[0].item()))


def test_grad_norms_before_backward_raise() -> None:
    _, _, trace = Recurrent(_cell("gru", "none"))(_randn(2, 3, 3), record=True)
    with pytest.raises(RuntimeError, match="loss.backward"):
        trace.grad_norms()


def test_device_and_dtype_are_respected() -> None:
    cpu = torch.device("cpu")
    for norm in NORMS:
        max_steps = 2 if norm == "batch" else None
        cell = LSTMCell(3, 4, True, cpu, torch.float64, norm=norm, max_steps=max_steps)
        assert all(t.device == cpu and t.dtype == torch.float64 for t in cell.state_dict().values())
        out, (h, c) = Recurrent(cell)(_randn(2, 3, 3))
        assert out.device == h.device == c.device == cpu and out.dtype == torch.float64
    cell = GRUCell(3, 4, device="cpu")
    assert cell.weight_hh.device == cpu and cell.weight_hh.dtype == torch.float32


def test_trace_is_a_dataclass_of_tensors() -> None:
    _, _, trace = Recurrent(_cell("rnn", "layer"))(_randn(2, 3, 3), record=True)
    assert isinstance(trace, Trace)
    assert not trace.summed.requires_grad and trace.hidden[0].requires_grad
    assert len(trace.hidden) == 3


def test_runner_bad_input_raises() -> None:
    runner = Recurrent(_cell("lstm", "none"))
    with pytest.raises(ValueError, match=r"\(batch, time, input_size\), got input of shape \(2, 3\)"):
        runner(torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"input_size=3, got input of shape \(4, 2, 5\)"):
        runner(torch.zeros(2, 4, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="at least one time step"):
        runner(torch.zeros(2, 0, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"hidden state h of shape \(batch=2, hidden_size=4\)"):
        runner(torch.zeros(2, 4, 3, dtype=torch.float64), (torch.zeros(3, 4), torch.zeros(2, 4)))
    with pytest.raises(ValueError, match="expected an lnviz.nn.cells cell.*got LSTMCell"):
        Recurrent(torch.nn.LSTMCell(3, 4))


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", CELLS)
def test_runner_refuses_a_state_of_another_dtype(name: str, norm: str) -> None:
    """A float32 state for a float64 cell (or the reverse) is an error, not a silent cast."""
    x = _randn(2, 3, 3)
    for cell_dtype, state_dtype in ((torch.float64, torch.float32), (torch.float32, torch.float64)):
        cell = CELLS[name](3, 4, norm=norm, max_steps=3 if norm == "batch" else None, dtype=cell_dtype)
        good, bad = torch.zeros(2, 4, dtype=cell_dtype), torch.zeros(2, 4, dtype=state_dtype)
        states = {"hidden state h": (bad, good) if name == "lstm" else bad}
        if name == "lstm":
            states["cell state c"] = (good, bad)
        for label, state in states.items():
            with pytest.raises(ValueError, match=f"{label} of dtype {cell_dtype} on cpu.*got dtype {state_dtype}"):
                Recurrent(cell)(x.to(cell_dtype), state)
