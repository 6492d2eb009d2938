"""The models the training lessons and `python -m lnviz.reproduce` train.

`MLP` is the network of the paper's Figure 6: permutation-invariant MNIST with a
784-1000-1000-10 net, batch or layer normalization on every hidden layer and none on the softmax
layer. Here the hidden layers are narrower by default, so that it trains in seconds on a laptop CPU.

`SequenceClassifier` and `SequenceRegressor` are one recurrent layer (a cell of `lnviz.nn.cells` run by
`lnviz.nn.recurrent.Recurrent`) with a Linear readout of the last hidden state: sequential MNIST and
the adding problem, with no normalization, layer normalization or recurrent batch normalization.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lnviz.nn.cells import CELLS, NORMS
from lnviz.nn.norms import BatchNorm, LayerNorm
from lnviz.nn.recurrent import Recurrent
from lnviz.validation import positive_int

__all__ = ["CELLS", "MLP", "NORMS", "SequenceClassifier", "SequenceRegressor"]


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
    ) -> None:
        super().__init__()
        who = type(self).__name__
        if kind not in CELLS:
            raise ValueError(f"{who} expected kind to be one of {tuple(CELLS)}, got {kind!r}")
        n_classes = positive_int(n_classes, "n_classes", who)
        self.kind = kind
        self.norm = norm
        factory = {"device": device, "dtype": dtype}
        cell = CELLS[kind](input_size, hidden_size, norm, max_steps=max_steps if norm == "batch" else None, **factory)
        self.recurrent = Recurrent(cell, batch_first=True)
        self.readout = nn.Linear(hidden_size, n_classes, **factory)

    def forward(self, x: Tensor) -> Tensor:
        """x: (batch, time, input_size) -> (batch, n_classes), from the hidden state after the last step."""
        outputs, _ = self.recurrent(x)
        return self.readout(outputs[:, -1])

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, norm={self.norm!r}"


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
    ) -> None:
        super().__init__(kind, norm, input_size, hidden_size, 1, max_steps, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        """x: (batch, time, input_size) -> (batch,)."""
        return super().forward(x).squeeze(-1)
