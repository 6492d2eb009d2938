"""Argument checks shared by every layer, cell, model and training helper in lnviz.

Each check raises a ValueError that names the caller (`who`), the argument and what was expected,
so a student who passes a wrong size reads "LayerNorm expected a finite eps >= 0,
got eps=nan" instead of a stack of torch internals. Sizes follow torch: Python and numpy integers are sizes,
`True` is not.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "check_dtype",
    "check_eps",
    "check_float",
    "check_param",
    "check_trailing",
    "nonnegative_int",
    "positive_int",
    "shape_tuple",
    "trailing_error",
]


def _is_int(value: object) -> bool:
    """A Python or numpy integer, not a bool (torch refuses `True` as a size too)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(value: object, name: str, who: str, allow_none: bool = False) -> int | None:
    """`value` as an int if it is a positive integer (or None where `allow_none`), else a ValueError."""
    if value is None and allow_none:
        return None
    if not (_is_int(value) and value > 0):
        expected = "a positive int or None" if allow_none else "a positive int"
        raise ValueError(f"{who} expected {name} to be {expected}, got {value!r}")
    return int(value)


def nonnegative_int(value: object, name: str, who: str) -> int:
    """`value` as an int if it is an integer >= 0 (an index such as a time step), else a ValueError."""
    if not (_is_int(value) and value >= 0):
        raise ValueError(f"{who} expected {name} to be an int >= 0, got {value!r}")
    return int(value)


def shape_tuple(normalized_shape: int | Sequence[int], who: str) -> tuple[int, ...]:
    """`normalized_shape` (an int or a sequence of ints) as a non-empty tuple of positive ints."""
    if _is_int(normalized_shape):
        shape: tuple = (normalized_shape,)
    elif isinstance(normalized_shape, Sequence) and not isinstance(normalized_shape, str):
        shape = tuple(normalized_shape)
    else:
        shape = ()
    if not shape or not all(_is_int(s) and s > 0 for s in shape):
        raise ValueError(
            f"{who} expected normalized_shape to be a positive int or a non-empty sequence of "
            f"positive ints, got {normalized_shape!r}"
        )
    return tuple(int(s) for s in shape)


def check_eps(eps: object, who: str) -> None:
    """eps must be a real number, finite and >= 0: a NaN eps would turn every output into NaN."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not math.isfinite(eps) or eps < 0:
        raise ValueError(f"{who} expected a finite eps >= 0, got eps={eps!r}")


def check_float(x: Tensor, who: str, name: str = "input") -> None:
    """x must hold floating-point numbers (normalizing integers would silently truncate)."""
    if not x.is_floating_point():
        raise ValueError(f"{who} expected a floating-point {name}, got dtype {x.dtype}")


def check_dtype(x: Tensor, dtype: torch.dtype, who: str, name: str = "input") -> None:
    """x must have the dtype of the layer's parameters: typically numpy's float64 meets a float32 layer,
    where torch would fail deep inside a kernel or silently compute in float64."""
    if x.dtype != dtype:
        raise ValueError(
            f"{who} expected {name} of dtype {dtype} (its parameters' dtype), got {name} of dtype {x.dtype}"
        )


def trailing_error(x: Tensor, shape: tuple[int, ...], who: str) -> ValueError | None:
    """The error to raise if `x` is not floating point or does not end with the dims `shape`, else None.

    Returned rather than raised so that a fast path can check first and build the message only on failure.
    """
    if x.shape[-len(shape) :] != shape:
        return ValueError(f"{who} expected input with trailing shape {shape}, got input of shape {tuple(x.shape)}")
    if not x.is_floating_point():
        return ValueError(f"{who} expected a floating-point input, got dtype {x.dtype}")
    return None


def check_trailing(x: Tensor, shape: tuple[int, ...], who: str) -> None:
    """Raise `trailing_error`'s error, if any."""
    error = trailing_error(x, shape, who)
    if error is not None:
        raise error


def check_param(p: Tensor | None, shape: tuple[int, ...], who: str, name: str) -> None:
    """A gain or bias `p` (None allowed) must have exactly the shape `shape`."""
    if p is not None and tuple(p.shape) != shape:
        raise ValueError(f"{who} expected {name} of shape {shape}, got {name} of shape {tuple(p.shape)}")
