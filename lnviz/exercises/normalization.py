"""Checkers for the normalizations written from their equations: layer norm (eq. (3)), batch norm
(eq. (2)) and RMS norm (Zhang and Sennrich 2019).

The student's function gets x: (batch, hidden), the gain (and bias): (hidden,) and eps, and returns y of
x's shape. eps goes inside the square root, as in torch: sigma = sqrt(var + eps).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from lnviz.exercises._core import Exercise, Feedback, Mistake, Probe, check

__all__ = ["BATCH_NORM", "LAYER_NORM", "RMS_NORM", "check_batch_norm", "check_layer_norm", "check_rms_norm"]

_DTYPE = torch.float64


def _normalize(
    a: Tensor,
    dim: int,
    eps: float,
    *,
    unbiased: bool = False,
    eps_inside: bool = True,
    center: bool = True,
    center_variance: bool = True,
    power: float = 0.5,
) -> Tensor:
    """(a - mu) / sigma with the statistics over `dim`, and switches for the catalogued mistakes.

    center: subtract the mean from a; center_variance: measure the spread around the mean (False: the
    mean square, as RMS norm does); power: 0.5 divides by the std, 1 by the variance.
    """
    mu = a.mean(dim, keepdim=True)
    spread = a - mu if center_variance else a
    var = spread.pow(2).sum(dim, keepdim=True) / (a.shape[dim] - 1 if unbiased else a.shape[dim])
    numerator = a - mu if center else a
    if eps_inside:
        return numerator / (var + eps).pow(power)
    return numerator / (var.pow(power) + eps)


def _rows(gen: torch.Generator, means: list[float], stds: list[float], hidden: int) -> Tensor:
    """(len(means), hidden): row r drawn around means[r] with spread stds[r]."""
    z = torch.randn(len(means), hidden, generator=gen, dtype=_DTYPE)
    return torch.tensor(means, dtype=_DTYPE)[:, None] + torch.tensor(stds, dtype=_DTYPE)[:, None] * z


def _affine(gen: torch.Generator, hidden: int) -> tuple[Tensor, Tensor]:
    """A gain around 1 and a bias around 0.5, different in every unit, so neither can be mistaken for the other."""
    gain = 1.0 + 0.5 * torch.randn(hidden, generator=gen, dtype=_DTYPE)
    bias = 0.5 + 0.5 * torch.randn(hidden, generator=gen, dtype=_DTYPE)
    return gain, bias


#: (means, stds, hidden, eps) of the probes: cases (layer norm) or features (batch norm) with
#: different means and scales, one with a small variance where eps inside and outside the square
#: root give clearly different answers; batch and hidden sizes differ, so a wrong axis shows.
_SPECS = (
    ([3.0, -1.0, 0.5, 0.0], [2.0, 0.5, 0.05, 4.0], 5, 0.1),
    ([-2.0, 1.0, 0.2], [1.0, 3.0, 0.08], 6, 1e-2),
)


def _layer_norm_probes() -> list[Probe]:
    gen = torch.Generator().manual_seed(13)
    probes = []
    for means, stds, hidden, eps in _SPECS:
        x = _rows(gen, means, stds, hidden)
        gain, bias = _affine(gen, hidden)
        probes.append(Probe(f"x of shape {tuple(x.shape)}, one row of small variance, eps={eps}", (x, gain, bias, eps)))
    return probes


def _batch_norm_probes() -> list[Probe]:
    gen = torch.Generator().manual_seed(2)
    probes = []
    for means, stds, batch, eps in _SPECS:
        x = _rows(gen, means, stds, batch).T.contiguous()  # (batch, hidden): features of different scales
        gain, bias = _affine(gen, x.shape[1])
        probes.append(
            Probe(f"x of shape {tuple(x.shape)}, one feature of small variance, eps={eps}", (x, gain, bias, eps))
        )
    return probes


def _rms_norm_probes() -> list[Probe]:
    gen = torch.Generator().manual_seed(5)
    probes = []
    # nonzero means, so that subtracting the mean changes the answer; a row of small values for eps
    for means, stds, hidden, eps in (
        ([2.0, -1.0, 0.04, 0.5], [1.0, 0.5, 0.03, 3.0], 5, 0.1),
        ([-3.0, 1.0, 0.05], [2.0, 1.0, 0.05], 6, 1e-2),
    ):
        x = _rows(gen, means, stds, hidden)
        gain, _ = _affine(gen, hidden)
        probes.append(Probe(f"x of shape {tuple(x.shape)}, one row of small values, eps={eps}", (x, gain, eps)))
    return probes


def _candidate(dim: int, **changes: object):
    """A candidate fn(x, gain, bias, eps): the normalization over `dim`, then gain and bias, with `changes`:
    axis= to take the statistics over another dim, keyword arguments of `_normalize`, and gain=False,
    bias=False or swap=True for the gain and bias."""
    affine = {key: changes.pop(key) for key in ("gain", "bias", "swap") if key in changes}
    dim = changes.pop("axis", dim)

    def compute(x: Tensor, g: Tensor, b: Tensor, eps: float) -> tuple[Tensor]:
        y = _normalize(x, dim, eps, **changes)
        if affine.get("swap"):
            return (y * b + g,)
        return ((y * g if affine.get("gain", True) else y) + (b if affine.get("bias", True) else 0),)

    return compute


_EPS = "torch puts eps inside the square root, sigma = sqrt(var + eps), which keeps it positive for a constant input."
_GAIN_BIAS = "Eq. (5): y = g / sigma * (a - mu) + b, the gain g multiplies, the bias b is added after normalizing."

#: A mistake and the changes to the right computation that make it (keyword arguments of `_candidate`).
_Catalogued = tuple[Mistake, dict[str, object]]


def _norm_mistakes(dim: int, other: int, stats: str, wrong_axis: tuple[str, str], equation: str) -> list[_Catalogued]:
    """The mistakes layer norm and batch norm share; `dim` is the axis of the statistics, `other` the wrong one."""
    n = "H" if dim == -1 else "N"
    stats_hint = f"{equation}: mu and sigma are taken {stats}. {_EPS}"
    centering_hint = f"{equation} and eq. (5): the normalized input is (a - mu) / sigma: subtract the mean first."
    table = [
        (
            wrong_axis[0],
            f"Your mean and variance are taken over the wrong axis: {wrong_axis[1]}.",
            f"{equation}: the statistics are taken {stats}: dim={dim}, keepdim=True.",
            {"axis": other},
        ),
        (
            "unbiased_variance",
            f"You divide the sum of squared deviations by {n} - 1 (the default of torch.var and torch.std, "
            "unbiased=True).",
            f"{equation}: the variance is the mean of the squared deviations, 1/{n} times their sum "
            "(x.var(..., unbiased=False), or ((x - mu) ** 2).mean(...)).",
            {"unbiased": True},
        ),
        (
            "eps_outside_sqrt",
            "You add eps after taking the square root: (x - mu) / (sqrt(var) + eps).",
            stats_hint,
            {"eps_inside": False},
        ),
        (
            "no_centering",
            "You divide by sigma but do not subtract the mean mu from x.",
            centering_hint,
            {"center": False},
        ),
        (
            "no_centering",
            "You neither subtract the mean from x nor measure the spread around it: you divide x by its "
            "root mean square (that is RMS norm).",
            centering_hint,
            {"center": False, "center_variance": False},
        ),
        (
            "variance_not_std",
            "You divide by the variance (plus eps) instead of its square root, the standard deviation.",
            stats_hint + " Divide by sigma = sqrt(var + eps).",
            {"power": 1.0},
        ),
        ("no_gain_bias", "You apply neither the gain nor the bias.", _GAIN_BIAS, {"gain": False, "bias": False}),
        ("no_gain_bias", "You do not multiply by the gain.", _GAIN_BIAS, {"gain": False}),
        ("no_gain_bias", "You do not add the bias.", _GAIN_BIAS, {"bias": False}),
        (
            "gain_bias_swapped",
            "You multiply by the bias and add the gain: the two are swapped.",
            _GAIN_BIAS + " The arguments come in the order (x, gain, bias, eps).",
            {"swap": True},
        ),
    ]
    return [(Mistake(code, what, hint, _candidate(dim, **changes)), changes) for code, what, hint, changes in table]


def _pairs(dim: int, catalogued: list[_Catalogued]) -> tuple[tuple[Mistake, Mistake, Callable[..., tuple]], ...]:
    """Every two mistakes of different codes that change different things, made together."""

    # eps outside the square root and no square root at all are the same mistake in the denominator
    places = {"gain": "affine", "bias": "affine", "swap": "affine", "eps_inside": "sigma", "power": "sigma"}

    def touches(changes: dict[str, object]) -> set[str]:
        return {places.get(key, key) for key in changes}

    return tuple(
        (first, second, _candidate(dim, **a, **b))
        for (first, a), (second, b) in itertools.combinations(catalogued, 2)
        if first.code != second.code and not touches(a) & touches(b)
    )


_LAYER_NORM_MISTAKES = _norm_mistakes(
    -1,
    0,
    "over the H hidden units of each case (each row)",
    ("batch_axis", "over the cases of the batch (dim=0), as batch norm does"),
    "Eq. (3)",
)
_BATCH_NORM_MISTAKES = _norm_mistakes(
    0,
    -1,
    "over the cases of the mini-batch, for each hidden unit (each column)",
    ("hidden_axis", "over the hidden units of each case (dim=-1), as layer norm does"),
    "Eq. (2)",
)

LAYER_NORM = Exercise(
    name="layer norm, eq. (3)",
    call="fn(x, gain, bias, eps) -> y",
    outputs=("y",),
    reference=lambda x, gain, bias, eps: (F.layer_norm(x, x.shape[-1:], gain, bias, eps),),
    mistakes=tuple(m for m, _ in _LAYER_NORM_MISTAKES),
    combinations=_pairs(-1, _LAYER_NORM_MISTAKES),
    probes=_layer_norm_probes,
    hint="Eq. (3): mu = mean of the H summed inputs of a case, sigma = sqrt(mean((a - mu)^2) + eps), both "
    "over dim=-1 with keepdim=True; eq. (5): y = gain * (x - mu) / sigma + bias.",
)

BATCH_NORM = Exercise(
    name="batch norm (training mode), eq. (2)",
    call="fn(x, gain, bias, eps) -> y",
    outputs=("y",),
    reference=lambda x, gain, bias, eps: (F.batch_norm(x, None, None, gain, bias, training=True, eps=eps),),
    mistakes=tuple(m for m, _ in _BATCH_NORM_MISTAKES),
    combinations=_pairs(0, _BATCH_NORM_MISTAKES),
    probes=_batch_norm_probes,
    hint="Eq. (2): mu = mean of unit i over the N cases of the mini-batch, sigma = sqrt(mean((a - mu)^2) + eps), "
    "both over dim=0 with keepdim=True; eq. (1) and (5): y = gain * (x - mu) / sigma + bias.",
)


def _rms(x: Tensor, eps: float, *, dim: int = -1, eps_inside: bool = True) -> Tensor:
    ms = x.pow(2).mean(dim, keepdim=True)
    return x / (ms + eps).sqrt() if eps_inside else x / (ms.sqrt() + eps)


_RMS_HINT = (
    "RMS norm (Zhang and Sennrich 2019, eq. (4)): y = gain * x / sqrt(mean(x^2) + eps), the mean over the "
    "hidden units of each case (dim=-1); unlike layer norm, no mean is subtracted."
)

RMS_NORM = Exercise(
    name="RMS norm",
    call="fn(x, gain, eps) -> y",
    outputs=("y",),
    reference=lambda x, gain, eps: (x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt() * gain,),
    mistakes=(
        Mistake(
            "centered",
            "You subtract the mean, as layer norm does: RMS norm divides x itself by its root mean square.",
            _RMS_HINT,
            lambda x, gain, eps: (_normalize(x, -1, eps) * gain,),
        ),
        Mistake(
            "centered",
            "You divide x by its standard deviation (the spread around the mean) instead of its root mean square.",
            _RMS_HINT,
            lambda x, gain, eps: (_normalize(x, -1, eps, center=False) * gain,),
        ),
        Mistake(
            "centered",
            "You subtract the mean from x before dividing by the root mean square of x.",
            _RMS_HINT,
            lambda x, gain, eps: (_normalize(x, -1, eps, center_variance=False) * gain,),
        ),
        Mistake(
            "eps_outside_sqrt",
            "You add eps after taking the square root: x / (sqrt(mean(x^2)) + eps).",
            _RMS_HINT + " " + _EPS,
            lambda x, gain, eps: (_rms(x, eps, eps_inside=False) * gain,),
        ),
        Mistake(
            "batch_axis",
            "You take the mean square over the cases of the batch (dim=0) instead of over the hidden units.",
            _RMS_HINT,
            lambda x, gain, eps: (_rms(x, eps, dim=0) * gain,),
        ),
        Mistake(
            "no_gain",
            "Your normalization is right, but you do not multiply by the gain.",
            _RMS_HINT,
            lambda x, gain, eps: (_rms(x, eps),),
        ),
    ),
    probes=_rms_norm_probes,
    hint=_RMS_HINT,
)


def check_layer_norm(fn: object) -> Feedback:
    """Check `fn(x, gain, bias, eps) -> y`, layer norm of eq. (3) and (5).

    x: (batch, hidden); gain, bias: (hidden,); eps: float, inside the square root. y: (batch, hidden).
    Mistakes it names: batch_axis, unbiased_variance, eps_outside_sqrt, no_centering, variance_not_std,
    no_gain_bias, gain_bias_swapped.
    """
    return check(LAYER_NORM, fn)


def check_batch_norm(fn: object) -> Feedback:
    """Check `fn(x, gain, bias, eps) -> y`, batch norm in training mode, eq. (2) (mini-batch statistics).

    x: (batch, hidden); gain, bias: (hidden,); eps: float, inside the square root. y: (batch, hidden).
    Mistakes it names: hidden_axis, unbiased_variance, eps_outside_sqrt, no_centering, variance_not_std,
    no_gain_bias, gain_bias_swapped.
    """
    return check(BATCH_NORM, fn)


def check_rms_norm(fn: object) -> Feedback:
    """Check `fn(x, gain, eps) -> y`, RMS norm: y = gain * x / sqrt(mean(x^2 over hidden) + eps).

    x: (batch, hidden); gain: (hidden,); eps: float. y: (batch, hidden).
    Mistakes it names: centered, eps_outside_sqrt, batch_axis, no_gain.
    """
    return check(RMS_NORM, fn)
