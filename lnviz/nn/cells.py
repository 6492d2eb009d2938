"""Recurrent cells with no normalization, layer normalization or recurrent batch normalization.

`RNNCell`, `LSTMCell` and `GRUCell` have torch's constructor arguments (plus the keyword `norm`),
parameter names, shapes, gate order and call convention, unbatched input and a default zero state
included; `norm="none"` computes exactly what the torch cell computes. `norm="layer"` is the
computation of Ba, Kiros and Hinton (2016): eq. (4) for the plain RNN, the supplement's
eqs. (17)-(22) for the LSTM and (23)-(28) for the GRU. `norm="batch"` puts recurrent batch
normalization (Cooijmans et al., 2016, "Recurrent Batch Normalization") in the same places, with
statistics kept separately for every time step.

Every cell splits its work in two so that a sequence runner (`lnviz.nn.recurrent.Recurrent`) can do
the part that does not depend on the hidden state for all time steps in one call:

    gi = cell.input_projection(x_all)          # x W_ih^T, normalized, plus the biases it can hold
    state = cell.step(gi[t], state, step=t)    # the recurrent part, once per time step

`cell.sequence(gi, state)` runs all the steps; the LSTM without batch norm does it with the
backward pass through time written out (`lnviz.nn.bptt`). `cell(x, state)` is the same two calls for
one step. `cell(x, state, return_internals=True)` also returns the summed inputs before and after
normalization and the fraction of saturated gates (`CellInternals`), for the notebooks' plots; the
plain path computes none of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lnviz.nn import bptt
from lnviz.nn import functional as LF
from lnviz.nn.norms import LayerNorm
from lnviz.validation import check_eps, nonnegative_int, positive_int

__all__ = [
    "CELLS",
    "NORMS",
    "SATURATION_THRESHOLD",
    "CellInternals",
    "GRUCell",
    "LSTMCell",
    "RNNCell",
    "RecurrentCell",
    "StepwiseBatchNorm",
    "saturated_fraction",
]

#: The normalizations a cell (and every lnviz model) can use: none, batch norm (eq. (2)), layer norm (eq. (3)).
NORMS: tuple[str, ...] = ("none", "batch", "layer")

#: A sigmoid unit is saturated when its output is below 1 - T or above T; a tanh unit when |output| > T.
#: There its derivative is under 0.05 (sigmoid) or 0.1 (tanh) and little gradient gets through.
SATURATION_THRESHOLD = 0.95

#: Cooijmans et al. (2016) start the batch-norm gains at 0.1: with gain 1 the unit-variance
#: normalized inputs push the tanh into saturation, and they found gradients vanishing through time.
BATCH_NORM_GAIN = 0.1

State = Tensor | tuple[Tensor, Tensor]


class CellInternals(NamedTuple):
    """What a cell computed inside one step, for plots; still in the autograd graph.

    summed: (batch, G*H), the summed inputs x W_ih^T + h W_hh^T before normalization (the paper's a^t),
        G = 1 (RNN), 4 (LSTM, gates i, f, g, o) or 3 (GRU, gates r, z, n).
    normalized: (batch, G*H), the same after normalization, gains and all biases, i.e. what the gate
        nonlinearities receive (for the GRU's n block: before the reset gate multiplies the h part).
        With norm="none" it is summed + biases.
    saturation: (batch,), the fraction of the G*H gate units that are saturated (`saturated_fraction`).
    """

    summed: Tensor
    normalized: Tensor
    saturation: Tensor


def saturated_fraction(sigmoid_outputs: tuple[Tensor, ...], tanh_outputs: tuple[Tensor, ...]) -> Tensor:
    """Fraction of saturated units per case: sigmoid outputs < 0.05 or > 0.95, tanh outputs |.| > 0.95.

    Each tensor: (batch, units). Returns (batch,) in the tensors' dtype.
    """
    low = 1.0 - SATURATION_THRESHOLD
    counts = [((s < low) | (s > SATURATION_THRESHOLD)).sum(-1) for s in sigmoid_outputs]
    counts += [(t.abs() > SATURATION_THRESHOLD).sum(-1) for t in tanh_outputs]
    units = sum(t.shape[-1] for t in (*sigmoid_outputs, *tanh_outputs))
    dtype = (sigmoid_outputs or tanh_outputs)[0].dtype
    return torch.stack(counts).sum(0).to(dtype) / units


class StepwiseBatchNorm(nn.Module):
    """Batch normalization with separate statistics for every time step (Cooijmans et al., 2016).

    `torch.nn.BatchNorm1d`'s conventions, row by row: in training mode each step is normalized with
    its mini-batch mean and biased variance, and row `step` of `running_mean` / `running_var`
    (shape (max_steps, num_features); the unbiased variance is stored) moves towards them with
    `momentum`; in eval mode row `step` is used. Steps beyond `max_steps - 1` share the last row:
    in eval mode they use its statistics, and in training mode, where they are normalized with
    their own mini-batch statistics as every step is, they update that last row too.
    `weight` (gain) starts at 0.1, `bias` at 0, both shared by all steps.
    """

    def __init__(
        self,
        num_features: int,
        max_steps: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        num_features = positive_int(num_features, "num_features", "StepwiseBatchNorm")
        max_steps = positive_int(max_steps, "max_steps", "StepwiseBatchNorm")
        check_eps(eps, "StepwiseBatchNorm")
        self.num_features = num_features
        self.max_steps = max_steps
        self.eps = eps
        self.momentum = momentum
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(num_features, **factory))
        self.bias = nn.Parameter(torch.empty(num_features, **factory))
        self.register_buffer("running_mean", torch.empty(max_steps, num_features, **factory))
        self.register_buffer("running_var", torch.empty(max_steps, num_features, **factory))
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        self.running_mean.zero_()
        self.running_var.fill_(1)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        nn.init.constant_(self.weight, BATCH_NORM_GAIN)
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, step: int) -> Tensor:
        """x: (batch, num_features) at time `step`, or (time, batch, num_features) for the steps
        step, step + 1, ... -> same shape."""
        if x.dim() not in (2, 3) or x.shape[-1] != self.num_features:
            f = self.num_features
            raise ValueError(
                f"StepwiseBatchNorm expected input of shape (batch, {f}) or (time, batch, {f}), "
                f"got input of shape {tuple(x.shape)}"
            )
        _check_step(step, "StepwiseBatchNorm")
        if x.dim() == 2:
            return self._normalize_step(x, step)
        return torch.stack([self._normalize_step(x_t, step + t) for t, x_t in enumerate(x)])

    def _normalize_step(self, x: Tensor, step: int) -> Tensor:
        row = min(step, self.max_steps - 1)
        # The row views make the functional batch norm update this step's statistics in place.
        return LF.batch_norm(
            x,
            self.running_mean[row],
            self.running_var[row],
            self.weight,
            self.bias,
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, max_steps={self.max_steps}, eps={self.eps}, momentum={self.momentum}"


def _check_step(step: object, who: str) -> None:
    nonnegative_int(step, "the time index step", who)


class RecurrentCell(nn.Module):
    """What the three cells share: construction, validation and the two-part computation.

    Positional arguments as torch's cells: input_size, hidden_size (H), bias, device, dtype (the
    RNN has nonlinearity after bias). Keyword-only: norm, "none", "layer" or "batch" (a norm name
    given where bias goes is read as norm); max_steps, the number of time steps with their own
    batch-norm statistics (norm="batch" only, required there); eps, the norms' eps.
    Parameters, as in torch's cells (G = number of gate blocks):
      weight_ih: (G*H, input_size), weight_hh: (G*H, H), bias_ih, bias_hh: (G*H,).
    A subclass sets `num_gates`, `norm_places` (where it normalizes), `input_projection` and `_step`.
    bias_ih and bias_hh are None with bias=False (as in torch) and where `norm_replaces_biases`;
    the normalizations keep their gains and biases, which are part of eq. (4).
    """

    num_gates: ClassVar[int]
    #: (name suffix, units as a multiple of H) of each normalization: ln{suffix} or bn{suffix}.
    norm_places: ClassVar[tuple[tuple[str, int], ...]]
    #: True where the normalization's own bias takes the place of bias_ih and bias_hh (then None).
    norm_replaces_biases: ClassVar[bool] = False

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        norm: str = "none",
        max_steps: int | None = None,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        who = type(self).__name__
        if not isinstance(bias, bool):
            raise ValueError(f"{who} expected bias to be True or False, got {bias!r}")
        input_size = positive_int(input_size, "input_size", who)
        hidden_size = positive_int(hidden_size, "hidden_size", who)
        if norm not in NORMS:
            raise ValueError(f"{who} expected norm to be one of {NORMS}, got {norm!r}")
        if norm == "batch" and max_steps is None:
            raise ValueError(
                f"{who} with norm='batch' expected max_steps (the number of time steps that get "
                f"their own statistics), got None"
            )
        if norm != "batch" and max_steps is not None:
            raise ValueError(f"{who} expected max_steps only with norm='batch', got norm={norm!r}")
        # checked here too, since norm='none' builds no normalization that would check it
        check_eps(eps, who)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.norm = norm
        self.max_steps = max_steps
        factory = {"device": device, "dtype": dtype}
        units = self.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(units, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(units, hidden_size, **factory))
        if not bias or (norm != "none" and self.norm_replaces_biases):
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        else:
            self.bias_ih = nn.Parameter(torch.empty(units, **factory))
            self.bias_hh = nn.Parameter(torch.empty(units, **factory))
        self._norm_names: dict[str, str] = {}
        if norm != "none":
            prefix = "ln" if norm == "layer" else "bn"
            for suffix, multiple in self.norm_places:
                features = multiple * hidden_size
                module = (
                    LayerNorm(features, eps=eps, **factory)
                    if norm == "layer"
                    else StepwiseBatchNorm(features, max_steps, eps=eps, **factory)
                )
                self.add_module(prefix + suffix, module)
                self._norm_names[suffix] = prefix + suffix
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's initialization for weights and biases, U(-1/sqrt(H), 1/sqrt(H)); the norms to
        theirs (layer norm: gain 1, bias 0; batch norm: gain 0.1, bias 0, fresh running statistics)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
            if p is not None:
                nn.init.uniform_(p, -bound, bound)
        for module in self.children():
            module.reset_parameters()

    def _normalize(self, place: str, a: Tensor, step: int | None) -> Tensor:
        """The normalization at `place` (a suffix from `norm_places`) applied to a: (batch, units) at
        time `step`. Not for norm='none'."""
        module = getattr(self, self._norm_names[place])
        return module(a, step) if self.norm == "batch" else module(a)

    # -- the public API ---------------------------------------------------------------------------

    def initial_state(self, batch: int, like: Tensor) -> State:
        """Zeros: (batch, H), or for the LSTM the pair (h, c); dtype and device of `like`."""
        return like.new_zeros(batch, self.hidden_size)

    def output(self, state: State) -> Tensor:
        """The hidden state h: (batch, H) that the cell emits at each step."""
        return state

    def input_projection(self, x: Tensor, step: int = 0) -> Tensor:
        """The input side of the gates, which does not depend on h, with every bias that is constant
        over time folded in (so that the time loop does not add them step after step).

        x: (batch, input_size) at time `step`, or (time, batch, input_size) for steps step, step+1, ...
        -> (..., G*H). No validation: `forward` and `Recurrent` validate once.
        """
        raise NotImplementedError

    def step(self, gi: Tensor, state: State, *, step: int | None = None) -> State:
        """One time step from gi = input_projection(x_t): (batch, G*H) and a validated state."""
        return self._step(gi, state, step, None)[0]

    def sequence(self, gi: Tensor, state: State) -> tuple[Tensor, State]:
        """All time steps from gi = input_projection(x): (time, batch, G*H) and a validated state,
        the first at step 0. Returns (h at every step: (time, batch, H), the final state)."""
        hidden = []
        # unbind, unlike indexing gi[t], gives one backward node for all steps instead of T
        # full-size gradient buffers
        for t, gi_t in enumerate(gi.unbind(0)):
            state = self.step(gi_t, state, step=t)
            hidden.append(self.output(state))
        return torch.stack(hidden), state

    def forward(
        self,
        x: Tensor,
        state: State | None = None,
        *,
        step: int | None = None,
        return_internals: bool = False,
    ) -> State | tuple[State, CellInternals]:
        """x: (batch, input_size) or, unbatched, (input_size,); state: h (batch, H) or (H,), for the
        LSTM the pair (h, c); None means zeros, as in torch.

        Returns the new state, batched as x, or (new state, `CellInternals`) if `return_internals`.
        `step` is the time index: required for norm='batch', where it selects the statistics;
        ignored otherwise.
        """
        state = self.check_input(x, state, step)
        unbatched = x.dim() == 1
        if unbatched:
            # a batch of one, as torch's cells do it
            x, state = x.unsqueeze(0), _map_state(state, lambda s: s.unsqueeze(0))
        gi = self.input_projection(x, 0 if step is None else step)
        xw = F.linear(x, self.weight_ih) if return_internals else None
        new_state, internals = self._step(gi, state, step, xw)
        if unbatched:
            new_state = _map_state(new_state, lambda s: s.squeeze(0))
            if internals is not None:
                internals = CellInternals(*(t.squeeze(0) for t in internals))
        return (new_state, internals) if return_internals else new_state

    def check_input(self, x: Tensor, state: State | None, step: int | None, time_dim: bool = False) -> State:
        """Raise ValueError for bad input; return the state, zeros if None.

        x: (batch, input_size) or (input_size,), or (time, batch, input_size) if `time_dim`. The
        state must have x's dtype and device and shape x.shape[-2:-1] + (H,), i.e. (batch, H) or (H,).
        """
        who = type(self).__name__
        shape = "(time, batch, input_size)" if time_dim else "(batch, input_size) or (input_size,)"
        if x.dim() not in ((3,) if time_dim else (1, 2)) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{who} expected input of shape {shape} with input_size={self.input_size}, "
                f"got input of shape {tuple(x.shape)}"
            )
        if x.dtype != self.weight_ih.dtype:
            raise ValueError(f"{who} expected input of dtype {self.weight_ih.dtype}, got {x.dtype}")
        if self.norm == "batch":
            if step is None:
                raise ValueError(
                    f"{who} with norm='batch' expected the time index step= (it selects the "
                    f"per-step statistics), got None"
                )
            _check_step(step, who)
        batch = tuple(x.shape[-2:-1])
        if state is None:
            initial = self.initial_state(batch[0] if batch else 1, x)
            return initial if batch else _map_state(initial, lambda s: s.squeeze(0))
        self._check_state(state, batch, x)
        return state

    def _check_state(self, state: State, batch: tuple[int, ...], x: Tensor) -> None:
        _check_hidden(state, batch, self.hidden_size, x, type(self).__name__, "hidden state h")

    def extra_repr(self) -> str:
        bias = "" if self.bias else ", bias=False"
        max_steps = f", max_steps={self.max_steps}" if self.norm == "batch" else ""
        return f"{self.input_size}, {self.hidden_size}{bias}, norm={self.norm!r}{max_steps}"

    # -- what each cell defines -------------------------------------------------------------------

    def _step(
        self, gi: Tensor, state: State, step: int | None, xw: Tensor | None
    ) -> tuple[State, CellInternals | None]:
        """One step. If `xw` (this step's raw x W_ih^T) is given, also compute the internals."""
        raise NotImplementedError


def _check_hidden(h: object, batch: tuple[int, ...], hidden_size: int, x: Tensor, who: str, name: str) -> None:
    """h must be a tensor of shape (*batch, hidden_size) with x's dtype and device: torch would
    otherwise fail inside a matmul, or promote the outputs to the wider dtype."""
    if not isinstance(h, Tensor) or h.shape != (*batch, hidden_size):
        got = f"shape {tuple(h.shape)}" if isinstance(h, Tensor) else type(h).__name__
        expected = f"(batch={batch[0]}, hidden_size={hidden_size})" if batch else f"(hidden_size={hidden_size},)"
        raise ValueError(f"{who} expected {name} of shape {expected}, got {got}")
    if h.dtype != x.dtype or h.device != x.device:
        raise ValueError(
            f"{who} expected {name} of dtype {x.dtype} on {x.device} (the input's), got dtype {h.dtype} on {h.device}"
        )


def _map_state(state: State, fn: Callable[[Tensor], Tensor]) -> State:
    """fn applied to h, or to both h and c of an LSTM state."""
    return tuple(fn(s) for s in state) if isinstance(state, (tuple, list)) else fn(state)


def _sum(*terms: Tensor | None) -> Tensor | None:
    """The sum of the terms that are not None (absent biases), or None if all are."""
    present = [t for t in terms if t is not None]
    if not present:
        return None
    total = present[0]
    for t in present[1:]:
        total = total + t
    return total


def _layer_norm(ln: LayerNorm, a: Tensor, bias: Tensor | None) -> Tensor:
    """ln(a) with `bias` in place of ln.bias: the fused kernel with the module's gain and eps.

    Lets a cell fold biases that are added right after the normalization into its bias b (eq. (4)).
    """
    return F.layer_norm(a, ln.normalized_shape, ln.weight, bias, ln.eps)


class RNNCell(RecurrentCell):
    """Elman RNN, h' = f(x W_ih^T + b_ih + h W_hh^T + b_hh), f = tanh or relu, as `torch.nn.RNNCell`.

    norm='layer', eq. (4): h' = f(ln(x W_ih^T + h W_hh^T)), one `LayerNorm` `ln` over the H
    summed inputs, whose gain and bias are the only ones: `bias_ih` and `bias_hh` are None, since a
    bias added before the normalization would be removed with the mean. norm='batch': the same
    with a `StepwiseBatchNorm` `bn`. With nonlinearity='relu' the saturation in `CellInternals`
    is the fraction of units at 0, where no gradient gets through.
    """

    num_gates = 1
    norm_places = (("", 1),)
    norm_replaces_biases = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        norm: str = "none",
        max_steps: int | None = None,
        eps: float = 1e-5,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell expected nonlinearity to be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, device, dtype, norm=norm, max_steps=max_steps, eps=eps)
        self.nonlinearity = nonlinearity
        self._activation = torch.tanh if nonlinearity == "tanh" else torch.relu

    def extra_repr(self) -> str:
        return super().extra_repr() + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")

    def input_projection(self, x: Tensor, step: int = 0) -> Tensor:
        if self.norm == "none":
            return F.linear(x, self.weight_ih, _sum(self.bias_ih, self.bias_hh))
        # The normalization needs the whole sum a, so only x W_ih^T can be computed ahead.
        return F.linear(x, self.weight_ih)

    def _step(
        self, gi: Tensor, state: State, step: int | None, xw: Tensor | None
    ) -> tuple[State, CellInternals | None]:
        h = state
        a = torch.addmm(gi, h, self.weight_hh.t())  # a = W_xh x + W_hh h (+ the biases if norm='none')
        pre = a if self.norm == "none" else self._normalize("", a, step)  # eq. (4): g/sigma*(a - mu) + b
        h_new = self._activation(pre)  # eq. (4): f = tanh (or relu)
        if xw is None:
            return h_new, None
        summed = xw + F.linear(h, self.weight_hh)
        if self.nonlinearity == "relu":
            saturation = (h_new == 0).sum(-1).to(h_new.dtype) / h_new.shape[-1]
        else:
            saturation = saturated_fraction((), (h_new,))
        return h_new, CellInternals(summed, pre, saturation)


class LSTMCell(RecurrentCell):
    """LSTM with torch's gate order i, f, g, o and state (h, c), as `torch.nn.LSTMCell`.

    norm='layer', the supplement's eqs. (17)-(22):
        gates = ln_ih(x W_ih^T) + ln_hh(h W_hh^T) + bias_ih + bias_hh   (each LN over all 4H units)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h' = sigmoid(o) * tanh(ln_c(c'))
    The raw c' is returned and carried to the next step; only the copy feeding h' is normalized.
    norm='batch': `StepwiseBatchNorm`s `bn_ih`, `bn_hh`, `bn_c` in the same places.
    """

    num_gates = 4
    norm_places = (("_ih", 4), ("_hh", 4), ("_c", 1))

    def initial_state(self, batch: int, like: Tensor) -> tuple[Tensor, Tensor]:
        return like.new_zeros(batch, self.hidden_size), like.new_zeros(batch, self.hidden_size)

    def output(self, state: tuple[Tensor, Tensor]) -> Tensor:
        return state[0]

    def _check_state(self, state: State, batch: tuple[int, ...], x: Tensor) -> None:
        who = type(self).__name__
        if not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise ValueError(f"{who} expected the state to be a pair (h, c), got {type(state).__name__}")
        _check_hidden(state[0], batch, self.hidden_size, x, who, "hidden state h")
        _check_hidden(state[1], batch, self.hidden_size, x, who, "cell state c")

    def input_projection(self, x: Tensor, step: int = 0) -> Tensor:
        bias = _sum(self.bias_ih, self.bias_hh)
        if self.norm == "none":
            return F.linear(x, self.weight_ih, bias)
        if self.norm == "layer":
            # Every bias of eq. (17)-(22), ln_hh's included, is added after a normalization and is
            # the same at every step: one bias vector, added here once for all steps.
            return _layer_norm(self.ln_ih, F.linear(x, self.weight_ih), _sum(self.ln_ih.bias, self.ln_hh.bias, bias))
        return _sum(self.bn_ih(F.linear(x, self.weight_ih), step), bias)

    def sequence(self, gi: Tensor, state: State) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """As `RecurrentCell.sequence`; without batch norm, with backpropagation through time
        written out (`lnviz.nn.bptt`): the same numbers, fewer operations per step."""
        if self.norm == "batch":
            return super().sequence(gi, state)
        h0, c0 = state
        if self.norm == "none":
            outputs, c = bptt.lstm_sequence(gi, h0, c0, self.weight_hh)
        else:
            ln_hh, ln_c = self.ln_hh, self.ln_c
            outputs, c = bptt.lstm_sequence(
                gi,
                h0,
                c0,
                self.weight_hh,
                ln_hh=(ln_hh.weight, ln_hh.eps),
                ln_c=(ln_c.weight, ln_c.bias, ln_c.eps),
            )
        return outputs, (outputs[-1], c)

    def _step(
        self, gi: Tensor, state: State, step: int | None, xw: Tensor | None
    ) -> tuple[State, CellInternals | None]:
        h, c = state
        if self.norm == "none":
            gates = torch.addmm(gi, h, self.weight_hh.t())
        elif self.norm == "layer":
            # eqs. (17)-(22): LN(W_x x) + LN(W_h h) + b, each LN over the whole 4H gate vector;
            # ln_hh's bias is already in gi
            gates = gi + _layer_norm(self.ln_hh, F.linear(h, self.weight_hh), None)
        else:
            gates = gi + self.bn_hh(F.linear(h, self.weight_hh), step)
        i, f, g, o = gates.chunk(4, 1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c_new = torch.addcmul(f * c, i, g)  # c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
        c_out = c_new if self.norm == "none" else self._normalize("_c", c_new, step)
        h_new = o * torch.tanh(c_out)  # h' = sigmoid(o) * tanh(LN(c')), and the raw c' is carried
        if xw is None:
            return (h_new, c_new), None
        summed = xw + F.linear(h, self.weight_hh)
        return (h_new, c_new), CellInternals(summed, gates, saturated_fraction((i, f, o), (g,)))


class GRUCell(RecurrentCell):
    """GRU with torch's gate order r, z, n, as `torch.nn.GRUCell`:
        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h

    norm='layer', the supplement's eqs. (23)-(28) on torch's parameter layout, with two LayerNorms:
      ln_ih over x W_ih^T, all 3H units (the r, z and n blocks together);
      ln_hh over h W_hh^T, all 3H units, so the reset gate multiplies the normalized n block;
    bias_ih and bias_hh are added after them, where torch adds them:
        r, z = sigmoid(ln_ih(x W_ih^T) + b_ih + ln_hh(h W_hh^T) + b_hh)   (their r and z blocks)
        n = tanh(ln_ih(x W_ih^T)_n + b_in + r * (ln_hh(h W_hh^T)_n + b_hn))
    norm='batch': `StepwiseBatchNorm`s `bn_ih` and `bn_hh` in the same places.
    """

    num_gates = 3
    norm_places = (("_ih", 3), ("_hh", 3))

    def input_projection(self, x: Tensor, step: int = 0) -> Tensor:
        if self.norm == "none":
            return F.linear(x, self.weight_ih, self.bias_ih)
        if self.norm == "layer":
            return _layer_norm(self.ln_ih, F.linear(x, self.weight_ih), _sum(self.ln_ih.bias, self.bias_ih))
        return _sum(self.bn_ih(F.linear(x, self.weight_ih), step), self.bias_ih)

    def _step(
        self, gi: Tensor, state: State, step: int | None, xw: Tensor | None
    ) -> tuple[State, CellInternals | None]:
        h = state
        if self.norm == "none":
            gh = F.linear(h, self.weight_hh, self.bias_hh)
        elif self.norm == "layer":
            gh = _layer_norm(self.ln_hh, F.linear(h, self.weight_hh), _sum(self.ln_hh.bias, self.bias_hh))
        else:
            gh = _sum(self.bn_hh(F.linear(h, self.weight_hh), step), self.bias_hh)
        two = 2 * self.hidden_size
        rz = torch.sigmoid(gi[:, :two] + gh[:, :two])  # r and z in one call
        r, z = rz.chunk(2, 1)
        n = torch.tanh(gi[:, two:] + r * gh[:, two:])
        h_new = torch.lerp(n, h, z)  # (1 - z) * n + z * h
        if xw is None:
            return h_new, None
        summed = xw + F.linear(h, self.weight_hh)
        return h_new, CellInternals(summed, gi + gh, saturated_fraction((rz,), (n,)))


#: The recurrent cells by `kind`, for the sequence models and lesson 3.
CELLS: dict[str, type[RecurrentCell]] = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
