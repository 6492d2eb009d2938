"""Normalization functions written out as the equations of the papers.

Each function follows `torch.nn.functional`'s name and argument order and is tested against it.
They are the readable versions; `lnviz.nn.norms.LayerNorm` calls the fused `F.layer_norm` for speed.

Equation numbers refer to Ba, Kiros and Hinton (2016), "Layer Normalization", unless noted.
Statistics are always computed in two passes (mean first, then the mean of squared deviations):
the one-pass E[x^2] - E[x]^2 cancels catastrophically once |mean| >> std. float16 and bfloat16
inputs are upcast to float32 for the statistics and the result is cast back to the input dtype.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from lnviz.validation import check_eps, check_float, check_param, check_trailing, shape_tuple

__all__ = ["batch_norm", "layer_norm", "rms_norm", "weight_norm"]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _upcast(x: Tensor) -> Tensor:
    """Return `x` in a dtype fit for accumulating statistics: at least float32."""
    return x.float() if x.dtype in _LOW_PRECISION else x


def layer_norm(
    x: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
    *,
    eps_inside_sqrt: bool = True,
    unbiased: bool = False,
) -> Tensor:
    """Layer normalization, eq. (3) and (4): normalize each case over its H hidden units.

    x: (*, *normalized_shape); weight, bias: normalized_shape (gain g and bias b) or None.
    Returns a tensor of x's shape and dtype. With the defaults it equals `F.layer_norm` wherever a
    case's sum and its sum of squared deviations, sum((a - mu)^2), stay finite in the dtype of the
    statistics (float32 for float16/bfloat16 input; its largest value is about 3.4e38). Where they
    overflow, neither function returns the normalized case, and they differ: where torch's one-pass
    kernel returns NaN (e.g. for the case [3e38, -3e38, 1] in float32) this two-pass version often
    returns zeros, an infinite variance making (a - mu) / sigma zero, and the reverse happens too.

    Teaching switches for other frameworks' conventions (keyword-only):
      eps_inside_sqrt: True (torch, TF, Keras): (a - mu) / sqrt(var + eps).
                       False (the authors' Lua port): (a - mu) / (sqrt(var) + eps).
      unbiased: False (torch, the paper): var = sum((a - mu)^2) / H.
                True: var = sum((a - mu)^2) / (H - 1), as `torch.var(unbiased=True)`.
    """
    shape = shape_tuple(normalized_shape, "layer_norm")
    check_trailing(x, shape, "layer_norm")
    check_param(weight, shape, "layer_norm", "weight")
    check_param(bias, shape, "layer_norm", "bias")
    check_eps(eps, "layer_norm")
    hidden = math.prod(shape)
    if unbiased and hidden < 2:
        raise ValueError(f"layer_norm with unbiased=True expected H >= 2 hidden units, got H={hidden}")

    a = _upcast(x)
    dims = tuple(range(-len(shape), 0))
    mu = a.mean(dim=dims, keepdim=True)  # eq. (3): mean over the H hidden units of each case
    centered = a - mu
    var = centered.pow(2).sum(dim=dims, keepdim=True) / (hidden - 1 if unbiased else hidden)  # eq. (3)
    if eps_inside_sqrt:
        normalized = centered / torch.sqrt(var + eps)
    else:
        normalized = centered / (torch.sqrt(var) + eps)
    # eq. (4): h = g / sigma * (a - mu) + b, the same gain and bias for every case
    if weight is not None:
        normalized = normalized * weight
    if bias is not None:
        normalized = normalized + bias
    return normalized.to(x.dtype)


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization, eq. (1) and (2), with the statistics estimated over the mini-batch.

    x: (batch, C) or (batch, C, *); running_mean, running_var, weight, bias: (C,) or None.
    Returns a tensor of x's shape and dtype. Equals `F.batch_norm`:
      training=True: normalize with the biased batch variance; if running stats are given and the
        batch is not empty, update them in place, running = (1 - momentum) * running + momentum * batch,
        storing the UNBIASED batch variance in running_var (as torch does).
      training=False: normalize with running_mean and running_var.
    """
    if x.dim() < 2:
        raise ValueError(
            f"batch_norm expected input of shape (batch, C) or (batch, C, *), got input of shape {tuple(x.shape)}"
        )
    check_float(x, "batch_norm")
    channels = (x.shape[1],)
    for name, p in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        check_param(p, channels, "batch_norm", name)
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm expected running_mean and running_var both given or both None")
    if not training and running_mean is None:
        raise ValueError("batch_norm with training=False expected running_mean and running_var, got None")
    check_eps(eps, "batch_norm")

    # statistics over every dim but the channel dim: (batch,) or (batch, length, ...)
    dims = (0, *range(2, x.dim()))
    channel_shape = (1, channels[0]) + (1,) * (x.dim() - 2)
    count = x.numel() // channels[0]
    a = _upcast(x)
    if training:
        if count == 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input of shape "
                f"{tuple(x.shape)}: a single value has no variance to normalize by"
            )
        mu = a.mean(dim=dims, keepdim=True)  # eq. (2), estimated over the mini-batch
        centered = a - mu
        var = centered.pow(2).mean(dim=dims, keepdim=True)  # eq. (2), biased
        # An empty batch (count 0) has no statistics to record; its output is empty anyway.
        if running_mean is not None and count > 0:
            # The running estimates are bookkeeping for test time, not part of the graph.
            with torch.no_grad():
                running_mean.mul_(1 - momentum).add_(mu.flatten(), alpha=momentum)
                unbiased_var = var.flatten() * (count / (count - 1))
                running_var.mul_(1 - momentum).add_(unbiased_var, alpha=momentum)
    else:
        centered = a - _upcast(running_mean).view(channel_shape)
        var = _upcast(running_var).view(channel_shape)

    normalized = centered / torch.sqrt(var + eps)  # eq. (1), with eps for a constant feature
    if weight is not None:
        normalized = normalized * weight.view(channel_shape)
    if bias is not None:
        normalized = normalized + bias.view(channel_shape)
    return normalized.to(x.dtype)


def rms_norm(
    x: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """RMS normalization (Zhang and Sennrich 2019, eq. (4)): layer norm without re-centering.

    x: (*, *normalized_shape); weight: normalized_shape or None. Returns x's shape and dtype.
    eps=None means torch's default: the machine epsilon of the dtype the statistics are computed
    in, i.e. `torch.finfo(torch.float32).eps` for float16/bfloat16 input (what torch 2.x actually
    does; its docs say `finfo(x.dtype).eps`, which would be 1e-3 for float16).
    """
    shape = shape_tuple(normalized_shape, "rms_norm")
    check_trailing(x, shape, "rms_norm")
    check_param(weight, shape, "rms_norm", "weight")
    a = _upcast(x)
    if eps is None:
        eps = torch.finfo(a.dtype).eps
    check_eps(eps, "rms_norm")
    dims = tuple(range(-len(shape), 0))
    rms = torch.sqrt(a.pow(2).mean(dim=dims, keepdim=True) + eps)  # Zhang and Sennrich eq. (4)
    normalized = a / rms
    if weight is not None:
        normalized = normalized * weight
    return normalized.to(x.dtype)


def weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """Weight normalization (Salimans and Kingma 2016): w = g * v / ||v||, one norm per output unit.

    v: (out, in, ...) the direction; g: v's rank with size v.shape[dim] along `dim` and 1
    elsewhere, e.g. (out, 1) for a linear layer's (out, in) weight. The norm is taken over every
    dim but `dim`. Returns w of v's shape and dtype; equals `torch._weight_norm(v, g, dim)`.
    """
    check_float(v, "weight_norm", "v")
    if v.dim() < 2:
        raise ValueError(f"weight_norm expected v with at least 2 dims (out, in, ...), got shape {tuple(v.shape)}")
    if not -v.dim() <= dim < v.dim():
        raise ValueError(f"weight_norm expected dim in [{-v.dim()}, {v.dim() - 1}], got dim={dim}")
    dim %= v.dim()
    g_shape = tuple(v.shape[d] if d == dim else 1 for d in range(v.dim()))
    check_param(g, g_shape, "weight_norm", "g")
    a = _upcast(v)
    other_dims = tuple(d for d in range(v.dim()) if d != dim)
    # eq. (5) with mu = 0 and sigma_i = ||w_i||_2: the incoming weights' norm replaces the std
    norm = torch.linalg.vector_norm(a, dim=other_dims, keepdim=True)
    return (g * (a / norm)).to(v.dtype)
