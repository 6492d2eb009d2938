"""Normalization layers with torch.nn's names, arguments, parameters and buffers.

`LayerNorm` is the subject of the notebooks; `BatchNorm`, `RMSNorm` and `WeightNormLinear` are the
methods the paper compares it with. Each is a drop-in for its torch counterpart (same state_dict
keys) and is tested against it. The computations live in `lnviz.functional`, written out as the
paper's equations; only `LayerNorm.forward` calls the fused `F.layer_norm`, because it sits in the
inner loop of the recurrent models and the fused kernel is several times faster.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lnviz.nn import functional as LF
from lnviz.validation import (
    check_dtype,
    check_eps,
    check_float,
    check_trailing,
    positive_int,
    shape_tuple,
    trailing_error,
)

__all__ = ["BatchNorm", "LayerNorm", "RMSNorm", "WeightNormLinear"]


class LayerNorm(nn.Module):
    """Layer normalization (eq. (3) and (4)) over the trailing dims `normalized_shape`.

    Same arguments, parameters (`weight` = gain g, initially 1; `bias` = b, initially 0) and output
    as `torch.nn.LayerNorm`; statistics are per case and identical at training and test time.
    x: (*, *normalized_shape) -> same shape and dtype.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = shape_tuple(normalized_shape, "LayerNorm")
        check_eps(eps, "LayerNorm")
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        factory = {"device": device, "dtype": dtype}
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(self.normalized_shape, **factory))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = nn.Parameter(torch.zeros(self.normalized_shape, **factory))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """Gain 1 and bias 0, as in the paper: initially LN only normalizes."""
        if self.weight is not None:
            nn.init.ones_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """x: (*, *normalized_shape) -> same shape. Equals `lnviz.functional.layer_norm`."""
        # Speed matters here (it runs at every time step of the LN-LSTM), and at teaching sizes
        # Python overhead is a visible share of the cost: the fused kernel does the arithmetic,
        # the input is validated only once that kernel has refused it (a `try` costs nothing
        # otherwise), and the parameters come straight from `_parameters`, skipping
        # nn.Module.__getattr__.
        params = self._parameters
        try:
            return F.layer_norm(x, self.normalized_shape, params["weight"], params["bias"], self.eps)
        except RuntimeError:
            error = trailing_error(x, self.normalized_shape, "LayerNorm")
            weight = params["weight"]
            if error is None and weight is not None:
                try:
                    check_dtype(x, weight.dtype, "LayerNorm")
                except ValueError as dtype_error:
                    error = dtype_error
            if error is None:
                raise
            raise error from None

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class BatchNorm(nn.Module):
    """Batch normalization (eq. (1) and (2)) with `torch.nn.BatchNorm1d`'s semantics.

    x: (N, C) or (N, C, L) with C = num_features -> same shape and dtype. In training mode it
    normalizes with the mini-batch statistics and, if `track_running_stats`, updates the buffers
    `running_mean`, `running_var` (unbiased) and `num_batches_tracked`; in eval mode it normalizes
    with the running statistics. `momentum=None` makes the running statistics cumulative averages.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        num_features = positive_int(num_features, "num_features", "BatchNorm")
        check_eps(eps, "BatchNorm")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        factory = {"device": device, "dtype": dtype}
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features, **factory))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = nn.Parameter(torch.zeros(num_features, **factory))
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory))
            self.register_buffer("running_var", torch.ones(num_features, **factory))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            nn.init.ones_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C) or (N, C, L) -> same shape."""
        if x.dim() not in (2, 3) or x.shape[1] != self.num_features:
            c = self.num_features
            raise ValueError(
                f"BatchNorm expected input of shape (N, {c}) or (N, {c}, L), got input of shape {tuple(x.shape)}"
            )
        check_float(x, "BatchNorm")
        like = self.weight if self.weight is not None else self.running_mean
        # torch's mixed precision: float16 or bfloat16 input may meet float32 parameters; no other mix
        mixed = x.dtype in (torch.float16, torch.bfloat16) and like is not None and like.dtype == torch.float32
        if like is not None and not mixed:
            check_dtype(x, like.dtype, "BatchNorm")
        update = self.training and self.track_running_stats
        momentum = 0.0
        if update:
            # momentum=None: the k-th batch gets weight 1/k, so the running stats are plain averages.
            # Only then is the counter read (a meta tensor has no value to read).
            momentum = self.momentum if self.momentum is not None else 1.0 / (int(self.num_batches_tracked) + 1)
        # Without running statistics there is nothing else to normalize with, even in eval mode.
        use_batch_stats = self.training or self.running_mean is None
        out = LF.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=use_batch_stats,
            momentum=momentum,
            eps=self.eps,
        )
        # Counted after the call so that a rejected batch leaves the state untouched.
        if update:
            self.num_batches_tracked.add_(1)
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class RMSNorm(nn.Module):
    """RMS normalization over the trailing dims `normalized_shape`, as `torch.nn.RMSNorm`.

    x: (*, *normalized_shape) -> same shape and dtype. `weight` (gain) starts at 1; no bias.
    eps=None uses torch's default (see `lnviz.functional.rms_norm`).
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = shape_tuple(normalized_shape, "RMSNorm")
        if eps is not None:
            check_eps(eps, "RMSNorm")
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            nn.init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        """x: (*, *normalized_shape) -> same shape."""
        check_trailing(x, self.normalized_shape, "RMSNorm")
        return LF.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class WeightNormLinear(nn.Module):
    """A linear layer with weight normalization: w = g * v / ||v|| per output unit.

    Parameters `weight_v`: (out_features, in_features), `weight_g`: (out_features, 1), `bias`:
    (out_features,): the state_dict of `torch.nn.utils.weight_norm(nn.Linear(...))`, which loads
    as it is. `torch.nn.utils.parametrizations.weight_norm(nn.Linear(...))` computes the same w but
    names g `parametrizations.weight.original0` and v `parametrizations.weight.original1`.
    Initialized like `nn.Linear`, with g = ||v|| so that initially w = v.
    x: (*, in_features) -> (*, out_features), in the parameters' dtype.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        in_features = positive_int(in_features, "in_features", "WeightNormLinear")
        out_features = positive_int(out_features, "out_features", "WeightNormLinear")
        self.in_features = in_features
        self.out_features = out_features
        factory = {"device": device, "dtype": dtype}
        self.weight_v = nn.Parameter(torch.empty(out_features, in_features, **factory))
        self.weight_g = nn.Parameter(torch.empty(out_features, 1, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.Linear's initialization for v and bias; g = ||v|| per row so that w = v."""
        nn.init.kaiming_uniform_(self.weight_v, a=math.sqrt(5))
        with torch.no_grad():
            self.weight_g.copy_(torch.linalg.vector_norm(self.weight_v.float(), dim=1, keepdim=True))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)

    @property
    def weight(self) -> Tensor:
        """w: (out_features, in_features), recomputed from v and g on every access."""
        return LF.weight_norm(self.weight_v, self.weight_g, dim=0)

    def forward(self, x: Tensor) -> Tensor:
        """x: (*, in_features) -> (*, out_features)."""
        check_trailing(x, (self.in_features,), "WeightNormLinear")
        check_dtype(x, self.weight_v.dtype, "WeightNormLinear")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
