"""The models the training lessons and `python -m lnviz.reproduce` train.

`MLP` is the network of the paper's Figure 6: permutation-invariant MNIST with a
784-1000-1000-10 net, batch or layer normalization on every hidden layer and none on the softmax
layer. Here the hidden layers are narrower by default, so that it trains in seconds on a laptop CPU.

`SequenceClassifier` and `SequenceRegressor` are one recurrent layer (a cell of `lnviz.nn.cells` run by
`lnviz.nn.recurrent.Recurrent`) with a Linear readout of the last hidden state: sequential MNIST and
the adding problem, with no normalization, layer normalization or recurrent batch normalization.
Their initial state is learned and starts away from zero, and in training mode each case gets a
little noise on it (see `SequenceClassifier`): with a zero initial state and a blank input (the top
rows of a digit) the summed inputs are constant, where a normalization divides by sqrt(eps).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lnviz.nn.cells import CELLS, NORMS
from lnviz.nn.norms import BatchNorm, LayerNorm
from lnviz.nn.recurrent import Recurrent
from lnviz.validation import positive_int

__all__ = [
    "CELLS",
    "INITIAL_STATES",
    "INITIAL_STATE_SCALE",
    "MLP",
    "NORMS",
    "STATE_NOISE",
    "SequenceClassifier",
    "SequenceRegressor",
]

#: "learned": an initial state learned with the model, drawn at first from N(0, INITIAL_STATE_SCALE^2);
#: "zeros": torch's convention, h_0 = c_0 = 0.
INITIAL_STATES: tuple[str, ...] = ("learned", "zeros")

#: The standard deviation of a learned initial state's first values: small next to the |h| < 1 of a
#: tanh unit, large next to sqrt(eps), so that h_0 W_hh^T has a spread layer norm can divide by.
INITIAL_STATE_SCALE = 0.1

#: The standard deviation of the noise each case gets on its initial state in training mode
#: (Cooijmans et al., 2016, for batch norm on sequential MNIST): it makes the cases of a mini-batch
#: differ from the first step, so that batch norm's variance over them is not zero on blank rows.
STATE_NOISE = 0.1


class MLP(nn.Module):
    """(Linear -> normalization -> ReLU) for each hidden layer, then a Linear readout to logits.

    The normalization acts on the summed inputs a = W h of eq. (1), before the nonlinearity:
    batch norm (eq. (2)) pools each unit over the mini-batch, layer norm (eq. (3)) pools each case
    over the units of its layer. With a normalization the hidden Linear layers have no bias: the
    normalization's own bias is the b of eq. (1) (under batch norm a bias before it would be
    subtracted out again). The readout is never normalized, as in the paper.

    `norm` is one of `NORMS`; the normalization layers are `lnviz.nn.norms.BatchNorm` and
    `lnviz.nn.norms.LayerNorm`, with torch's semantics (batch norm needs more than one case per
    mini-batch in training mode; layer norm works case by case, even for a batch of one).
    x: (batch, in_features) -> logits (batch, out_features).
    """

    def __init__(
        self,
        in_features: int = 784,
        hidden: Sequence[int] = (256, 256),
        out_features: int = 10,
        norm: str = "none",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"MLP expected norm to be one of {NORMS}, got {norm!r}")
        hidden = tuple(hidden)
        in_features = positive_int(in_features, "in_features", "MLP")
        out_features = positive_int(out_features, "out_features", "MLP")
        hidden = tuple(positive_int(h, "every hidden size", "MLP") for h in hidden)
        self.in_features = in_features
        self.hidden = hidden
        self.out_features = out_features
        self.norm = norm
        factory = {"device": device, "dtype": dtype}
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            layers.append(nn.Linear(width, size, bias=norm == "none", **factory))  # eq. (1): a = W h
            if norm == "batch":
                layers.append(BatchNorm(size, **factory))
            elif norm == "layer":
                layers.append(LayerNorm(size, **factory))
            layers.append(nn.ReLU())
            width = size
        layers.append(nn.Linear(width, out_features, **factory))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """x: (batch, in_features) -> logits (batch, out_features)."""
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"MLP expected input of shape (batch, {self.in_features}), got {tuple(x.shape)}")
        return self.layers(x)

    def extra_repr(self) -> str:
        return f"norm={self.norm!r}"


class SequenceClassifier(nn.Module):
    """One recurrent layer, then a Linear readout of its last hidden state: logits for the sequence.

    kind: "rnn", "lstm" or "gru" (`CELLS`); norm: "none", "layer" (the paper's eq. (4) and its
    supplement's LSTM and GRU) or "batch" (recurrent batch norm, statistics per time step);
    max_steps: the number of time steps with their own batch-norm statistics, required for
    norm="batch" (the sequence length) and ignored by the other norms, so that one factory can
    pass it to every model. The cell is `self.recurrent.cell`, the readout `self.readout`.
    x: (batch, time, input_size) -> logits (batch, n_classes).

    The initial state. With h_0 = 0 and a blank input x_t = 0 (a digit's top rows), the summed
    inputs a = W_xh x_t + W_hh h_{t-1} of eq. (4) are exactly 0 in every unit and every case. Layer
    norm then has sigma = 0: its output is the bias b (h_t stays put), and its derivative is g/sqrt(eps),
    about 316 per step, so the gradient through the blank rows grows like 316^t and overflows.
    Batch norm meets the same zero variance over the mini-batch. So by default (`initial_state`
    "learned") h_0, and the LSTM's c_0, are parameters `initial_h`, `initial_c` of shape (H,), drawn
    from N(0, `INITIAL_STATE_SCALE`^2), which makes a = W_hh h_0 vary over the units (layer norm's
    sigma > 0); and in training mode each case gets N(0, `state_noise`^2) noise on them, which makes
    the cases differ (batch norm's sigma > 0). Evaluation uses the learned state without noise.
    initial_state="zeros", state_noise=0 is torch's zero state, to show the problem.
    """

    def __init__(
        self,
        kind: str,
        norm: str,
        input_size: int,
        hidden_size: int,
        n_classes: int,
        max_steps: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        initial_state: str = "learned",
        state_noise: float = STATE_NOISE,
    ) -> None:
        super().__init__()
        who = type(self).__name__
        if kind not in CELLS:
            raise ValueError(f"{who} expected kind to be one of {tuple(CELLS)}, got {kind!r}")
        if initial_state not in INITIAL_STATES:
            raise ValueError(f"{who} expected initial_state to be one of {INITIAL_STATES}, got {initial_state!r}")
        if isinstance(state_noise, bool) or not isinstance(state_noise, (int, float)) or not state_noise >= 0:
            raise ValueError(f"{who} expected state_noise to be a number >= 0, got {state_noise!r}")
        n_classes = positive_int(n_classes, "n_classes", who)
        self.kind = kind
        self.norm = norm
        self.initial_state = initial_state
        self.state_noise = float(state_noise)
        factory = {"device": device, "dtype": dtype}
        cell = CELLS[kind](
            input_size, hidden_size, norm=norm, max_steps=max_steps if norm == "batch" else None, **factory
        )
        self.recurrent = Recurrent(cell, batch_first=True)
        self.readout = nn.Linear(hidden_size, n_classes, **factory)
        # The cell's own initial_state() gives zeros of the right structure: h, or the LSTM's (h, c).
        names = ("initial_h", "initial_c") if kind == "lstm" else ("initial_h",)
        for name in names:
            if initial_state == "learned":
                self.register_parameter(name, nn.Parameter(torch.empty(hidden_size, **factory)))
            else:
                self.register_parameter(name, None)
        self._state_names = names
        self.reset_initial_state()

    def reset_initial_state(self) -> None:
        """Draw a learned initial state again from N(0, INITIAL_STATE_SCALE^2); nothing for zeros."""
        for name in self._state_names:
            p = getattr(self, name)
            if p is not None:
                nn.init.normal_(p, std=INITIAL_STATE_SCALE)

    def start(self, batch: int, like: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """The initial state for `batch` cases: h_0 (batch, H), or the LSTM's (h_0, c_0).

        The learned state (or zeros) for every case, plus independent N(0, state_noise^2) noise per
        case and unit in training mode. dtype and device of `like`.
        """
        zeros = self.recurrent.cell.initial_state(batch, like)
        parts = zeros if isinstance(zeros, tuple) else (zeros,)
        states = []
        for name, zero in zip(self._state_names, parts):
            learned = getattr(self, name)
            state = zero if learned is None else learned.expand_as(zero)
            if self.training and self.state_noise > 0:
                state = state + self.state_noise * torch.randn_like(zero)
            states.append(state)
        return tuple(states) if isinstance(zeros, tuple) else states[0]

    def forward(self, x: Tensor) -> Tensor:
        """x: (batch, time, input_size) -> (batch, n_classes), from the hidden state after the last step."""
        if x.dim() != 3:
            who = type(self).__name__
            raise ValueError(f"{who} expected input of shape (batch, time, input_size), got {tuple(x.shape)}")
        outputs, _ = self.recurrent(x, self.start(x.shape[0], x))
        return self.readout(outputs[:, -1])

    def extra_repr(self) -> str:
        state = f"initial_state={self.initial_state!r}, state_noise={self.state_noise}"
        return f"kind={self.kind!r}, norm={self.norm!r}, {state}"


class SequenceRegressor(SequenceClassifier):
    """`SequenceClassifier` with one output per sequence, for regression (the adding problem).

    x: (batch, time, input_size) -> predictions (batch,).
    """

    def __init__(
        self,
        kind: str,
        norm: str,
        input_size: int,
        hidden_size: int,
        max_steps: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        initial_state: str = "learned",
        state_noise: float = STATE_NOISE,
    ) -> None:
        super().__init__(
            kind,
            norm,
            input_size,
            hidden_size,
            1,
            max_steps,
            device,
            dtype,
            initial_state=initial_state,
            state_noise=state_noise,
        )

    def forward(self, x: Tensor) -> Tensor:
        """x: (batch, time, input_size) -> (batch,)."""
        return super().forward(x).squeeze(-1)
