"""Checkers for weight normalization (Salimans and Kingma 2016), the third row of Table 1, and for its
gradient, which section 5.2 of the paper builds on: the gradient with respect to v is orthogonal to w.

w_i = g_i * v_i / ||v_i||, one norm per output unit i (a row of the (out, in) weight matrix).
"""

from __future__ import annotations

import torch
from torch import Tensor

from lnviz.exercises._core import Exercise, Feedback, Mistake, Probe, check

__all__ = ["WEIGHT_NORM", "WEIGHT_NORM_GRAD", "check_weight_norm", "check_weight_norm_grad"]

_DTYPE = torch.float64


def _probes(with_gradient: bool) -> list[Probe]:
    """(v, g) or, `with_gradient`, (v, g, grad_w): the same v and g either way."""
    gen = torch.Generator().manual_seed(16)
    probes = []
    for out_features, in_features in ((4, 3), (3, 5)):
        # rows of very different lengths, so that a norm over the wrong axis, or over the whole matrix, shows
        lengths = torch.linspace(0.5, 4.0, out_features, dtype=_DTYPE)[:, None]
        v = lengths * torch.randn(out_features, in_features, generator=gen, dtype=_DTYPE)
        g = torch.randn(out_features, generator=gen, dtype=_DTYPE) + 0.5
        grad_w = torch.randn(out_features, in_features, generator=gen, dtype=_DTYPE)
        args = (v, g, grad_w) if with_gradient else (v, g)
        probes.append(Probe(f"v of shape {tuple(v.shape)} with rows of different lengths", args))
    return probes


def _row_norms(v: Tensor) -> Tensor:
    """||v_i|| of every row: (out, 1)."""
    return v.pow(2).sum(1, keepdim=True).sqrt()


_HINT = (
    "Weight norm (Salimans and Kingma 2016, eq. (2)): w_i = g_i * v_i / ||v_i||, where v_i is row i of v "
    "(the incoming weights of unit i) and ||v_i|| its Euclidean norm: v.norm(dim=1, keepdim=True). "
    "g has one entry per unit, g[:, None] as a column."
)

WEIGHT_NORM = Exercise(
    name="weight norm, w = g v / ||v||",
    call="fn(v, g) -> w",
    outputs=("w",),
    reference=lambda v, g: (g[:, None] * v / torch.linalg.vector_norm(v, dim=1, keepdim=True),),
    mistakes=(
        Mistake(
            "wrong_axis",
            "You divide each column of v by its norm; each unit's incoming weights are a row of v.",
            _HINT,
            lambda v, g: (g[:, None] * v / v.pow(2).sum(0, keepdim=True).sqrt(),),
        ),
        Mistake(
            "whole_matrix_norm",
            "You divide v by the norm of the whole matrix; weight norm divides each row by its own norm.",
            _HINT,
            lambda v, g: (g[:, None] * v / v.pow(2).sum().sqrt(),),
        ),
        Mistake(
            "squared_norm",
            "You divide by the squared norm ||v_i||^2 instead of the norm ||v_i||.",
            _HINT,
            lambda v, g: (g[:, None] * v / v.pow(2).sum(1, keepdim=True),),
        ),
        Mistake(
            "no_gain",
            "Your directions v_i / ||v_i|| are right, but you do not multiply them by the gains g.",
            _HINT,
            lambda v, g: (v / _row_norms(v),),
        ),
    ),
    probes=lambda: _probes(with_gradient=False),
    hint=_HINT,
)


def _gradients(v: Tensor, g: Tensor, grad_w: Tensor) -> tuple[Tensor, Tensor]:
    """(grad_g, grad_v) by autograd, for the loss whose gradient with respect to w is grad_w."""
    with torch.enable_grad():
        v, g = v.detach().requires_grad_(), g.detach().requires_grad_()
        w = g[:, None] * v / torch.linalg.vector_norm(v, dim=1, keepdim=True)
        grad_g, grad_v = torch.autograd.grad(w, (g, v), grad_w)
    return grad_g, grad_v


def _gradient_mistake(kind: str):
    """A candidate fn(v, g, grad_w) -> (grad_g, grad_v) with one mistake, written from Salimans and
    Kingma's eq. (3)."""

    def compute(v: Tensor, g: Tensor, grad_w: Tensor) -> tuple[Tensor, Tensor]:
        norm = _row_norms(v)
        direction = v / norm
        along = (grad_w * direction).sum(1)  # grad_g = grad_w . v / ||v||
        projected = grad_w - along[:, None] * direction  # M_w grad_w: the part orthogonal to w
        grad_g = (grad_w * v).sum(1) if kind == "grad_g_not_normalized" else along
        scale = {"no_gain": 1 / norm, "no_norm_scale": g[:, None]}.get(kind, g[:, None] / norm)
        grad_v = scale * (grad_w if kind == "no_projection" else projected)
        return grad_g, grad_v

    return compute


_GRAD_HINT = (
    "Salimans and Kingma (2016), eqs. (3) and (4): grad_g = grad_w . v / ||v|| (row by row) and "
    "grad_v = g / ||v|| * (grad_w - grad_g * v / ||v||): the gradient with respect to w with its component "
    "along w taken out, so grad_v is orthogonal to w and to v (section 5.2's geometry)."
)

WEIGHT_NORM_GRAD = Exercise(
    name="the gradient of weight norm, orthogonal to w",
    call="fn(v, g, grad_w) -> (grad_g, grad_v)",
    outputs=("grad_g", "grad_v"),
    reference=_gradients,
    mistakes=(
        Mistake(
            "no_projection",
            "Your grad_g is right, but grad_v = g / ||v|| * grad_w keeps the component of grad_w along w; "
            "the right grad_v is orthogonal to w.",
            _GRAD_HINT,
            _gradient_mistake("no_projection"),
        ),
        Mistake(
            "no_gain",
            "Your grad_v points the right way, but misses the factor g.",
            _GRAD_HINT,
            _gradient_mistake("no_gain"),
        ),
        Mistake(
            "no_norm_scale",
            "Your grad_v points the right way, but misses the factor 1 / ||v||.",
            _GRAD_HINT,
            _gradient_mistake("no_norm_scale"),
        ),
        Mistake(
            "grad_g_not_normalized",
            "Your grad_v is right, but grad_g = grad_w . v misses the division by ||v||: g multiplies the unit "
            "vector v / ||v||.",
            _GRAD_HINT,
            _gradient_mistake("grad_g_not_normalized"),
        ),
    ),
    probes=lambda: _probes(with_gradient=True),
    hint=_GRAD_HINT,
)


def check_weight_norm(fn: object) -> Feedback:
    """Check `fn(v, g) -> w`, weight norm's reparametrization w_i = g_i v_i / ||v_i||.

    v: (out, in); g: (out,). w: (out, in).
    Mistakes it names: wrong_axis, whole_matrix_norm, squared_norm, no_gain.
    """
    return check(WEIGHT_NORM, fn)


def check_weight_norm_grad(fn: object) -> Feedback:
    """Check `fn(v, g, grad_w) -> (grad_g, grad_v)`, the gradients of weight norm (Salimans and Kingma eq. (3)).

    v: (out, in); g: (out,); grad_w: (out, in), the loss's gradient with respect to w.
    grad_g: (out,); grad_v: (out, in), orthogonal to every row of w.
    Mistakes it names: no_projection, no_gain, no_norm_scale, grad_g_not_normalized.
    """
    return check(WEIGHT_NORM_GRAD, fn)
