"""A small convolutional net for the paper's section 6.7, with no normalization, batch, layer or group norm.

A convolutional layer's summed inputs form an (N, C, H, W) array, and each normalization pools a
different part of it: batch norm one channel over (N, H, W) (eq. (2)), layer norm one case over
(C, H, W) (eq. (3)), group norm one case over a group of channels and (H, W) (Wu and He, 2018).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lnviz.data import IMAGE_SIDE
from lnviz.nn.norms import LayerNorm
from lnviz.validation import positive_int

__all__ = ["METHODS", "ConvNet"]

#: The normalizations a `ConvNet` can put after each convolution.
METHODS: tuple[str, ...] = ("none", "batch", "layer", "group")


def _norm_layer(norm: str, channels: int, side: int, num_groups: int, factory: dict) -> nn.Module:
    """The normalization of a (N, channels, side, side) summed-input array."""
    if norm == "batch":
        return nn.BatchNorm2d(channels, **factory)  # eq. (2): per channel, over (N, H, W)
    if norm == "layer":
        return LayerNorm((channels, side, side), **factory)  # eq. (3), (4): per case, over (C, H, W)
    if norm == "group":
        return nn.GroupNorm(num_groups, channels, **factory)  # per case, over a group of channels and (H, W)
    return nn.Identity()


class ConvNet(nn.Module):
    """conv 3x3 (1 -> C1) -> norm -> ReLU -> max-pool 2 -> conv 3x3 (C1 -> C2) -> norm -> ReLU ->
    max-pool 2 -> Linear readout to logits.

    The convolutions pad with zeros ("same"), so a unit near the border sees part of the blank
    margin, or only padding. With a normalization the convolutions have no bias: the normalization's
    bias is the b of eq. (1) (under batch norm a bias before it would be subtracted out again).
    `norm` is one of `METHODS`; `num_groups` is the number of groups of group norm, which must divide
    both channel counts. x: (batch, 1, 28, 28) -> logits (batch, num_classes).
    """

    def __init__(
        self,
        norm: str = "none",
        channels: tuple[int, int] = (8, 16),
        num_groups: int = 4,
        num_classes: int = 10,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if norm not in METHODS:
            raise ValueError(f"ConvNet expected norm to be one of {METHODS}, got {norm!r}")
        c1, c2 = channels
        c1 = positive_int(c1, "channels[0]", "ConvNet")
        c2 = positive_int(c2, "channels[1]", "ConvNet")
        num_classes = positive_int(num_classes, "num_classes", "ConvNet")
        if norm == "group" and not (
            isinstance(num_groups, int) and num_groups > 0 and c1 % num_groups == 0 and c2 % num_groups == 0
        ):
            raise ValueError(
                f"ConvNet expected num_groups to divide both channel counts {channels}, got {num_groups!r}"
            )
        self.norm = norm
        self.channels = (c1, c2)
        self.num_groups = num_groups
        factory = {"device": device, "dtype": dtype}
        bias = norm == "none"
        half = IMAGE_SIDE // 2
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1, bias=bias, **factory)
        self.norm1 = _norm_layer(norm, c1, IMAGE_SIDE, num_groups, factory)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1, bias=bias, **factory)
        self.norm2 = _norm_layer(norm, c2, half, num_groups, factory)
        self.readout = nn.Linear(c2 * (half // 2) ** 2, num_classes, **factory)

    def forward(self, x: Tensor) -> Tensor:
        """x: (batch, 1, 28, 28) -> logits (batch, num_classes)."""
        _check_images(x, "ConvNet")
        h = F.max_pool2d(F.relu(self.norm1(self.conv1(x))), 2)
        h = F.max_pool2d(F.relu(self.norm2(self.conv2(h))), 2)
        return self.readout(h.flatten(1))

    def summed_inputs(self, x: Tensor) -> Tensor:
        """The first layer's summed inputs a = W * x of eq. (1), without any bias: what the
        normalization receives. x: (batch, 1, 28, 28) -> (batch, C1, 28, 28)."""
        _check_images(x, "ConvNet.summed_inputs")
        return F.conv2d(x, self.conv1.weight, None, padding=1)

    def extra_repr(self) -> str:
        return f"norm={self.norm!r}"


def _check_images(x: Tensor, who: str) -> None:
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"{who} expected input of shape (batch, 1, {IMAGE_SIDE}, {IMAGE_SIDE}), got {tuple(x.shape)}")
