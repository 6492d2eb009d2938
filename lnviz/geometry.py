"""Numbers for notebook 06: the geometry of learning in a layer-normalized layer (section 5.2).

Layer norm's output does not change when the whole weight matrix is scaled (Table 1, weight matrix
re-scaling), so neither does any loss computed from it: L(cW) = L(W) for every c > 0. Two facts
follow, whatever the data and the loss:

- Differentiating in c at c = 1: <grad L(W), W> = 0. The gradient is orthogonal to W, so a plain
  gradient step never shortens W: ||W - lr grad||^2 = ||W||^2 + lr^2 ||grad||^2.
- Differentiating in W: c grad L(cW) = grad L(W). The gradient shrinks as 1/||W||, and the angle one
  step turns W by, tan(angle) = lr ||grad|| / ||W||, shrinks as 1/||W||^2: an effective learning rate
  lr / ||W||^2, which falls as W grows. The paper calls this an implicit "early stopping" effect.

Here a layer h = LN(W x), H units and d inputs, learns a noisy teacher of the same form by mean squared
error. `Plane` restricts W to a plane through the origin, W = w_1 A + w_2 B, so that the loss can be
drawn over w = (w_1, w_2); `grow` trains the whole W by plain stochastic gradient descent; and
`learn_gain` compares learning the gain of a normalized unit with learning the magnitude of an
unnormalized unit's weights, as the inputs are rescaled (section 5.2.2, "learning the magnitude of
incoming weights").

Everything runs in float64 and with eps = 0, as in the paper's equations, so that the invariance is
exact: torch's eps = 1e-5 inside the square root adds a component of order eps / sigma^2 along W.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor
from tqdm.auto import tqdm

from lnviz.nn.functional import layer_norm
from lnviz.scheduler import threads

__all__ = [
    "GAIN_MODELS",
    "GainRun",
    "GainTask",
    "Plane",
    "SGDRun",
    "Step",
    "Teacher",
    "descend",
    "equilibrium_angle",
    "gain_features",
    "gain_gradient_sweep",
    "gain_task",
    "gradient_step",
    "grow",
    "landscape",
    "learn_gain",
    "loss",
    "make_teacher",
    "length_sweep",
    "outputs",
    "point",
    "tangent_metric",
]

#: The two ways of giving a unit its magnitude: "none", w_i = g_i u_i with ||u_i|| = 1, the gain is
#: the weights' magnitude; "layer", g_i times the layer-normalized summed input.
GAIN_MODELS: tuple[str, ...] = ("none", "layer")

#: A gain run stops once the gain is this many times farther from its best value than at the start.
DIVERGED = 1e6

_DTYPE = torch.float64

#: Added to the seed of random directions, so that they never replay a task's own draws (the same seed
#: and shape would draw the teacher again, and nothing would be left of it orthogonal to the teacher).
_DIRECTION_SEEDS = 1_000_000


# ----------------------------------------------------------------------------------------------------
# The layer and its task
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Teacher:
    """x: (N, d) inputs; y: (N, H) targets, the teacher's layer-normalized output plus noise;
    teacher: (H, d) the teacher's weights, of Frobenius norm 1."""

    x: Tensor
    y: Tensor
    teacher: Tensor


def make_teacher(
    n_cases: int = 256, n_inputs: int = 8, n_hidden: int = 8, noise: float = 0.5, seed: int = 0
) -> Teacher:
    """A regression task a layer h = LN(W x) can learn, up to the noise: y = LN(W* x) + noise * N(0, 1)."""
    for name, value, least in (("n_cases", n_cases, 1), ("n_inputs", n_inputs, 1), ("n_hidden", n_hidden, 2)):
        if not (isinstance(value, int) and value >= least):
            raise ValueError(f"make_teacher expected {name} to be an int >= {least}, got {value!r}")
    if not noise >= 0:
        raise ValueError(f"make_teacher expected noise >= 0, got {noise!r}")
    gen = torch.Generator().manual_seed(seed)
    teacher = torch.randn(n_hidden, n_inputs, generator=gen, dtype=_DTYPE)
    teacher = teacher / teacher.norm()
    x = torch.randn(n_cases, n_inputs, generator=gen, dtype=_DTYPE)
    y = outputs(teacher, x) + noise * torch.randn(n_cases, n_hidden, generator=gen, dtype=_DTYPE)
    return Teacher(x=x, y=y, teacher=teacher)


def outputs(weight: Tensor, x: Tensor) -> Tensor:
    """The layer's output LN(W x), gain 1, bias 0, eps 0. weight: (*, H, d); x: (N, d). Returns (*, N, H)."""
    if weight.dim() < 2 or weight.shape[-1] != x.shape[-1]:
        raise ValueError(f"outputs expected weight of shape (*, H, {x.shape[-1]}), got {tuple(weight.shape)}")
    a = x @ weight.transpose(-1, -2)  # eq. (1): the summed inputs a = W x of every case
    return layer_norm(a, a.shape[-1], eps=0.0)  # eq. (3): statistics over the H units of each case


def loss(weight: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """Mean squared error of LN(W x) against y. weight: (*, H, d); x: (N, d); y: (N, H). Returns (*,)."""
    return (outputs(weight, x) - y).pow(2).mean(dim=(-2, -1))


# ----------------------------------------------------------------------------------------------------
# The loss over a plane of weight matrices
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plane:
    """Weight matrices W = w_1 A + w_2 B: basis (2, H, d) holds A, the teacher's direction, and B, a
    random direction orthogonal to it, both of Frobenius norm 1, so that ||W|| = ||w|| and gradients
    in w are the projections of gradients in W."""

    task: Teacher
    basis: Tensor
    # What the loss needs of the plane, per case n (see `_loss_and_gradient`): gram (2, N, 2), the
    # matrices G_n / H at [:, n, :]; along_y (2, N), the vectors u_n as columns; offset, 1 + mean(y^2).
    _gram: Tensor = field(init=False, repr=False, compare=False)
    _along_y: Tensor = field(init=False, repr=False, compare=False)
    _offset: Tensor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        along = self.task.x @ self.basis.transpose(-1, -2)  # eq. (1) for W = A and W = B: (2, N, H)
        centred = along - along.mean(-1, keepdim=True)  # C_n = centred[:, n, :]
        gram = torch.einsum("knh,lnh->knl", centred, centred) / centred.shape[-1]
        object.__setattr__(self, "_gram", gram.contiguous())  # so that flattening it is a view, not a copy
        object.__setattr__(self, "_along_y", torch.einsum("knh,nh->kn", centred, self.task.y))
        object.__setattr__(self, "_offset", 1 + self.task.y.pow(2).mean())

    @classmethod
    def through_teacher(cls, task: Teacher, seed: int = 0) -> Plane:
        """The plane through the teacher's weights and one random direction orthogonal to them."""
        return cls(task=task, basis=torch.stack([task.teacher / task.teacher.norm(), _orthogonal(task.teacher, seed)]))

    def weight(self, w: Tensor) -> Tensor:
        """w: (*, 2) coordinates in the plane. Returns W: (*, H, d)."""
        if w.shape[-1:] != (2,):
            raise ValueError(f"Plane.weight expected coordinates of shape (*, 2), got {tuple(w.shape)}")
        return torch.tensordot(w, self.basis, dims=1)

    def loss(self, w: Tensor) -> Tensor:
        """w: (*, 2). Returns the loss at each point, (*,)."""
        return loss(self.weight(w), self.task.x, self.task.y)

    def loss_and_gradient(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """w: (*, 2). Returns the loss (*,) and its gradient in w at each point (*, 2)."""
        if w.shape[-1:] != (2,):
            raise ValueError(f"Plane.loss_and_gradient expected coordinates of shape (*, 2), got {tuple(w.shape)}")
        with torch.no_grad(), threads(1):
            return self._loss_and_gradient(w.detach().to(_DTYPE))

    def _loss_and_gradient(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """`loss_and_gradient` in closed form, without autograd: a dozen operations on (N, 2) numbers,
        cheap enough for `descend` to take its steps one after another while a slider moves.

        In the plane, case n's summed inputs, centred over the H units, are c_n = C_n^T w, with C_n (2, H)
        the centred x_n A^T and x_n B^T (eq. (1) is linear in W, and W in w). With eq. (3) (eps = 0)
        and h_n = c_n / sigma_n:

            sigma_n^2 = w^T G_n w / H                     G_n = C_n C_n^T
            h_n . y_n = (w . u_n) / sigma_n               u_n = C_n y_n
            ||h_n||^2 = H                                 mean 0 and variance 1 over the units
            L(w)  = 1/(N H) sum_n ||h_n - y_n||^2 = 1 + mean(y^2) - 2/(N H) sum_n (w . u_n) / sigma_n
            dL/dw = -2/(N H) sum_n (u_n - (w . u_n) G_n w / (H sigma_n^2)) / sigma_n

        w . dL/dw = 0 term by term (w^T G_n w = H sigma_n^2): section 5.2's orthogonality, exactly.
        """
        n_cases, n_units = self.task.y.shape
        # matrix products rather than einsum or tensordot: at these sizes each operation's overhead is the cost
        gram_w = (w @ self._gram.flatten(1)).unflatten(-1, (n_cases, 2))  # G_n w / H: (*, N, 2)
        inv_sigma = (gram_w @ w[..., :, None]).squeeze(-1).rsqrt()  # 1 / sigma_n: (*, N)
        w_u = w @ self._along_y  # w . u_n: (*, N)
        scale = 2 / (n_cases * n_units)
        value = self._offset - scale * (w_u * inv_sigma).sum(-1)
        # sum_n (w . u_n) G_n w / (H sigma_n^3), the part of the pull on w along w itself
        along_w = ((w_u * inv_sigma.pow(3))[..., None, :] @ gram_w).squeeze(-2)
        return value, scale * (along_w - inv_sigma @ self._along_y.mT)


def _orthogonal(teacher: Tensor, seed: int) -> Tensor:
    """A random direction (H, d) of Frobenius norm 1, orthogonal to the teacher's weights (H, d)."""
    gen = torch.Generator().manual_seed(_DIRECTION_SEEDS + seed)
    a = teacher / teacher.norm()
    b = torch.randn(a.shape, generator=gen, dtype=_DTYPE)
    b = b - (b * a).sum() * a  # Gram-Schmidt in the Frobenius inner product
    return b / b.norm()


def point(length: float, degrees: float) -> Tensor:
    """The point of the plane at distance `length` (= ||w||) from the origin, `degrees` from the
    teacher's direction. (2,)"""
    if not length > 0:
        raise ValueError(f"point expected length > 0, got {length!r}")
    angle = math.radians(degrees)
    return torch.tensor([length * math.cos(angle), length * math.sin(angle)], dtype=_DTYPE)


@dataclass(frozen=True)
class Landscape:
    """The loss over a square grid of the plane: `coords` (P,) the grid lines' coordinates (the same
    for w_1 and w_2), `values` (P, P) the loss, indexed [w_2, w_1] as a plotly heatmap expects."""

    coords: Tensor
    values: Tensor


def landscape(plane: Plane, extent: float = 4.0, points: int = 64, chunk: int = 512) -> Landscape:
    """The loss on a points x points grid over [-extent, extent]^2, computed at every grid point.

    `points` must be even, so that the grid misses the origin, where LN(0) = 0/0.
    """
    if not (isinstance(points, int) and points >= 2 and points % 2 == 0):
        raise ValueError(f"landscape expected an even number of points >= 2, got {points!r}")
    if not extent > 0:
        raise ValueError(f"landscape expected extent > 0, got {extent!r}")
    coords = torch.linspace(-extent, extent, points, dtype=_DTYPE)
    w2, w1 = torch.meshgrid(coords, coords, indexing="ij")
    grid = torch.stack([w1, w2], dim=-1).reshape(-1, 2)
    with torch.no_grad(), threads(1):
        # in chunks: every grid point holds an (N, H) output, tens of MB for the whole grid at once
        values = torch.cat([plane.loss(part) for part in grid.split(chunk)])
    return Landscape(coords, values.reshape(points, points))


@dataclass(frozen=True)
class Step:
    """One plain gradient step in the plane, w -> next_w = w - lr * gradient (each (2,))."""

    w: Tensor
    loss: float
    gradient: Tensor
    lr: float
    next_w: Tensor

    @property
    def length(self) -> float:
        """||w||."""
        return float(self.w.norm())

    @property
    def next_length(self) -> float:
        """||next_w||."""
        return float(self.next_w.norm())

    @property
    def angle_change(self) -> float:
        """The angle between w and next_w, in degrees."""
        return float(_angles(self.w, self.next_w))

    @property
    def inner(self) -> float:
        """w . gradient: 0, up to rounding, because the loss does not change along w."""
        return float(self.w @ self.gradient)


def gradient_step(plane: Plane, w: Tensor, lr: float) -> Step:
    """The gradient at w (2,) and the step a learning rate `lr` takes from it."""
    if not lr > 0:
        raise ValueError(f"gradient_step expected lr > 0, got {lr!r}")
    value, gradient = plane.loss_and_gradient(w)
    return Step(
        w=w.detach().to(_DTYPE),
        loss=float(value),
        gradient=gradient,
        lr=lr,
        next_w=w.detach().to(_DTYPE) - lr * gradient,
    )


def descend(plane: Plane, w: Tensor, lr: float, steps: int = 20) -> Tensor:
    """The points of `steps` plain gradient steps from w (2,) on the whole training set. (steps+1, 2)"""
    if not lr > 0:
        raise ValueError(f"descend expected lr > 0, got {lr!r}")
    points = [w.detach().to(_DTYPE)]
    with torch.no_grad(), threads(1):
        for _ in range(steps):
            _, gradient = plane._loss_and_gradient(points[-1])
            points.append(points[-1] - lr * gradient)
    return torch.stack(points)


def length_sweep(plane: Plane, degrees: float, lr: float, norms: Tensor) -> tuple[Tensor, Tensor]:
    """Along the ray at `degrees`, for each of `norms` (K,): the gradient norm (K,) and the angle in
    degrees (K,) that one step of learning rate `lr` turns w by."""
    if not lr > 0:
        raise ValueError(f"length_sweep expected lr > 0, got {lr!r}")
    w = norms.to(_DTYPE)[:, None] * point(1.0, degrees)
    _, gradients = plane.loss_and_gradient(w)
    return gradients.norm(dim=-1), _angles(w, w - lr * gradients)


@dataclass(frozen=True)
class PlaneView:
    """What the weight-plane figure draws for one w and one learning rate.

    step: the gradient step at w; path: (K+1, 2) w and the K steps of gradient descent after it;
    lengths: (M,) the ||w|| along w's ray at which `grad_norms` (M,) and `turned` (M,), the angle in
    degrees one step turns w by, were measured (:func:`length_sweep`).
    """

    step: Step
    path: Tensor
    lengths: Tensor
    grad_norms: Tensor
    turned: Tensor


def plane_view(
    plane: Plane,
    length: float,
    degrees: float,
    lr: float,
    lengths: Tensor,
    path_steps: int = 20,
    sweep: tuple[Tensor, Tensor] | None = None,
) -> PlaneView:
    """The step and the path from w = point(length, degrees), and the curves along its ray at `lengths`
    (M,). `sweep`: `length_sweep(plane, degrees, lr, lengths)` if already computed: it does not depend
    on `length`, so a caller moving only ||w|| can keep it."""
    w = point(length, degrees)
    grad_norms, turned = length_sweep(plane, degrees, lr, lengths) if sweep is None else sweep
    return PlaneView(gradient_step(plane, w, lr), descend(plane, w, lr, path_steps), lengths, grad_norms, turned)


def tangent_metric(plane: Plane, w: Tensor) -> float:
    """How fast the layer's output moves per unit step of w (2,) at right angles to w: the mean over
    cases and units of (dh/ds)^2. For outputs with unit-variance Gaussian noise this is, up to a
    constant factor, the Fisher information along that direction: the paper's Riemannian metric
    (section 5.2.1) per unit step squared."""
    w = w.detach().to(_DTYPE)
    across = torch.stack([-w[1], w[0]]) / w.norm()
    x = plane.task.x
    # a = x W^T is linear in w, so the step moves the summed inputs by da = x (w_1' A + w_2' B)^T
    a, da = x @ plane.weight(w).T, x @ plane.weight(across).T  # eq. (1)
    centred, d_centred = a - a.mean(-1, keepdim=True), da - da.mean(-1, keepdim=True)
    sigma = centred.pow(2).mean(-1, keepdim=True).sqrt()  # eq. (3)
    normalized = centred / sigma
    # d/ds of (a - mu) / sigma: the part of d_centred not along the output, divided by sigma. This 1/sigma
    # is the factor the paper's Fisher matrix carries, and sigma grows in proportion to ||w||.
    velocity = (d_centred - normalized * (normalized * d_centred).mean(-1, keepdim=True)) / sigma
    return float(velocity.pow(2).mean())


def _angles(a: Tensor, b: Tensor) -> Tensor:
    """The angle between a and b (*, n) row by row, in degrees (*,).

    Kahan's formula, 2 atan2(|u - v|, |u + v|) for the unit vectors u, v, is accurate to the last
    digits for tiny angles too, where acos of the cosine loses half of them.
    """
    u, v = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    return torch.rad2deg(2 * torch.atan2((u - v).norm(dim=-1), (u + v).norm(dim=-1)))


# ----------------------------------------------------------------------------------------------------
# Training the whole weight matrix: ||W|| grows, the steps turn it less and less
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SGDRun:
    """One run of plain SGD on W from ||W_0|| = init_norm: per step t = 0..T,

    norms (T+1,): ||W_t||; losses (T+1,): the full training-set loss at W_t;
    grad_norms (T,): ||grad L|| of the mini-batch loss at step t (without the weight decay term);
    angle_changes (T,): the angle between W_t and W_{t+1}, in degrees.
    """

    lr: float
    init_norm: float
    weight_decay: float
    norms: Tensor
    losses: Tensor
    grad_norms: Tensor
    angle_changes: Tensor

    @property
    def effective_lr(self) -> Tensor:
        """lr / ||W_t||^2 (T+1,): the learning rate the direction of W feels."""
        return self.lr / self.norms.pow(2)


def grow(
    task: Teacher,
    lr: float | Sequence[float] = 1.0,
    init_norm: float = 1.0,
    weight_decay: float | Sequence[float] = 0.0,
    steps: int = 200,
    batch_size: int = 16,
    seed: int = 0,
    progress: bool = False,
) -> list[SGDRun]:
    """Train W of LN(W x) by plain SGD, W <- W - lr (grad L + weight_decay W).

    `lr` and `weight_decay` are each a number or a sequence; sequences run one setting each, side by
    side as one batch of weight matrices (numbers are repeated to match): `lr=(0.3, 1.0)` is two runs,
    `lr=1.0, weight_decay=(0.0, 0.01)` too. All runs start from the same W_0, a random direction
    orthogonal to the teacher's scaled to `init_norm`, and see the same mini-batches, drawn without
    replacement from the task's cases with a generator seeded by `seed`. Returns one SGDRun per setting.
    """
    lrs, decays = _settings(lr, weight_decay)
    if not (all(v > 0 for v in lrs) and init_norm > 0):
        raise ValueError(f"grow expected lr > 0 and init_norm > 0, got lr={lr!r}, init_norm={init_norm!r}")
    if not all(v >= 0 for v in decays):
        raise ValueError(f"grow expected weight_decay >= 0, got {weight_decay!r}")
    n_cases = task.x.shape[0]
    if not (isinstance(steps, int) and steps >= 1 and isinstance(batch_size, int) and 1 <= batch_size <= n_cases):
        raise ValueError(
            f"grow expected steps >= 1 and 1 <= batch_size <= {n_cases}, got steps={steps!r}, batch_size={batch_size!r}"
        )
    gen = torch.Generator().manual_seed(seed)
    start = _orthogonal(task.teacher, seed)  # a bad start: at right angles to the teacher's weights
    weight = (init_norm * start).expand(len(lrs), *start.shape).clone()
    rate = torch.tensor(lrs, dtype=_DTYPE)[:, None, None]
    decay = torch.tensor(decays, dtype=_DTYPE)[:, None, None]
    with threads(1):
        norms, losses, grad_norms, turned = [weight.flatten(1).norm(dim=1)], [loss(weight, task.x, task.y)], [], []
        for _ in tqdm(range(steps), disable=not progress, unit="step", desc="SGD on LN(Wx)"):
            batch = torch.randperm(n_cases, generator=gen)[:batch_size]
            weight.requires_grad_(True)
            # the runs' losses do not interact, so the gradient of their sum is each run's gradient
            (gradient,) = torch.autograd.grad(loss(weight, task.x[batch], task.y[batch]).sum(), weight)
            with torch.no_grad():
                new = weight - rate * (gradient + decay * weight)
                turned.append(_angles(weight.flatten(1), new.flatten(1)))
                grad_norms.append(gradient.flatten(1).norm(dim=1))
                weight = new
                norms.append(weight.flatten(1).norm(dim=1))
                losses.append(loss(weight, task.x, task.y))
    columns = [torch.stack(series, dim=1) for series in (norms, losses, grad_norms, turned)]
    return [
        SGDRun(
            lr=float(r),
            init_norm=init_norm,
            weight_decay=float(wd),
            norms=columns[0][i],
            losses=columns[1][i],
            grad_norms=columns[2][i],
            angle_changes=columns[3][i],
        )
        for i, (r, wd) in enumerate(zip(lrs, decays))
    ]


def _settings(lr: float | Sequence[float], weight_decay: float | Sequence[float]) -> tuple[list[float], list[float]]:
    """The learning rate and weight decay of each run: a number is repeated to the length of the other's sequence."""
    lrs = [float(v) for v in lr] if isinstance(lr, Sequence) else None
    decays = [float(v) for v in weight_decay] if isinstance(weight_decay, Sequence) else None
    runs = len(lrs) if lrs is not None else len(decays) if decays is not None else 1
    if (lrs is not None and decays is not None and len(lrs) != len(decays)) or runs == 0:
        raise ValueError(
            f"grow expected lr and weight_decay to be numbers or sequences of one same length >= 1, "
            f"got lr={lr!r}, weight_decay={weight_decay!r}"
        )
    lrs = lrs if lrs is not None else [float(lr)] * runs
    return lrs, decays if decays is not None else [float(weight_decay)] * runs


def equilibrium_angle(lr: float, weight_decay: float) -> float:
    """The angle, in degrees, that a step turns W by once weight decay balances the growth.

    A step W' = (1 - lr wd) W - lr grad, with grad orthogonal to W, keeps ||W'|| = ||W|| when
    lr^2 ||grad||^2 = (1 - (1 - lr wd)^2) ||W||^2; it then turns W by
    tan(angle) = lr ||grad|| / ((1 - lr wd) ||W||) = sqrt(2 lr wd - (lr wd)^2) / (1 - lr wd),
    about sqrt(2 lr wd) radians, whatever the loss. 0 without weight decay.
    """
    if not (lr > 0 and weight_decay >= 0 and lr * weight_decay < 1):
        raise ValueError(
            f"equilibrium_angle expected lr > 0, weight_decay >= 0 and lr * weight_decay < 1, "
            f"got lr={lr!r}, weight_decay={weight_decay!r}"
        )
    shrink = lr * weight_decay
    return math.degrees(math.atan(math.sqrt(2 * shrink - shrink**2) / (1 - shrink)))


# ----------------------------------------------------------------------------------------------------
# Learning the magnitude: the gain of a normalized unit, or the size of a plain unit's weights
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GainTask:
    """x: (N, d) inputs at their natural scale; directions: (H, d) rows of norm 1; y: (N, H) targets
    of a plain teacher, y_i = g*_i (u_i . x) with gains `teacher_gain` (H,)."""

    x: Tensor
    directions: Tensor
    teacher_gain: Tensor
    y: Tensor


def gain_task(n_cases: int = 256, n_inputs: int = 8, n_hidden: int = 8, seed: int = 0) -> GainTask:
    """Random unit directions and teacher gains between 0.5 and 2."""
    gen = torch.Generator().manual_seed(seed)
    directions = torch.randn(n_hidden, n_inputs, generator=gen, dtype=_DTYPE)
    directions = directions / directions.norm(dim=1, keepdim=True)
    teacher_gain = 0.5 + 1.5 * torch.rand(n_hidden, generator=gen, dtype=_DTYPE)
    x = torch.randn(n_cases, n_inputs, generator=gen, dtype=_DTYPE)
    return GainTask(x=x, directions=directions, teacher_gain=teacher_gain, y=(x @ directions.T) * teacher_gain)


def gain_features(task: GainTask, model: str, scale: float) -> Tensor:
    """What each unit's gain multiplies when the inputs are rescaled to scale * x. Returns (N, H).

    "none": the summed input u_i . x of a unit with unit-norm weights u_i (its weights are g_i u_i);
    "layer": the layer-normalized summed input (a_i - mu) / sigma, eq. (3) and (4).
    """
    if model not in GAIN_MODELS:
        raise ValueError(f"gain_features expected model in {GAIN_MODELS}, got {model!r}")
    if not scale > 0:
        raise ValueError(f"gain_features expected scale > 0, got {scale!r}")
    a = (scale * task.x) @ task.directions.T  # eq. (1)
    return a if model == "none" else layer_norm(a, a.shape[-1], eps=0.0)


@dataclass(frozen=True)
class GainRun:
    """Plain gradient descent on the gains alone, from half their best values.

    distances (T+1,): ||g_t - g_best|| / ||g_0 - g_best||; losses (T+1,): mean squared error;
    start_gradient: ||dL/dg|| at g_0; diverged: the run stopped early, its distance past DIVERGED.
    """

    model: str
    scale: float
    lr: float
    best_gain: Tensor
    distances: Tensor
    losses: Tensor
    start_gradient: float
    diverged: bool


def _gain_loss(gain: Tensor, features: Tensor, y: Tensor) -> Tensor:
    return (gain * features - y).pow(2).mean()  # eq. (4): each unit's gain multiplies its normalized input


def _gain_gradient(gain: Tensor, features: Tensor, y: Tensor) -> Tensor:
    """dL/dg (H,) at `gain` (H,): the prediction error times what the gain multiplies, averaged."""
    gain = gain.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(_gain_loss(gain, features, y), gain)
    return gradient


def _best_gain(features: Tensor, y: Tensor) -> Tensor:
    """The least-squares gain of each unit, (H,)."""
    return (features * y).sum(0) / features.pow(2).sum(0)


def learn_gain(task: GainTask, model: str, scale: float, lr: float, steps: int = 60) -> GainRun:
    """Learn the gains of `model` on inputs scale * x, starting from half the best gains, so that
    the prediction error at the start is the same at every input scale for both models."""
    if not lr > 0:
        raise ValueError(f"learn_gain expected lr > 0, got {lr!r}")
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"learn_gain expected steps to be an int >= 1, got {steps!r}")
    with threads(1):
        features = gain_features(task, model, scale)
        best = _best_gain(features, task.y)
        gain = best / 2
        start_gradient = float(_gain_gradient(gain, features, task.y).norm())
        first = (gain - best).norm()
        distances, losses, diverged = [1.0], [float(_gain_loss(gain, features, task.y))], False
        for _ in range(steps):
            gain = gain - lr * _gain_gradient(gain, features, task.y)
            distance = float((gain - best).norm() / first)
            if not distance <= DIVERGED:  # also catches inf and nan
                diverged = True
                break
            distances.append(distance)
            losses.append(float(_gain_loss(gain, features, task.y)))
    return GainRun(
        model=model,
        scale=scale,
        lr=lr,
        best_gain=best,
        distances=torch.tensor(distances, dtype=_DTYPE),
        losses=torch.tensor(losses, dtype=_DTYPE),
        start_gradient=start_gradient,
        diverged=diverged,
    )


def gain_gradient_sweep(task: GainTask, scales: Tensor) -> dict[str, Tensor]:
    """{model: (K,) ||dL/dg|| at half the best gains, at each input scale of `scales` (K,)}."""
    sweep = {}
    with threads(1):
        for model in GAIN_MODELS:
            features = [gain_features(task, model, scale) for scale in scales.tolist()]
            sweep[model] = torch.stack([_gain_gradient(_best_gain(f, task.y) / 2, f, task.y).norm() for f in features])
    return sweep


@dataclass(frozen=True)
class GainLearning:
    """What the gain-learning figure draws: `sweep` {model: (K,) ||dL/dg|| at the start} at each input
    scale of `scales` (K,), and `runs` {model: GainRun} at the input scale now chosen."""

    scales: Tensor
    sweep: dict[str, Tensor]
    runs: dict[str, GainRun]


def gain_learning(
    task: GainTask,
    scale: float,
    lr: float,
    scales: Tensor,
    steps: int = 60,
    sweep: dict[str, Tensor] | None = None,
) -> GainLearning:
    """:func:`learn_gain` for every model at `scale`, with :func:`gain_gradient_sweep` at `scales` (K,)
    (computed unless given: it depends on neither `scale` nor `lr`)."""
    if sweep is None:
        sweep = gain_gradient_sweep(task, scales)
    runs = {model: learn_gain(task, model, scale, lr, steps) for model in GAIN_MODELS}
    return GainLearning(scales, sweep, runs)
