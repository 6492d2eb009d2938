"""lnviz.nn.bptt: the LSTM and LN-LSTM over a sequence with backpropagation through time written out.

Checked in float64 against autograd through the cell's own step (`LSTMCell.step`, which follows the
supplement's eqs. (17)-(22) and is itself checked against torch and against the equations in
test_rnn.py), and with torch.autograd.gradcheck (finite differences) in every tensor argument.
"""

from __future__ import annotations

import pytest
import torch

from lnviz.nn import bptt
from lnviz.nn.cells import LSTMCell
from lnviz.nn.recurrent import Recurrent

DOUBLE = torch.float64


def _cell(norm: str, input_size: int = 3, hidden: int = 4, seed: int = 0) -> LSTMCell:
    """An LSTM cell whose layer norms have gains and biases away from their 1 and 0 at init, so a
    mistake in their gradients cannot hide behind the identity."""
    torch.manual_seed(seed)
    cell = LSTMCell(input_size, hidden, norm=norm, dtype=DOUBLE)
    with torch.no_grad():
        for p in cell.parameters():
            p.add_(0.5 * torch.randn_like(p))
    return cell


def _stepwise(cell: LSTMCell, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
    """The reference: the cell's step, once per time step, differentiated by autograd.
    x: (batch, time, input) -> outputs (batch, time, H), (h_T, c_T)."""
    gi = cell.input_projection(x.transpose(0, 1))
    outputs = []
    for t in range(x.shape[1]):
        state = cell.step(gi[t], state, step=t)
        outputs.append(state[0])
    return torch.stack(outputs, 1), state


def _lay_out(w: torch.Tensor, layout: str) -> torch.Tensor:
    """w's values in another memory layout: "row-major" (torch's default), "column-major" (w^T is
    contiguous) or "strided" (a view with a step of 2 along the columns: neither)."""
    if layout == "row-major":
        return w.contiguous()
    if layout == "column-major":
        return w.t().contiguous().t()
    if layout == "strided":
        wide = w.new_zeros(w.shape[0], 2 * w.shape[1])
        wide[:, ::2] = w
        return wide[:, ::2]
    raise ValueError(f"_lay_out expected layout 'row-major', 'column-major' or 'strided', got {layout!r}")


@pytest.mark.parametrize("norm", ["none", "layer"])
@pytest.mark.parametrize("loss_on", ["outputs and state", "outputs only", "cell state only"])
def test_outputs_state_and_every_gradient_equal_autograd_through_the_cell_step(norm: str, loss_on: str) -> None:
    cell = _cell(norm)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 7, 3, dtype=DOUBLE, generator=g, requires_grad=True)
    h0 = torch.randn(2, 4, dtype=DOUBLE, generator=g, requires_grad=True)
    c0 = torch.randn(2, 4, dtype=DOUBLE, generator=g, requires_grad=True)
    weights = torch.randn(2, 7, 4, dtype=DOUBLE, generator=g)

    def loss(outputs: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        on_outputs = (outputs * weights).sum()
        on_c = (c**2).sum()
        return {"outputs and state": on_outputs + on_c, "outputs only": on_outputs, "cell state only": on_c}[loss_on]

    inputs = [*cell.parameters(), x, h0, c0]
    outputs, (h, c) = Recurrent(cell)(x, (h0, c0))
    ref_outputs, (ref_h, ref_c) = _stepwise(cell, x, (h0, c0))
    torch.testing.assert_close(outputs, ref_outputs, rtol=0, atol=1e-13)
    torch.testing.assert_close(h, ref_h, rtol=0, atol=1e-13)
    torch.testing.assert_close(c, ref_c, rtol=0, atol=1e-13)
    grads = torch.autograd.grad(loss(outputs, c), inputs)
    ref_grads = torch.autograd.grad(loss(ref_outputs, ref_c), inputs)
    names = [name for name, _ in cell.named_parameters()] + ["x", "h0", "c0"]
    for name, got, expected in zip(names, grads, ref_grads, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12, msg=f"gradient of {name}")
        if loss_on != "cell state only" or name not in ("ln_c.weight", "ln_c.bias"):
            assert expected.abs().max() > 1e-6, f"{name}'s gradient is zero: the comparison shows nothing"


@pytest.mark.parametrize(("hidden", "layout"), [(4, "row-major"), (1, "row-major"), (4, "column-major")])
@pytest.mark.parametrize("norm", ["none", "layer"])
def test_gradcheck_in_every_tensor_argument(norm: str, hidden: int, layout: str) -> None:
    """Hidden size 1 and a column-major W_hh are where W_hh^T is already contiguous: gradcheck runs
    the function many times and fails if a run changes what the next one reads. The full check at
    torch's default layout; elsewhere its fast mode (one random direction), which runs it as often."""
    g = torch.Generator().manual_seed(2)
    T, B, H = 5, 3, hidden

    def rand(*shape: int, scale: float = 1.0) -> torch.Tensor:
        return (scale * torch.randn(*shape, dtype=DOUBLE, generator=g)).requires_grad_()

    gi, h0, c0 = rand(T, B, 4 * H), rand(B, H), rand(B, H)
    weight = _lay_out(0.5 * torch.randn(4 * H, H, dtype=DOUBLE, generator=g), layout).requires_grad_()
    fast_mode = (hidden, layout) != (4, "row-major")
    if norm == "none":
        torch.autograd.gradcheck(lambda *a: bptt.lstm_sequence(*a), (gi, h0, c0, weight), fast_mode=fast_mode)
        return
    gain_hh, gain_c, bias_c = 1 + rand(4 * H, scale=0.3), 1 + rand(H, scale=0.3), rand(H, scale=0.3)

    def run(gi, h0, c0, weight, gain_hh, gain_c, bias_c):
        return bptt.lstm_sequence(gi, h0, c0, weight, ln_hh=(gain_hh, 1e-5), ln_c=(gain_c, bias_c, 1e-5))

    torch.autograd.gradcheck(
        run,
        (
            gi,
            h0,
            c0,
            weight,
            gain_hh.detach().requires_grad_(),
            gain_c.detach().requires_grad_(),
            bias_c.detach().requires_grad_(),
        ),
        fast_mode=fast_mode,
    )


def test_the_layer_norms_eps_is_used() -> None:
    """eps enters the forward pass: a large eps shrinks the normalized gates towards zero."""
    g = torch.Generator().manual_seed(3)
    gi, h0, c0 = (torch.randn(*s, dtype=DOUBLE, generator=g) for s in ((4, 2, 12), (2, 3), (2, 3)))
    weight = torch.randn(12, 3, dtype=DOUBLE, generator=g)
    ones, zeros = torch.ones(12, dtype=DOUBLE), torch.zeros(3, dtype=DOUBLE)
    small = bptt.lstm_sequence(gi, h0, c0, weight, ln_hh=(ones, 1e-5), ln_c=(ones[:3], zeros, 1e-5))[0]
    large = bptt.lstm_sequence(gi, h0, c0, weight, ln_hh=(ones, 1e3), ln_c=(ones[:3], zeros, 1e3))[0]
    assert (small - large).abs().max() > 1e-2


def test_writing_into_the_outputs_before_backward_is_refused() -> None:
    """The outputs are views of what the backward pass reads; autograd must notice a write."""
    cell = _cell("layer")
    x = torch.randn(2, 3, 3, dtype=DOUBLE)
    outputs, _ = Recurrent(cell)(x)
    loss = outputs.sum()
    with torch.no_grad():
        outputs.zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_one_layer_norm_without_the_other_is_an_error() -> None:
    gi, h0, c0, weight = torch.zeros(2, 1, 8), torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(8, 2)
    with pytest.raises(ValueError, match="both layer norms"):
        bptt.lstm_sequence(gi, h0, c0, weight, ln_hh=(torch.ones(8), 1e-5))


def test_batch_norm_lstm_still_runs_step_by_step() -> None:
    """Recurrent batch norm has per-step statistics the hand-written pass does not know: the runner
    must give the same result as the cell called step by step, running statistics included."""
    torch.manual_seed(4)
    cell = LSTMCell(3, 4, norm="batch", max_steps=5, dtype=DOUBLE)
    x = torch.randn(6, 5, 3, dtype=DOUBLE)
    outputs, _ = Recurrent(cell)(x)
    after_runner = cell.bn_hh.running_mean.clone()
    cell.bn_hh.reset_running_stats()
    ref_outputs, _ = _stepwise(cell, x, cell.initial_state(6, x))
    torch.testing.assert_close(outputs, ref_outputs)
    torch.testing.assert_close(cell.bn_hh.running_mean, after_runner)


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_backward_leaves_the_incoming_gradients_alone_and_can_run_twice(norm: str) -> None:
    """The backward pass works in buffers of its own: the gradients autograd hands it (here given
    explicitly) are unchanged afterwards, and a second backward pass through the same graph gives
    the same gradients (what `retain_graph=True` and gradcheck rely on)."""
    cell = _cell(norm)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 6, 3, dtype=DOUBLE, generator=g)
    outputs, (_, c) = Recurrent(cell)(x)
    grad_outputs = torch.randn(outputs.shape, dtype=DOUBLE, generator=g)
    grad_c = torch.randn(c.shape, dtype=DOUBLE, generator=g)
    kept = grad_outputs.clone(), grad_c.clone()
    params = list(cell.parameters())
    first = torch.autograd.grad((outputs, c), params, (grad_outputs, grad_c), retain_graph=True)
    torch.testing.assert_close(grad_outputs, kept[0], rtol=0, atol=0)
    torch.testing.assert_close(grad_c, kept[1], rtol=0, atol=0)
    second = torch.autograd.grad((outputs, c), params, (grad_outputs, grad_c))
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("layout", ["row-major", "column-major", "strided"])
@pytest.mark.parametrize("hidden", [1, 2, 7, 64])
@pytest.mark.parametrize("norm", ["none", "layer"])
def test_the_parameters_are_only_read_and_every_call_agrees_with_the_cell_step(
    norm: str, hidden: int, layout: str
) -> None:
    """The fast path writes only into tensors it allocated. At hidden size 1, W_hh (4, 1) and its
    transpose are both contiguous, and so is the transpose of a column-major W_hh at any size: a
    write into "W_hh^T, made contiguous" would then be a write into the parameter. Checked: every
    parameter bit for bit (and its layout) after forward passes and after a backward pass, repeated
    calls giving the same outputs, and outputs and gradients equal to the cell's own step's."""
    cell = _cell(norm, hidden=hidden)
    cell.weight_hh.data = _lay_out(cell.weight_hh.data, layout)
    before = {name: (p.detach().clone(), p.stride()) for name, p in cell.named_parameters()}

    def assert_parameters_unchanged(after: str) -> None:
        for name, p in cell.named_parameters():
            value, stride = before[name]
            assert torch.equal(p, value), f"{name} was written into by {after}"
            assert p.stride() == stride, f"{name}'s layout changed in {after}"

    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 5, 3, dtype=DOUBLE, generator=g, requires_grad=True)
    h0 = torch.randn(2, hidden, dtype=DOUBLE, generator=g, requires_grad=True)
    c0 = torch.randn(2, hidden, dtype=DOUBLE, generator=g, requires_grad=True)
    weights = torch.randn(2, 5, hidden, dtype=DOUBLE, generator=g)

    def loss(outputs: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return (outputs * weights).sum() + (c**2).sum()

    with torch.no_grad():
        first, _ = Recurrent(cell)(x, (h0, c0))
        second, _ = Recurrent(cell)(x, (h0, c0))
    assert_parameters_unchanged("forward passes under no_grad")
    inputs = [*cell.parameters(), x, h0, c0]
    outputs, (_, c) = Recurrent(cell)(x, (h0, c0))
    grads = torch.autograd.grad(loss(outputs, c), inputs)
    assert_parameters_unchanged("a forward and backward pass")

    ref_outputs, (_, ref_c) = _stepwise(cell, x, (h0, c0))
    ref_grads = torch.autograd.grad(loss(ref_outputs, ref_c), inputs)
    torch.testing.assert_close(second, first, rtol=0, atol=0)
    torch.testing.assert_close(first, ref_outputs, rtol=0, atol=1e-13)
    torch.testing.assert_close(outputs, ref_outputs, rtol=0, atol=1e-13)
    # A layer norm over one unit gives its bias whatever its input, so at hidden size 1 ln_c's gain
    # has no effect and its gradient is zero.
    zero = {"ln_c.weight"} if norm == "layer" and hidden == 1 else set()
    names = [name for name, _ in cell.named_parameters()] + ["x", "h0", "c0"]
    for name, got, expected in zip(names, grads, ref_grads, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12, msg=f"gradient of {name}")
        if name not in zero:
            assert expected.abs().max() > 1e-6, f"{name}'s gradient is zero: the comparison shows nothing"


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_lstm_sequence_leaves_its_arguments_alone(norm: str) -> None:
    """Every tensor argument, bit for bit, after a forward and a backward pass, at hidden size 1
    where W_hh^T needs no copy to be contiguous."""
    g = torch.Generator().manual_seed(7)
    T, B, H = 4, 3, 1
    args = [torch.randn(*s, dtype=DOUBLE, generator=g) for s in ((T, B, 4 * H), (B, H), (B, H), (4 * H, H))]
    ln = [1 + 0.3 * torch.randn(*s, dtype=DOUBLE, generator=g) for s in ((4 * H,), (H,), (H,))]
    if norm == "none":
        ln = []
    kept = [a.clone() for a in args + ln]
    for a in args + ln:
        a.requires_grad_()
    if norm == "none":
        outputs, c = bptt.lstm_sequence(*args)
    else:
        outputs, c = bptt.lstm_sequence(*args, ln_hh=(ln[0], 1e-5), ln_c=(ln[1], ln[2], 1e-5))
    (outputs.sum() + c.sum()).backward()
    names = ["gi", "h0", "c0", "weight_hh", "gain_hh", "gain_c", "bias_c"]
    for name, a, k in zip(names, args + ln, kept, strict=False):
        assert torch.equal(a.detach(), k), f"lstm_sequence wrote into its argument {name}"
        assert a.grad is not None, f"the backward pass did not reach {name}"
