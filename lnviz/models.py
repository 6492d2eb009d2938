"""Feed-forward models for the training experiments (the recurrent cells live in `lnviz.rnn`).

`MLP` is the network of the paper's Figure 6 (section 6.7): permutation-invariant MNIST with a
784-1000-1000-10 net, batch or layer normalization on every hidden layer and none on the softmax
layer. Here the hidden layers are narrower by default, so that it trains in seconds on a laptop CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lnviz.norms import BatchNorm, LayerNorm

__all__ = ["MLP", "NORMS"]

#: The normalizations `MLP` can put on its hidden layers.
NORMS: tuple[str, ...] = ("none", "batch", "layer")


class MLP(nn.Module):
    """(Linear -> normalization -> ReLU) for each hidden layer, then a Linear readout to logits.

    The normalization acts on the summed inputs a = W h of eq. (1), before the nonlinearity:
    batch norm (eq. (2)) pools each unit over the mini-batch, layer norm (eq. (3)) pools each case
    over the units of its layer. With a normalization the hidden Linear layers have no bias: the
    normalization's own bias is the b of eq. (1) (under batch norm a bias before it would be
    subtracted out again). The readout is never normalized, as in the paper.

    `norm` is one of `NORMS`; the normalization layers are `lnviz.norms.BatchNorm` and
    `lnviz.norms.LayerNorm`, with torch's semantics (batch norm needs more than one case per
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
        for name, size in (("in_features", in_features), ("out_features", out_features),
                           *(("every hidden size", h) for h in hidden)):
            if not (isinstance(size, int) and size > 0):
                raise ValueError(f"MLP expected {name} to be a positive int, got {size!r}")
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
            raise ValueError(
                f"MLP expected input of shape (batch, {self.in_features}), got {tuple(x.shape)}"
            )
        return self.layers(x)

    def extra_repr(self) -> str:
        return f"norm={self.norm!r}"
