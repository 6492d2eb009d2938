"""Checkers for one step of a layer-normalized recurrent network: the RNN of eq. (4) and the LSTM of the
supplement's eqs. (17)-(22).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lnviz.exercises._core import Exercise, Feedback, Mistake, Probe, check, copy_argument
from lnviz.nn.cells import LSTMCell

__all__ = [
    "LN_LSTM_STEP",
    "LN_RNN_STEP",
    "RECURRENT_BATCH_NORM",
    "check_ln_lstm_step",
    "check_ln_rnn_step",
    "check_recurrent_batch_norm",
]

_DTYPE = torch.float64


def _standardize(a: Tensor, eps: float, dim: int | tuple[int, ...] = -1, unbiased: bool = False) -> Tensor:
    """(a - mu) / sqrt(var + eps) over `dim`: a normalization without gain and bias."""
    mu = a.mean(dim, keepdim=True)
    var = (a - mu).pow(2).mean(dim, keepdim=True)
    if unbiased:
        count = a.numel() // mu.numel()
        var = var * count / (count - 1)
    return (a - mu) / (var + eps).sqrt()


# -- the layer-normalized RNN, eq. (4) ------------------------------------------------------------------


def _rnn_probes() -> list[Probe]:
    gen = torch.Generator().manual_seed(4)
    probes = []
    for batch, inputs, hidden, eps in ((4, 3, 5, 1e-2), (3, 5, 6, 0.1)):
        x = (
            torch.randn(batch, inputs, generator=gen, dtype=_DTYPE)
            * torch.linspace(0.5, 3.0, batch, dtype=_DTYPE)[:, None]
        )
        h = torch.tanh(2 * torch.randn(batch, hidden, generator=gen, dtype=_DTYPE))
        weight_ih = torch.randn(hidden, inputs, generator=gen, dtype=_DTYPE)
        weight_hh = torch.randn(hidden, hidden, generator=gen, dtype=_DTYPE)
        # the recurrent term made larger than the input term, so that normalizing each separately shows
        weight_hh = 2.0 * weight_hh + 1.0
        gain = 0.8 + 0.4 * torch.rand(hidden, generator=gen, dtype=_DTYPE)
        bias = 0.6 * torch.randn(hidden, generator=gen, dtype=_DTYPE)
        probes.append(
            Probe(
                f"x: {tuple(x.shape)}, h: {tuple(h.shape)}, eps={eps}",
                (x, h, weight_ih, weight_hh, gain, bias, eps),
            )
        )
    return probes


def _rnn_reference(x: Tensor, h: Tensor, weight_ih: Tensor, weight_hh: Tensor, gain: Tensor, bias: Tensor, eps: float):
    a = x @ weight_ih.T + h @ weight_hh.T  # the summed inputs a^t = W_xh x^t + W_hh h^(t-1)
    return (torch.tanh(F.layer_norm(a, a.shape[-1:], gain, bias, eps)),)  # eq. (4)


def _rnn_mistake(kind: str):
    """A candidate fn(x, h, weight_ih, weight_hh, gain, bias, eps) with one mistake."""

    def compute(x, h, weight_ih, weight_hh, gain, bias, eps):
        ax, ah = x @ weight_ih.T, h @ weight_hh.T
        a = ax + ah
        if kind == "separate_norms":  # LN(W_xh x) + LN(W_hh h), each with gain and bias
            pre = gain * _standardize(ax, eps) + bias + gain * _standardize(ah, eps) + bias
        elif kind == "separate_norms_one_bias":
            pre = gain * (_standardize(ax, eps) + _standardize(ah, eps)) + bias
        elif kind == "norm_after_tanh":
            return (gain * _standardize(torch.tanh(a), eps) + bias,)
        elif kind == "batch_axis":
            pre = gain * _standardize(a, eps, dim=0) + bias
        elif kind == "bias_before_norm":
            pre = gain * _standardize(a + bias, eps)
        elif kind == "gain_bias_before_norm":
            pre = _standardize(gain * a + bias, eps)
        return (torch.tanh(pre),)

    return compute


_RNN_HINT = (
    "Eq. (4): h^t = tanh(g / sigma^t * (a^t - mu^t) + b), where a^t = W_hh h^(t-1) + W_xh x^t is the sum of "
    "both terms and mu^t, sigma^t are its mean and std over the H hidden units; here W_xh x is "
    "x @ weight_ih.T and W_hh h is h @ weight_hh.T."
)

LN_RNN_STEP = Exercise(
    name="layer-normalized RNN step, eq. (4)",
    call="fn(x, h, weight_ih, weight_hh, gain, bias, eps) -> h_new",
    outputs=("h_new",),
    reference=_rnn_reference,
    mistakes=(
        Mistake(
            "separate_norms",
            "You normalize the input term and the recurrent term separately and add them; eq. (4) "
            "normalizes their sum a^t once.",
            _RNN_HINT,
            _rnn_mistake("separate_norms"),
        ),
        Mistake(
            "separate_norms",
            "You normalize the input term and the recurrent term separately and add them before the gain; "
            "eq. (4) normalizes their sum a^t once.",
            _RNN_HINT,
            _rnn_mistake("separate_norms_one_bias"),
        ),
        Mistake(
            "norm_after_tanh",
            "You apply tanh first and normalize its output; eq. (4) normalizes the summed inputs and "
            "applies tanh to the result.",
            _RNN_HINT,
            _rnn_mistake("norm_after_tanh"),
        ),
        Mistake(
            "batch_axis",
            "You take the mean and std over the cases of the batch (dim=0); layer norm takes them over "
            "the H hidden units of each case.",
            _RNN_HINT,
            _rnn_mistake("batch_axis"),
        ),
        Mistake(
            "bias_before_norm",
            "You add the bias before normalizing, where the mean subtraction removes it; eq. (4) adds b "
            "after the gain, inside the tanh.",
            _RNN_HINT,
            _rnn_mistake("bias_before_norm"),
        ),
        Mistake(
            "bias_before_norm",
            "You apply the gain and the bias before normalizing, where the normalization undoes them; "
            "eq. (4) applies them to the normalized summed inputs.",
            _RNN_HINT,
            _rnn_mistake("gain_bias_before_norm"),
        ),
    ),
    probes=_rnn_probes,
    hint=_RNN_HINT,
)


# -- the layer-normalized LSTM, the supplement's eqs. (17)-(22) -----------------------------------------------


def _lstm_probes() -> list[Probe]:
    gen = torch.Generator().manual_seed(17)
    probes = []
    for batch, inputs, hidden, eps in ((3, 4, 5, 1e-2), (4, 3, 3, 0.1)):
        cell = LSTMCell(inputs, hidden, norm="layer", eps=eps, dtype=_DTYPE)
        with torch.no_grad():
            # gains and biases away from 1 and 0, different in every norm, so each is seen in the answer
            for name, p in cell.named_parameters():
                noise = torch.randn(p.shape, generator=gen, dtype=_DTYPE)
                p.copy_(1.0 + 0.4 * noise if name.endswith("weight") and name.startswith("ln") else noise)
        x = torch.randn(batch, inputs, generator=gen, dtype=_DTYPE)
        h = torch.tanh(torch.randn(batch, hidden, generator=gen, dtype=_DTYPE))
        # cell states of different means and scales, as they drift over a long sequence
        c = (
            torch.randn(batch, hidden, generator=gen, dtype=_DTYPE)
            * torch.linspace(0.5, 3.0, batch, dtype=_DTYPE)[:, None]
            + torch.linspace(-1.0, 2.0, batch, dtype=_DTYPE)[:, None]
        )
        probes.append(Probe(f"x: {tuple(x.shape)}, h and c: {tuple(h.shape)}, cell eps={eps}", (x, h, c, cell)))
    return probes


def _cell_without_step(arg: object) -> object:
    """The student's copy of a probe argument; a cell's own step refuses to run, since it is the answer."""
    arg = copy_argument(arg)
    if isinstance(arg, LSTMCell):

        def refuse(*args, **kwargs):
            raise RuntimeError(
                "this exercise asks you to write the step yourself: use the cell's tensors (cell.weight_ih, "
                "cell.ln_ih, ...), not cell(x, (h, c))"
            )

        arg.forward = refuse
    return arg


def _lstm_reference(x: Tensor, h: Tensor, c: Tensor, cell: LSTMCell) -> tuple[Tensor, Tensor]:
    h_new, c_new = cell(x, (h, c))  # the model's own step is the right answer
    return h_new, c_new


def _ln(module, a: Tensor) -> Tensor:
    """A layer norm module's computation written out: gain * standardized a + bias."""
    return module.weight * _standardize(a, module.eps) + module.bias


def _per_gate(module, a: Tensor) -> Tensor:
    """Each of the four H-unit gate blocks standardized on its own, then the module's 4H gain and bias."""
    blocks = torch.cat([_standardize(block, module.eps) for block in a.chunk(4, -1)], -1)
    return module.weight * blocks + module.bias


def _lstm_mistake(kind: str, norm: str = "ln_ih", other_bias: bool = True):
    """A candidate fn(x, h, c, cell) -> (h_new, c_new) with one mistake."""

    def compute(x: Tensor, h: Tensor, c: Tensor, cell: LSTMCell) -> tuple[Tensor, Tensor]:
        ax, ah = x @ cell.weight_ih.T, h @ cell.weight_hh.T
        biases = cell.bias_ih + cell.bias_hh
        if kind == "per_gate_norm":
            gates = _per_gate(cell.ln_ih, ax) + _per_gate(cell.ln_hh, ah) + biases
        elif kind == "joint_norm":
            ln = getattr(cell, norm)
            other = cell.ln_hh if norm == "ln_ih" else cell.ln_ih
            gates = _ln(ln, ax + ah) + biases + (other.bias if other_bias else 0)
        else:
            gates = _ln(cell.ln_ih, ax) + _ln(cell.ln_hh, ah) + biases
        i, f, g, o = gates.chunk(4, -1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        if kind == "c_not_normalized":
            return torch.sigmoid(o) * torch.tanh(c_new), c_new
        c_norm = _ln(cell.ln_c, c_new)
        h_new = torch.sigmoid(o) * torch.tanh(c_norm)
        if kind == "normalized_c_carried":
            return h_new, c_norm
        return h_new, c_new

    return compute


_LSTM_HINT = (
    "Eqs. (17)-(22): gates = LN(W_h h) + LN(W_x x) + b, each layer norm over all 4H gate units at once "
    "(cell.ln_hh, cell.ln_ih, on h @ cell.weight_hh.T and x @ cell.weight_ih.T; b = cell.bias_ih + "
    "cell.bias_hh); split into i, f, g, o (gates.chunk(4, -1)); c_new = sigmoid(f) * c + sigmoid(i) * tanh(g); "
    "h_new = sigmoid(o) * tanh(LN(c_new)) with cell.ln_c; return the raw c_new."
)

LN_LSTM_STEP = Exercise(
    name="layer-normalized LSTM step, eqs. (17)-(22)",
    call="fn(x, h, c, cell) -> (h_new, c_new)",
    outputs=("h_new", "c_new"),
    reference=_lstm_reference,
    mistakes=(
        Mistake(
            "normalized_c_carried",
            "Your h_new is right, but you return the normalized cell state LN(c_new) as c_new; the paper "
            "normalizes c only on the way out to h and carries the raw c to the next step.",
            _LSTM_HINT,
            _lstm_mistake("normalized_c_carried"),
        ),
        Mistake(
            "c_not_normalized",
            "Your c_new is right, but h_new uses tanh(c_new) without cell.ln_c: eqs. (17)-(22) have tanh(LN(c_t)).",
            _LSTM_HINT,
            _lstm_mistake("c_not_normalized"),
        ),
        Mistake(
            "per_gate_norm",
            "You normalize each gate's H units on their own; eqs. (17)-(22) normalize the whole 4H gate "
            "vector W_x x (and W_h h) at once.",
            _LSTM_HINT,
            _lstm_mistake("per_gate_norm"),
        ),
        *(
            Mistake(
                "joint_norm",
                "You apply one layer norm to the sum W_x x + W_h h; the supplement normalizes the two terms "
                "separately, LN(W_h h) + LN(W_x x), each with its own gain and bias.",
                _LSTM_HINT,
                _lstm_mistake("joint_norm", norm, other_bias),
            )
            for norm in ("ln_ih", "ln_hh")
            for other_bias in (True, False)
        ),
    ),
    probes=_lstm_probes,
    hint=_LSTM_HINT,
    hand_over=_cell_without_step,
)


# -- recurrent batch normalization (Cooijmans et al. 2016): statistics per time step ------------------------


def _recurrent_batch_norm_probes() -> list[Probe]:
    gen = torch.Generator().manual_seed(23)
    probes = []
    for time, batch, hidden, eps in ((4, 3, 5, 0.1), (5, 4, 3, 1e-2)):
        t = torch.arange(time, dtype=_DTYPE)[:, None, None]
        # summed inputs that drift over time, every step with its own mean and scale, and every unit its own offset
        offsets = torch.randn(hidden, generator=gen, dtype=_DTYPE)
        a = (1.0 + t) * torch.randn(time, batch, hidden, generator=gen, dtype=_DTYPE) + 0.8 * t - 1.0 + offsets
        gain = 0.1 + torch.rand(hidden, generator=gen, dtype=_DTYPE)
        bias = 0.5 * torch.randn(hidden, generator=gen, dtype=_DTYPE)
        probes.append(Probe(f"a of shape {tuple(a.shape)} drifting over time, eps={eps}", (a, gain, bias, eps)))
    return probes


def _recurrent_batch_norm_reference(a: Tensor, gain: Tensor, bias: Tensor, eps: float) -> tuple[Tensor]:
    return (torch.stack([F.batch_norm(a_t, None, None, gain, bias, training=True, eps=eps) for a_t in a]),)


def _over(dim: int | tuple[int, ...], unbiased: bool = False):
    """A candidate fn(a, gain, bias, eps) with the statistics over `dim` of the whole (time, batch, hidden) a."""
    return lambda a, gain, bias, eps: (gain * _standardize(a, eps, dim, unbiased) + bias,)


_RBN_HINT = (
    "Recurrent batch norm (Cooijmans et al. 2016): at every time step t, the summed inputs a[t]: (batch, hidden) "
    "are batch-normalized with that step's own mini-batch statistics, eq. (2): mean and biased variance "
    "over the batch (dim=1 of a, keepdim=True), one pair per step and unit; then gain * (a - mu) / "
    "sqrt(var + eps) + bias."
)

RECURRENT_BATCH_NORM = Exercise(
    name="recurrent batch norm, statistics per time step",
    call="fn(a, gain, bias, eps) -> y",
    outputs=("y",),
    reference=_recurrent_batch_norm_reference,
    mistakes=(
        Mistake(
            "shared_statistics",
            "You take one mean and variance over all time steps and cases together; each time step has its "
            "own statistics, since the summed inputs change from step to step.",
            _RBN_HINT,
            _over((0, 1)),
        ),
        Mistake(
            "hidden_axis",
            "You take the statistics over the hidden units of each case (dim=-1), as layer norm does.",
            _RBN_HINT,
            _over(-1),
        ),
        Mistake(
            "time_axis",
            "You take the statistics over the time steps of each case (dim=0) instead of over the batch at each step.",
            _RBN_HINT,
            _over(0),
        ),
        Mistake(
            "unbiased_variance",
            "Your statistics are per step, but you divide by batch - 1 (torch.var's default, unbiased=True).",
            _RBN_HINT,
            _over(1, unbiased=True),
        ),
    ),
    probes=_recurrent_batch_norm_probes,
    hint=_RBN_HINT,
)


def check_recurrent_batch_norm(fn: object) -> Feedback:
    """Check `fn(a, gain, bias, eps) -> y`, batch norm with statistics per time step (training mode).

    a: (time, batch, hidden); gain, bias: (hidden,); eps: float, inside the square root. y: a's shape.
    Mistakes it names: shared_statistics, hidden_axis, time_axis, unbiased_variance.
    """
    return check(RECURRENT_BATCH_NORM, fn)


def check_ln_rnn_step(fn: object) -> Feedback:
    """Check `fn(x, h, weight_ih, weight_hh, gain, bias, eps) -> h_new`, one step of eq. (4) with tanh.

    x: (batch, input); h: (batch, hidden); weight_ih: (hidden, input); weight_hh: (hidden, hidden);
    gain, bias: (hidden,); eps: float. h_new: (batch, hidden).
    Mistakes it names: separate_norms, norm_after_tanh, batch_axis, bias_before_norm.
    """
    return check(LN_RNN_STEP, fn)


def check_ln_lstm_step(fn: object) -> Feedback:
    """Check `fn(x, h, c, cell) -> (h_new, c_new)`, one step of the supplement's eqs. (17)-(22).

    x: (batch, input); h, c: (batch, hidden); cell: an `lnviz.LSTMCell(..., norm="layer")`, whose
    weight_ih, weight_hh, bias_ih, bias_hh, ln_ih, ln_hh and ln_c the function uses. h_new, c_new:
    (batch, hidden); the reference is the cell's own step.
    Mistakes it names: normalized_c_carried, c_not_normalized, per_gate_norm, joint_norm.
    """
    return check(LN_LSTM_STEP, fn)
