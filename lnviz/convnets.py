"""Numbers for notebook 7: a small convolutional net with no normalization, batch, layer or group norm.

The paper's section 6.7 reports that on convolutional nets layer normalization "offers a speedup over
the baseline model without normalization, but batch normalization outperforms the other methods", and
explains why: the hidden units "whose receptive fields lie near the boundary of the image are rarely
turned on and thus have very different statistics from the rest of the hidden units within the same
layer". A convolutional layer's summed inputs form an (N, C, H, W) array, and each method pools a
different part of it:

- batch norm (eq. (2), torch's `BatchNorm2d`): one channel, over every case and position (N, H, W);
- layer norm (eq. (3)): one case, over every channel and position (C, H, W), with a gain and a bias
  per hidden unit as in eq. (4), i.e. `torch.nn.LayerNorm((C, H, W))`;
- group norm (Wu and He, 2018, `torch.nn.GroupNorm`): one case, over a group of channels and every
  position; one group is layer norm with a gain per channel, one channel per group is instance norm.

Here: the net (`ConvNet`), its data (`conv_data`), a training run (`train_convnet`), which entries each
method pools (`pooling`) and the border statistics of the first layer (`border_statistics`).
Nothing here imports plotly.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from lnviz import data
from lnviz.nn.convnet import METHODS, ConvNet
from lnviz.scheduler import threads
from lnviz.train import History, train
from lnviz.validation import positive_int

__all__ = [
    "METHODS",
    "POOLING_METHODS",
    "ConvNet",
    "ConvData",
    "conv_data",
    "train_convnet",
    "Pooling",
    "pooled_tiles",
    "pooling",
    "sample_summed_inputs",
    "BorderStatistics",
    "border_distance",
    "border_statistics",
]

#: The methods whose pooled entries the notebook pictures (no normalization pools nothing).
POOLING_METHODS: tuple[str, ...] = ("batch", "layer", "group")

IMAGE_SIDE = data.IMAGE_SIDE


# ----------------------------------------------------------------------------------------------------
# Data and training
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ConvData:
    """MNIST as images for a convolutional net: x_train (N, 1, 28, 28) float32 in [0, 1], y_train (N,)
    int64; x_test, y_test likewise. source says where the digits came from."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    source: str


@functools.lru_cache(maxsize=2)
def conv_data(download: bool = False) -> ConvData:
    """MNIST digits as (N, 1, 28, 28) images. Without `download` (the default, as in the notebooks) it
    is MNIST if `lnviz.data.mnist` finds it in its cache, and otherwise the 10,000 digits shipped with
    lnviz, split 8,000 / 2,000. `source` says which, in a sentence the lesson prints; the fallback's
    MNISTFallbackWarning is silenced here, because its pink box and file path read as an error on a
    projector. Cached: every run of a notebook's panel reuses the same tensors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.MNISTFallbackWarning)
        train_digits = data.mnist("train", download=download)
        test_digits = data.mnist("test", download=download)

    def images(digits: data.Digits) -> Tensor:
        return data.as_vectors(digits.images).view(-1, 1, IMAGE_SIDE, IMAGE_SIDE)

    n = len(train_digits.labels)
    source = f"{n:,} MNIST training digits" + (" (shipped with lnviz)" if n < 60_000 else "")
    return ConvData(
        images(train_digits),
        torch.from_numpy(train_digits.labels),
        images(test_digits),
        torch.from_numpy(test_digits.labels),
        source,
    )


def train_convnet(
    norm: str,
    steps: int = 60,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    records: int = 10,
    val_size: int | None = 200,
    num_groups: int = 4,
    progress: bool = True,
    callback: Callable[[History], None] | None = None,
) -> History:
    """Train a `ConvNet(norm)` with Adam on `conv_data()` and return its History (the model is
    `history.model`). Runs with the same seed start from the same random state and see the same
    mini-batches in the same order, so four runs that differ only in `norm` compare the methods.
    It records `records` times, each time scoring `val_size` test digits (None: all of them).
    Torch runs on one thread: at this size a second thread costs more than it saves.
    """
    positive_int(records, "records", "train_convnet")
    d = conv_data()
    with threads(1):
        return train(
            lambda: ConvNet(norm, num_groups=num_groups),
            d.x_train,
            d.y_train,
            d.x_test,
            d.y_test,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            eval_every=max(1, steps // records),
            val_size=val_size,
            progress=progress,
            callback=callback,
        )


# ----------------------------------------------------------------------------------------------------
# Which entries of the (N, C, H, W) array each method pools
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pooling:
    """The statistics one entry (case, channel, row, col) of an (N, C, H, W) array shares under `method`.

    a: (N, C, H, W) the array;
    tiles: (N, C) bool, the (case, channel) maps pooled (every position of a pooled map is pooled);
    count: the number of entries pooled; mean, std: their mean and biased standard deviation;
    value: the entry; normalized: (value - mean) / sqrt(std^2 + eps), what the method outputs for it
    before its gain and bias.
    """

    a: Tensor
    method: str
    entry: tuple[int, int, int, int]
    num_groups: int
    tiles: Tensor
    count: int
    mean: float
    std: float
    value: float
    normalized: float


def pooled_tiles(method: str, shape: tuple[int, int], case: int, channel: int, num_groups: int = 1) -> Tensor:
    """(N, C) bool: the (case, channel) maps whose entries `method` pools with those of map (case, channel).

    batch: channel `channel` of every case; layer: every channel of case `case`; group: the channels
    of `channel`'s group (C / num_groups consecutive channels) of case `case`.
    """
    if method not in POOLING_METHODS:
        raise ValueError(f"method must be one of {POOLING_METHODS}, got {method!r}")
    n, c = shape
    if not (0 <= case < n and 0 <= channel < c):
        raise ValueError(f"expected case in [0, {n}) and channel in [0, {c}), got case {case}, channel {channel}")
    if not (isinstance(num_groups, int) and num_groups > 0 and c % num_groups == 0):
        raise ValueError(f"num_groups must divide the {c} channels, got {num_groups!r}")
    tiles = torch.zeros(n, c, dtype=torch.bool)
    if method == "batch":
        tiles[:, channel] = True  # eq. (2): one unit (here a channel) over the mini-batch and every position
    elif method == "layer":
        tiles[case, :] = True  # eq. (3): one case over every hidden unit of the layer
    else:
        size = c // num_groups
        first = channel // size * size
        tiles[case, first : first + size] = True  # group norm: one case over one group of channels
    return tiles


def pooling(
    a: Tensor, method: str, entry: tuple[int, int, int, int], num_groups: int = 1, eps: float = 1e-5
) -> Pooling:
    """The statistics entry (case, channel, row, col) of a: (N, C, H, W) shares under `method`, and the
    entry normalized with them: torch's `BatchNorm2d` (training mode), `LayerNorm((C, H, W))` and
    `GroupNorm(num_groups, C)` give that number, before their gain and bias."""
    if a.dim() != 4:
        raise ValueError(f"expected a of shape (N, C, H, W), got {tuple(a.shape)}")
    case, channel, row, col = entry
    if not (0 <= row < a.shape[2] and 0 <= col < a.shape[3]):
        raise ValueError(f"expected row in [0, {a.shape[2]}) and col in [0, {a.shape[3]}), got {row}, {col}")
    tiles = pooled_tiles(method, (a.shape[0], a.shape[1]), case, channel, num_groups)
    pooled = a[tiles].double()
    # two passes, in float64: the mean, then the biased variance around it
    mean = pooled.mean()
    var = (pooled - mean).pow(2).mean()
    value = float(a[case, channel, row, col])
    return Pooling(
        a=a,
        method=method,
        entry=(case, channel, row, col),
        num_groups=num_groups,
        tiles=tiles,
        count=pooled.numel(),
        mean=float(mean),
        std=float(var.sqrt()),
        value=value,
        normalized=float((value - mean) / torch.sqrt(var + eps)),
    )


@torch.no_grad()
def sample_summed_inputs(n_cases: int = 4, seed: int = 0) -> Tensor:
    """The first layer's summed inputs (n_cases, 8, 28, 28) of a freshly initialized `ConvNet` (seeded)
    on the first `n_cases` test digits: a real mini-batch of the array the methods pool."""
    if not (isinstance(n_cases, int) and 1 <= n_cases <= 64):
        raise ValueError(f"n_cases must be an int in [1, 64], got {n_cases!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ConvNet()
    return model.summed_inputs(conv_data().x_test[:n_cases])


# ----------------------------------------------------------------------------------------------------
# Border statistics of the first layer
# ----------------------------------------------------------------------------------------------------


def border_distance(side: int = IMAGE_SIDE) -> Tensor:
    """(side, side) int64: each position's distance to the nearest edge of the image (0 on the edge)."""
    i = torch.arange(side)
    edge = torch.minimum(i, side - 1 - i)
    return torch.minimum(edge[:, None], edge[None, :])


@dataclass(frozen=True)
class BorderStatistics:
    """How the first layer's summed inputs a = W * x (eq. (1)) differ between the border and the centre.

    A unit is "turned on" for a digit when a > 0: a ReLU with the paper's initial bias 0 would pass it.
    active: (C, H, W), the fraction of digits that turn each unit on;
    distance: (H, W), each position's distance to the nearest edge (`border_distance`);
    ring_std: (C, R), for each channel and distance d in 0..R-1, the std of a over the positions at
        distance d, computed within each digit and averaged over digits;
    ring_std_all: (R,), the same over every channel at once;
    layer_mean, layer_std: (N,), each digit's mu and sigma over all C*H*W units: what layer norm
        uses (eq. (3));
    fraction_active: (N,), the fraction of each digit's C*H*W units that are turned on;
    channel_std: (C,), each channel's std over every digit and position: what batch norm uses (eq. (2)).
    """

    norm: str
    active: Tensor
    distance: Tensor
    ring_std: Tensor
    ring_std_all: Tensor
    layer_mean: Tensor
    layer_std: Tensor
    fraction_active: Tensor
    channel_std: Tensor

    def rarely_active(self, threshold: float = 0.1, channel: int | None = None) -> Tensor:
        """(H, W) bool: positions whose unit in `channel` (None: averaged over the channels) is turned
        on for fewer than `threshold` of the digits."""
        active = self.active.mean(dim=0) if channel is None else self.active[channel]
        return active < threshold

    def correlation(self) -> float:
        """Pearson correlation, over digits, of layer norm's sigma with the fraction of units turned on."""
        return float(torch.corrcoef(torch.stack([self.layer_std, self.fraction_active]))[0, 1])


def border_statistics(model: ConvNet, images: Tensor) -> BorderStatistics:
    """The first layer's border statistics (`BorderStatistics`) of `model` on images: (N, 1, 28, 28).
    Torch runs on one thread: at this size a second thread costs more than it saves."""
    if not isinstance(model, ConvNet):
        raise ValueError(f"expected a ConvNet, got {type(model).__name__}")
    if len(images) < 2:
        raise ValueError(f"expected at least 2 images to compute statistics over, got {len(images)}")
    with torch.no_grad(), threads(1):
        return _border_statistics(model, images)


def _border_statistics(model: ConvNet, images: Tensor) -> BorderStatistics:
    a = model.summed_inputs(images).double()  # (N, C, H, W)
    n, c, h, w = a.shape
    distance = border_distance(h)
    ring = distance.flatten()
    # sums over the positions of each ring as one product with a (positions, rings) indicator matrix
    member = F.one_hot(ring).double()
    count = member.sum(dim=0)
    maps = a.flatten(2)  # (N, C, H*W)
    # two passes (means, then squared deviations from them), not E[a^2] - E[a]^2
    mean = maps @ member / count  # (N, C, rings)
    ring_std = ((maps - mean[:, :, ring]).pow(2) @ member / count).sqrt().mean(dim=0)
    mean_all = mean.mean(dim=1)  # every channel has the same positions, so this is the pooled mean
    ring_std_all = ((maps - mean_all[:, None, ring]).pow(2).sum(dim=1) @ member / (c * count)).sqrt().mean(dim=0)
    on = a > 0
    flat = a.flatten(1)
    return BorderStatistics(
        norm=model.norm,
        active=on.double().mean(dim=0),
        distance=distance,
        ring_std=ring_std,
        ring_std_all=ring_std_all,
        layer_mean=flat.mean(dim=1),  # eq. (3): mu over the C*H*W hidden units of each case
        layer_std=flat.std(dim=1, correction=0),  # eq. (3): sigma, biased
        fraction_active=on.flatten(1).double().mean(dim=1),
        channel_std=a.transpose(0, 1).flatten(1).std(dim=1, correction=0),  # eq. (2): over (N, H, W)
    )
