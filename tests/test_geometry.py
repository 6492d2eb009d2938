"""Notebook 06: the geometry of learning in a layer-normalized layer (section 5.2).

The numbers (lnviz.geometry), checked against torch and against the identities that follow from
L(cW) = L(W); every claim the notebook makes, measured; the figure builders; and what the panels do.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lnviz import geometry as G
from lnviz.figures import geometry as figures
from lnviz.figures.core import apply
from lnviz.panels import base as panel_base
from lnviz.panels.geometry import GainLearningPanel, NormGrowthPanel, WeightPlanePanel


@pytest.fixture(scope="module")
def task() -> G.Teacher:
    return G.make_teacher()


@pytest.fixture(scope="module")
def plane(task) -> G.Plane:
    return G.Plane.through_teacher(task)


@pytest.fixture(scope="module")
def runs(task) -> list[G.SGDRun]:
    """The notebook's default run, without and with weight decay."""
    return G.grow(task, lr=1.0, init_norm=1.0, weight_decay=(0.0, 0.01))


@pytest.fixture(scope="module")
def gain_task() -> G.GainTask:
    return G.gain_task()


def rel(a, b) -> float:
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float((a - b).abs().max() / b.abs().max())


# ----------------------------------------------------------------------------------------------------
# The layer and its task
# ----------------------------------------------------------------------------------------------------


def test_outputs_are_torch_layer_norm_of_the_summed_inputs(task):
    weight = torch.randn(8, 8, dtype=torch.float64)
    expected = F.layer_norm(task.x @ weight.T, (8,), eps=0.0)
    assert torch.allclose(G.outputs(weight, task.x), expected, rtol=0, atol=1e-12)


def test_outputs_and_loss_take_a_batch_of_weight_matrices(task):
    weights = torch.randn(3, 8, 8, dtype=torch.float64)
    assert G.outputs(weights, task.x).shape == (3, 256, 8)
    batched = G.loss(weights, task.x, task.y)
    one_by_one = torch.stack([G.loss(w, task.x, task.y) for w in weights])
    assert batched.shape == (3,) and torch.allclose(batched, one_by_one, rtol=1e-14, atol=0)


def test_task_targets_are_the_teachers_output_plus_noise_of_the_chosen_size():
    clean = G.make_teacher(noise=0.0)
    noisy = G.make_teacher(noise=0.5)
    assert float(G.loss(clean.teacher, clean.x, clean.y)) < 1e-28
    assert abs(float(G.loss(noisy.teacher, noisy.x, noisy.y)) - 0.25) < 0.03
    assert torch.equal(G.make_teacher(seed=3).y, G.make_teacher(seed=3).y)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_hidden=1), "n_hidden to be an int >= 2, got 1"),
        (dict(n_cases=0), "n_cases to be an int >= 1, got 0"),
        (dict(noise=-1.0), "noise >= 0, got -1.0"),
    ],
)
def test_make_task_rejects_bad_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        G.make_teacher(**kwargs)


def test_outputs_reject_a_weight_of_the_wrong_width(task):
    with pytest.raises(ValueError, match=r"weight of shape \(\*, H, 8\), got \(8, 5\)"):
        G.outputs(torch.randn(8, 5, dtype=torch.float64), task.x)


def test_loss_is_invariant_to_scaling_the_weight_matrix(task):
    """Table 1, weight matrix re-scaling: the premise of the whole notebook."""
    weight = torch.randn(8, 8, dtype=torch.float64)
    scales = torch.tensor([1e-3, 0.5, 1.0, 7.0, 1e3], dtype=torch.float64)[:, None, None]
    losses = G.loss(scales * weight, task.x, task.y)
    assert rel(losses, losses[2].expand(5)) < 1e-12


# ----------------------------------------------------------------------------------------------------
# The plane: level sets are rays, the gradient is orthogonal to w and shrinks as 1/||w||
# ----------------------------------------------------------------------------------------------------


def test_plane_basis_is_orthonormal_and_contains_the_teacher(plane, task):
    basis = plane.basis.flatten(1)
    assert torch.allclose(basis @ basis.T, torch.eye(2, dtype=torch.float64), atol=1e-14)
    assert rel(plane.basis[0], task.teacher / task.teacher.norm()) < 1e-14
    w = torch.tensor([0.3, -1.7], dtype=torch.float64)
    assert abs(float(plane.weight(w).norm()) - float(w.norm())) < 1e-14


def test_plane_gradient_is_the_projection_of_the_gradient_in_w(plane, task):
    w = G.point(1.3, 70.0)
    weight = plane.weight(w).requires_grad_(True)
    (full,) = torch.autograd.grad(G.loss(weight, task.x, task.y), weight)
    _, gradient = plane.loss_and_gradient(w)
    projected = (plane.basis * full).sum(dim=(1, 2))
    assert rel(gradient, projected) < 1e-12


@pytest.mark.parametrize("sizes", [{}, dict(n_cases=37, n_inputs=5, n_hidden=3, noise=2.0, seed=3)])
def test_closed_form_loss_and_gradient_are_autograd_through_torch_layer_norm(sizes):
    """`Plane.loss_and_gradient` is written out by hand: at random points of two planes, from ||w|| =
    0.1 to 10, one point and a batch, it is what autograd finds through torch's own layer norm."""
    task = G.make_teacher(**sizes)
    plane = G.Plane.through_teacher(task, seed=5)
    gen = torch.Generator().manual_seed(1)
    norms = torch.logspace(-1, 1, 6, dtype=torch.float64)[:, None]
    points = torch.randn(4, 6, 2, generator=gen, dtype=torch.float64)
    points = points / points.norm(dim=-1, keepdim=True) * norms
    for w in (points, points[2, 3]):
        value, gradient = plane.loss_and_gradient(w)
        reference = w.clone().requires_grad_(True)
        summed = task.x @ plane.weight(reference).transpose(-1, -2)
        expected = (F.layer_norm(summed, summed.shape[-1:], eps=0.0) - task.y).pow(2).mean(dim=(-2, -1))
        (expected_gradient,) = torch.autograd.grad(expected.sum(), reference)
        assert value.shape == w.shape[:-1] and gradient.shape == w.shape
        assert float(((value - expected.detach()) / expected.detach()).abs().max()) < 1e-12
        # point by point: the gradient falls as 1 / ||w||, so one scale for all would hide the small ones
        error = (gradient - expected_gradient).norm(dim=-1) / expected_gradient.norm(dim=-1)
        assert float(error.max()) < 1e-10


def test_plane_weight_rejects_coordinates_that_are_not_pairs(plane):
    with pytest.raises(ValueError, match=r"shape \(\*, 2\), got \(3,\)"):
        plane.weight(torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"shape \(\*, 2\), got \(4, 3\)"):
        plane.loss_and_gradient(torch.ones(4, 3, dtype=torch.float64))


def test_landscape_level_sets_are_rays_from_the_origin(plane):
    grid = G.landscape(plane, extent=4.0, points=16)
    coords, values = grid.coords, grid.values
    assert coords.shape == (16,) and values.shape == (16, 16) and torch.isfinite(values).all()
    # the diagonal of the upper right quadrant is one ray: the loss is the same all along it
    diagonal = torch.stack([values[i, i] for i in range(8, 16)])
    assert rel(diagonal, diagonal[0].expand(8)) < 1e-12
    # and it is the loss there, not an interpolation: values[j, i] is the loss at (coords[i], coords[j])
    point = torch.stack([coords[11], coords[4]])
    assert rel(values[4, 11], plane.loss(point)) < 1e-14
    # while different rays differ: the teacher's ray is the best, its opposite the worst
    assert float(values.max() - values.min()) > 1.0


def test_the_teachers_direction_has_the_lowest_loss_and_its_opposite_the_highest(plane):
    """6.1: the lowest loss lies along the teacher's direction (up to the noise), the highest opposite it."""
    degrees = torch.arange(-180.0, 180.0, 1.0, dtype=torch.float64)
    losses = plane.loss(torch.stack([torch.cos(torch.deg2rad(degrees)), torch.sin(torch.deg2rad(degrees))], dim=1))
    assert abs(float(degrees[losses.argmin()])) <= 3
    assert abs(abs(float(degrees[losses.argmax()])) - 180) <= 3


def test_landscape_needs_an_even_grid_that_misses_the_origin(plane):
    with pytest.raises(ValueError, match="even number of points >= 2, got 15"):
        G.landscape(plane, points=15)


@pytest.mark.parametrize("degrees", [-150.0, -60.0, 30.0, 90.0, 175.0])
def test_gradient_is_orthogonal_to_w_and_shrinks_as_one_over_its_norm(plane, degrees):
    steps = [G.gradient_step(plane, G.point(r, degrees), lr=0.3) for r in (0.5, 1.0, 2.0, 4.0)]
    for s in steps:
        assert abs(s.inner) < 1e-12 * s.length * float(s.gradient.norm())
    # the loss is the same along the ray; norm times gradient norm is the same too
    assert rel([s.loss for s in steps], [steps[0].loss] * 4) < 1e-12
    scaled = [s.length * float(s.gradient.norm()) for s in steps]
    assert rel(scaled, [scaled[0]] * 4) < 1e-10


def test_a_step_lengthens_w_by_pythagoras_and_turns_it_by_atan_lr_g_over_norm(plane):
    s = G.gradient_step(plane, G.point(1.0, 90.0), lr=0.3)
    g = float(s.gradient.norm())
    assert abs(s.next_length**2 - (s.length**2 + (0.3 * g) ** 2)) < 1e-12
    assert abs(s.angle_change - math.degrees(math.atan(0.3 * g / s.length))) < 1e-9
    assert rel(s.next_w, s.w - 0.3 * s.gradient) < 1e-15


def test_notebook_numbers_of_the_plane(plane):
    """6.1: at ||w|| = 1, 90 degrees from the teacher, lr 0.3, one step turns w by about 30 degrees;
    at ||w|| = 2 the gradient halves and the step turns w about four times less (7.8 degrees), at 4
    about sixteen times less (2.0 degrees)."""
    turns = {r: G.gradient_step(plane, G.point(r, 90.0), lr=0.3).angle_change for r in (1.0, 2.0, 4.0)}
    assert 27 < turns[1.0] < 32 and 7.75 < turns[2.0] < 7.85 and 1.95 < turns[4.0] < 2.05
    assert 3.5 < turns[2.0] / turns[4.0] < 4.1  # 1/||w||^2 once the angles are small


def test_tangent_metric_falls_as_one_over_the_norm_squared(plane):
    """The Fisher metric along a direction orthogonal to w (section 5.2.1): doubling ||w|| quarters it."""
    metrics = [G.tangent_metric(plane, G.point(r, 40.0)) for r in (0.5, 1.0, 2.0)]
    assert metrics[0] > 0
    assert abs(metrics[0] / metrics[1] - 4) < 1e-9 and abs(metrics[1] / metrics[2] - 4) < 1e-9


def test_tangent_metric_is_the_squared_output_change_per_unit_step(plane):
    w = G.point(1.5, 40.0)
    across, h = torch.stack([-w[1], w[0]]) / w.norm(), 1e-6
    moved = G.outputs(plane.weight(w + h * across), plane.task.x) - G.outputs(plane.weight(w), plane.task.x)
    assert abs(float((moved / h).pow(2).mean()) / G.tangent_metric(plane, w) - 1) < 1e-4
    # and exactly autograd's Jacobian-vector product
    _, velocity = torch.autograd.functional.jvp(lambda v: G.outputs(plane.weight(v), plane.task.x), w, across)
    assert abs(float(velocity.pow(2).mean()) / G.tangent_metric(plane, w) - 1) < 1e-12


def test_angles_are_accurate_for_tiny_angles_too():
    a = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    for angle in (1e-9, 1e-4, 0.5, 3.0):
        b = torch.tensor([[math.cos(angle), math.sin(angle), 0.0]], dtype=torch.float64) * 3.7
        assert abs(float(G._angles(a, b)) / math.degrees(angle) - 1) < 1e-12


def test_norm_sweep_matches_single_steps(plane):
    norms = torch.tensor([0.25, 1.0, 3.0], dtype=torch.float64)
    grad_norms, turned = G.length_sweep(plane, 60.0, 0.5, norms)
    for r, g, t in zip(norms.tolist(), grad_norms.tolist(), turned.tolist()):
        s = G.gradient_step(plane, G.point(r, 60.0), 0.5)
        assert abs(g - float(s.gradient.norm())) < 1e-12 and abs(t - s.angle_change) < 1e-9


def test_descend_never_shortens_w_and_its_turns_shrink(plane):
    """6.1: from ||w|| = 0.25, 90 degrees off, lr 1: the first step throws w out to more than 7 and
    within 2 degrees of the teacher's direction; after it each step turns w by less than a fifth of a degree."""
    path = G.descend(plane, G.point(0.25, 90.0), lr=1.0, steps=20)
    norms = path.norm(dim=1)
    assert path.shape == (21, 2) and rel(path[0], G.point(0.25, 90.0)) < 1e-15
    assert bool((norms[1:] >= norms[:-1]).all())
    assert float(norms[1]) > 7
    angles = torch.rad2deg(torch.atan2(path[:, 1], path[:, 0]))
    assert abs(float(angles[1])) < 2
    assert float((angles[2:] - angles[1:-1]).abs().max()) < 0.2


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p: G.point(0.0, 10.0), "length > 0, got 0.0"),
        (lambda p: G.gradient_step(p, G.point(1.0, 0.0), lr=0.0), "lr > 0, got 0.0"),
        (lambda p: G.descend(p, G.point(1.0, 0.0), lr=-1.0), "lr > 0, got -1.0"),
        (lambda p: G.length_sweep(p, 0.0, 0.0, torch.ones(2)), "lr > 0, got 0.0"),
    ],
)
def test_plane_functions_reject_bad_arguments(plane, call, message):
    with pytest.raises(ValueError, match=message):
        call(plane)


# ----------------------------------------------------------------------------------------------------
# Training the whole W
# ----------------------------------------------------------------------------------------------------


def test_without_weight_decay_the_norm_grows_every_step_by_pythagoras(runs):
    run = runs[0]
    assert bool((run.norms[1:] > run.norms[:-1]).all())
    predicted = run.norms[:-1] ** 2 + (run.lr * run.grad_norms) ** 2
    assert rel(run.norms[1:] ** 2, predicted) < 1e-12


def test_every_step_turns_w_by_atan_of_lr_grad_over_norm(runs):
    run = runs[0]
    expected = torch.rad2deg(torch.atan(run.lr * run.grad_norms / run.norms[:-1]))
    assert rel(run.angle_changes, expected) < 1e-9


def test_notebook_claims_of_the_default_run(runs):
    """6.2: SGD from ||W_0|| = 1 with lr 1: the first step takes ||W|| to about 2.6, and it keeps growing,
    to about 4 after 200 steps; the effective learning rate falls at every step; the angle per step
    falls from about 70 degrees to about 2.5. With weight decay 0.01, ||W|| ends near 2.4, the angle
    per step settles near 8 degrees, and the loss ends higher (0.27 against 0.25)."""
    plain, decayed = runs
    assert 2.4 < float(plain.norms[1]) < 2.9 and 3.8 < float(plain.norms[-1]) < 4.5
    assert bool((plain.effective_lr[1:] < plain.effective_lr[:-1]).all())
    assert 60 < float(plain.angle_changes[0]) < 80 and 2 < float(plain.angle_changes[-50:].mean()) < 3
    assert 2.2 < float(decayed.norms[-1]) < 2.7
    assert 7 < float(decayed.angle_changes[-50:].mean()) < 9
    assert 0.26 < float(decayed.losses[-50:].mean()) < 0.28 and 0.24 < float(plain.losses[-50:].mean()) < 0.26
    # not all of the fall is the growth: after the first step the effective learning rate falls about
    # 2.5-fold over the run, the angle per step about 3.5-fold
    assert 2.2 < float(plain.effective_lr[1] / plain.effective_lr[-1]) < 2.8
    assert 3 < float(plain.angle_changes[1:11].mean() / plain.angle_changes[-50:].mean()) < 4
    for run in runs:
        assert float(run.losses[0]) > 2 and float(run.losses[-1]) < 0.3


@pytest.mark.parametrize("lr", [1.0, 3.0, 10.0])
def test_with_weight_decay_the_angle_per_step_settles_where_decay_balances_growth(task, lr):
    """6.2: once weight decay balances the growth, each step turns W by about sqrt(2 lr wd) radians,
    whatever the loss: 8.1 degrees for lr 1 and weight decay 0.01."""
    run = G.grow(task, lr=lr, init_norm=1.0, weight_decay=(0.01,))[0]
    expected = G.equilibrium_angle(lr, 0.01)
    assert abs(float(run.angle_changes[-50:].mean()) / expected - 1) < 0.1
    assert abs(G.equilibrium_angle(1.0, 0.01) - 8.1) < 0.05
    assert abs(math.radians(G.equilibrium_angle(1e-4, 0.01)) / math.sqrt(2e-6) - 1) < 1e-3


def test_equilibrium_angle_is_zero_without_decay_and_rejects_a_flipping_decay():
    assert G.equilibrium_angle(1.0, 0.0) == 0.0
    with pytest.raises(ValueError, match="lr \\* weight_decay < 1, got lr=10.0, weight_decay=0.1"):
        G.equilibrium_angle(10.0, 0.1)


def test_weight_decay_equilibrium_forgets_the_initial_norm(task):
    """6.2: with weight decay (lr 1, decay 0.01) ||W|| ends near the same value from 1 or from 3."""
    ends = [float(G.grow(task, lr=1.0, init_norm=n, weight_decay=(0.01,))[0].norms[-1]) for n in (1.0, 3.0)]
    assert abs(ends[0] / ends[1] - 1) < 0.05


def test_only_lr_over_norm_squared_matters(task):
    """6.2: (lr, ||W_0||) and (100 lr, 10 ||W_0||) give the same losses and turns; every norm is 10x."""
    small = G.grow(task, lr=1.0, init_norm=1.0, weight_decay=(0.0, 0.01))
    large = G.grow(task, lr=100.0, init_norm=10.0, weight_decay=(0.0, 0.0001))
    for a, b in zip(small, large):
        assert rel(b.losses, a.losses) < 1e-12
        assert rel(b.angle_changes, a.angle_changes) < 1e-9
        assert rel(b.norms, 10 * a.norms) < 1e-12


@pytest.mark.parametrize("seed", range(5))
def test_the_learning_rate_the_direction_feels(task, seed):
    """6.2, for any of five seeds: lr 10 does not blow up; its first step takes ||W|| past 20, and it
    ends with a loss as low as lr 1's and lr 0.3's (within 0.01). Learning rates 0.3 and 1 end with
    effective learning rates within 25 % of each other; lr 10, 30 times lr 0.3, with one 3 to 10
    times smaller."""
    slow, mid, fast = G.grow(task, lr=(0.3, 1.0, 10.0), seed=seed)
    assert float(fast.norms[1]) > 20 and torch.isfinite(fast.losses).all()
    assert float(fast.losses[-50:].mean()) < min(float(r.losses[-50:].mean()) for r in (slow, mid)) + 0.01
    assert abs(float(slow.effective_lr[-1]) / float(mid.effective_lr[-1]) - 1) < 0.25
    assert 3 < float(slow.effective_lr[-1]) / float(fast.effective_lr[-1]) < 10


def test_several_learning_rates_run_side_by_side_as_they_would_alone(task):
    together = G.grow(task, lr=(0.3, 2.0), weight_decay=0.01, steps=20)
    for run in together:
        alone = G.grow(task, lr=run.lr, weight_decay=0.01, steps=20)[0]
        assert run.weight_decay == 0.01 and rel(run.losses, alone.losses) < 1e-12
        assert rel(run.norms, alone.norms) < 1e-12


def test_runs_start_orthogonal_to_the_teacher_and_are_reproducible(task):
    a = G.grow(task, lr=0.5, init_norm=2.0, steps=5, seed=4)[0]
    b = G.grow(task, lr=0.5, init_norm=2.0, steps=5, seed=4)[0]
    c = G.grow(task, lr=0.5, init_norm=2.0, steps=5, seed=5)[0]
    assert torch.equal(a.losses, b.losses) and not torch.equal(a.losses, c.losses)
    assert a.norms.shape == (6,) and a.angle_changes.shape == (5,) and a.grad_norms.shape == (5,)
    assert abs(float(a.norms[0]) - 2.0) < 1e-14
    # orthogonal start: its loss is that of the ray at 90 degrees in some plane, far from the teacher's
    assert float(a.losses[0]) > 1.5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=0.0), "lr > 0 and init_norm > 0, got lr=0.0"),
        (dict(init_norm=-1.0), "init_norm > 0, got lr=1.0, init_norm=-1.0"),
        (dict(weight_decay=()), "one same length >= 1, got lr=1.0, weight_decay=\\(\\)"),
        (dict(lr=(1.0, 2.0), weight_decay=(0.0, 0.1, 0.2)), "one same length >= 1"),
        (dict(weight_decay=(0.1, -0.1)), "weight_decay >= 0, got \\(0.1, -0.1\\)"),
        (dict(lr=(1.0, 0.0)), "lr > 0 and init_norm > 0, got lr=\\(1.0, 0.0\\)"),
        (dict(batch_size=0), "1 <= batch_size <= 256"),
        (dict(steps=0), "steps >= 1"),
    ],
)
def test_grow_rejects_bad_arguments(task, kwargs, message):
    with pytest.raises(ValueError, match=message):
        G.grow(task, **kwargs)


# ----------------------------------------------------------------------------------------------------
# Learning the gain
# ----------------------------------------------------------------------------------------------------

SCALES = torch.tensor([0.01, 0.1, 1.0, 10.0, 100.0], dtype=torch.float64)


def test_layer_norm_features_ignore_the_input_scale_and_plain_ones_follow_it(gain_task):
    plain = [G.gain_features(gain_task, "none", c) for c in (1.0, 10.0)]
    normed = [G.gain_features(gain_task, "layer", c) for c in (1.0, 10.0)]
    assert rel(plain[1], 10 * plain[0]) < 1e-14
    assert rel(normed[1], normed[0]) < 1e-12
    # each case's normalized inputs have mean 0 and mean square 1 (eq. 3): unit size whatever x's scale
    assert normed[0].mean(1).abs().max() < 1e-12 and rel(normed[0].pow(2).mean(1), torch.ones(256)) < 1e-12


def test_gain_gradient_depends_on_the_input_scale_only_without_normalization(gain_task):
    """6.3: at the same prediction error, the plain unit's gain gradient is proportional to the input
    scale; the normalized unit's does not change at all."""
    sweep = G.gain_gradient_sweep(gain_task, SCALES)
    assert rel(sweep["none"], SCALES * sweep["none"][2]) < 1e-12
    assert rel(sweep["layer"], sweep["layer"][2].expand(5)) < 1e-10


def test_both_models_start_with_the_same_prediction_error_at_every_scale(gain_task):
    for model in G.GAIN_MODELS:
        starts = [float(G.learn_gain(gain_task, model, float(c), lr=0.1, steps=1).losses[0]) for c in SCALES]
        assert rel(starts, [starts[2]] * 5) < 1e-12


def test_plain_best_gain_is_the_teachers_divided_by_the_scale(gain_task):
    run = G.learn_gain(gain_task, "none", 4.0, lr=0.1, steps=1)
    assert rel(run.best_gain, gain_task.teacher_gain / 4.0) < 1e-12


def test_notebook_claims_of_gain_learning(gain_task):
    """6.3, at learning rate 1: layer norm's gain is learned identically at every input scale (within
    1e-5 of its best value in 60 steps); the plain unit's diverges at 10x the inputs and has covered
    less than a fifth of the way after 60 steps at 0.1x."""
    normed = [G.learn_gain(gain_task, "layer", float(c), lr=1.0) for c in SCALES]
    for run in normed:
        assert not run.diverged and float(run.distances[-1]) < 1e-5
        assert rel(run.distances, normed[2].distances) < 1e-6
    assert G.learn_gain(gain_task, "none", 1.0, lr=1.0).distances[-1] < 1e-5
    assert G.learn_gain(gain_task, "none", 10.0, lr=1.0).diverged
    assert G.learn_gain(gain_task, "none", 100.0, lr=1.0).diverged
    assert float(G.learn_gain(gain_task, "none", 0.1, lr=1.0).distances[-1]) > 0.8


def test_layer_norm_cannot_fit_the_plain_teacher_exactly(gain_task):
    """6.3's caveat: the best loss is about 0.36 with layer norm and 0 without normalization."""
    assert abs(float(G.learn_gain(gain_task, "layer", 1.0, lr=1.0).losses[-1]) - 0.36) < 0.01
    assert float(G.learn_gain(gain_task, "none", 1.0, lr=1.0).losses[-1]) < 1e-10


def test_plain_gain_at_scale_c_needs_the_learning_rate_divided_by_c_squared(gain_task):
    reference = G.learn_gain(gain_task, "none", 1.0, lr=1.0)
    for c in (0.1, 10.0):
        run = G.learn_gain(gain_task, "none", c, lr=1.0 / c**2)
        assert not run.diverged and rel(run.distances, reference.distances) < 1e-6


def test_a_diverging_run_stops_with_finite_numbers(gain_task):
    run = G.learn_gain(gain_task, "none", 100.0, lr=10.0, steps=500)
    assert run.diverged and len(run.distances) < 10
    assert torch.isfinite(run.distances).all() and torch.isfinite(run.losses).all()
    assert len(run.losses) == len(run.distances)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda t: G.gain_features(t, "batch", 1.0), r"model in \('none', 'layer'\), got 'batch'"),
        (lambda t: G.gain_features(t, "layer", 0.0), "scale > 0, got 0.0"),
        (lambda t: G.learn_gain(t, "layer", 1.0, lr=0.0), "lr > 0, got 0.0"),
        (lambda t: G.learn_gain(t, "layer", 1.0, lr=1.0, steps=0), "steps to be an int >= 1, got 0"),
    ],
)
def test_gain_functions_reject_bad_arguments(gain_task, call, message):
    with pytest.raises(ValueError, match=message):
        call(gain_task)


# ----------------------------------------------------------------------------------------------------
# Figure builders
# ----------------------------------------------------------------------------------------------------


def plane_view(plane, norm=1.0, degrees=90.0, lr=0.3):
    norms = torch.logspace(-2, 2, 9, base=2, dtype=torch.float64)
    return G.plane_view(plane, norm, degrees, lr, norms, path_steps=5)


def test_plane_view_is_the_step_the_path_and_the_sweep_along_ws_ray(plane):
    view = plane_view(plane, norm=2.0, degrees=30.0)
    w = G.point(2.0, 30.0)
    assert torch.equal(view.step.w, w) and view.step.lr == 0.3
    assert torch.equal(view.path, G.descend(plane, w, 0.3, 5))
    grad_norms, turned = G.length_sweep(plane, 30.0, 0.3, view.lengths)
    assert torch.equal(view.grad_norms, grad_norms) and torch.equal(view.turned, turned)
    given = (grad_norms + 1, turned + 1)
    assert G.plane_view(plane, 2.0, 30.0, 0.3, view.lengths, sweep=given).grad_norms is given[0]


def test_weight_plane_figure_draws_w_its_step_and_the_curves(plane):
    grid = G.landscape(plane, points=8)
    view = plane_view(plane, norm=2.0)
    step, path, grad_norms, turned = view.step, view.path, view.grad_norms, view.turned
    fig = figures.weight_plane_figure(grid, view)
    assert len(fig.data) == 9
    assert np.allclose(fig.data[0].z, grid.values.numpy())
    circle = np.hypot(fig.data[1].x, fig.data[1].y)
    assert np.allclose(circle, 2.0)
    assert np.allclose(fig.data[3].x, [0, float(step.w[0])]) and np.allclose(fig.data[3].y, [0, float(step.w[1])])
    assert np.allclose(fig.data[4].x, [float(step.w[0]), float(step.next_w[0])])
    assert np.allclose(fig.data[2].x, path[:, 0].numpy()) and fig.data[2].name == "the next 5 steps"
    assert np.allclose(fig.data[5].y, grad_norms.numpy()) and np.allclose(fig.data[7].y, turned.numpy())
    assert np.allclose(fig.data[6].y, [float(step.gradient.norm())])
    assert f"{step.angle_change:.2f}°" in fig.layout.title.text


def test_weight_plane_update_leaves_the_landscape_alone(plane):
    grid = G.landscape(plane, points=8)
    fig = figures.weight_plane_figure(grid, plane_view(plane))
    update = figures.weight_plane_update(plane_view(plane, norm=0.5, lr=0.1))
    assert update.traces[0] == {}
    apply(fig, update)
    assert np.allclose(fig.data[0].z, grid.values.numpy()) and np.allclose(np.hypot(fig.data[1].x, fig.data[1].y), 0.5)


def test_norm_growth_figure_shows_each_run_and_the_pythagoras_prediction(runs):
    fig = figures.norm_growth_figure(runs)
    assert len(fig.data) == 5 * len(runs) + 1
    for r, run in enumerate(runs):
        norms, effective, turned, losses = fig.data[4 * r : 4 * r + 4]
        assert np.allclose(norms.y, run.norms.numpy()) and np.allclose(effective.y, run.effective_lr.numpy())
        assert np.allclose(turned.y, run.angle_changes.numpy()) and list(turned.x) == list(range(1, 201))
        assert np.allclose(losses.y, run.losses.numpy())
    assert np.allclose(fig.data[8].y, runs[0].norms.numpy(), rtol=1e-10)
    assert fig.data[0].name == "SGD" and fig.data[4].name == "SGD + weight decay 0.01"
    # the equilibrium angle is drawn for the run with weight decay only
    assert len(fig.data[9].y) == 0 and np.allclose(fig.data[10].y, G.equilibrium_angle(1.0, 0.01))


def test_gain_learning_figure_marks_the_chosen_scale_and_says_what_diverged(gain_task):
    view = G.gain_learning(gain_task, 10.0, 1.0, SCALES)
    sweep, chosen = view.sweep, view.runs
    assert torch.equal(sweep["layer"], G.gain_gradient_sweep(gain_task, SCALES)["layer"])
    assert torch.equal(chosen["none"].distances, G.learn_gain(gain_task, "none", 10.0, lr=1.0).distances)
    fig = figures.gain_learning_figure(view)
    assert len(fig.data) == 6
    assert np.allclose(fig.data[0].y, sweep["none"].numpy()) and np.allclose(fig.data[1].y, sweep["layer"].numpy())
    assert list(fig.data[2].x) == [10.0] and np.isclose(fig.data[2].y[0], chosen["none"].start_gradient)
    assert np.allclose(fig.data[5].y, chosen["layer"].distances.numpy())
    title = fig.layout.title.text
    assert "no normalization: diverged after" in title
    distance = float(chosen["layer"].distances[-1])
    assert f"layer norm: ‖g − g_best‖ is {distance:.1e} of its start after 60 steps" in title and distance < 1e-5


# ----------------------------------------------------------------------------------------------------
# Panels
# ----------------------------------------------------------------------------------------------------


def test_weight_plane_panel_doubling_the_norm_halves_the_gradient():
    panel = WeightPlanePanel()
    before = panel.figure.data[6].y[0]
    landscape = panel.figure.data[0].z
    panel.controls["norm"].value = 2.0
    assert abs(panel.figure.data[6].y[0] / before - 0.5) < 1e-9
    assert panel.figure.data[0].z is landscape or np.array_equal(panel.figure.data[0].z, landscape)


def test_weight_plane_panel_keeps_w_its_step_and_the_path_on_the_plot_at_every_setting():
    """6.1 suggests the shortest w and the largest learning rate, which throws the step past 7: at the
    ends of the ||w|| and learning-rate sliders and at every angle the slider offers, the axes hold
    w's circle, w, the step and the path, and the loss is drawn wherever the axes reach."""
    panel = WeightPlanePanel()
    c = panel.controls
    angles = np.arange(c["degrees"].min, c["degrees"].max + 1, c["degrees"].step)
    widest = 0.0
    for lr in (c["lr"].min, c["lr"].max):
        c["lr"].value = lr
        for norm in (c["norm"].base ** c["norm"].min, c["norm"].base ** c["norm"].max):
            c["norm"].value = norm
            for degrees in angles:
                c["degrees"].value = float(degrees)
                layout, data = panel.figure.layout, panel.figure.data
                (x0, x1), (y0, y1) = layout.xaxis.range, layout.yaxis.range
                for trace in data[1:5]:  # the circle, the path, w and the step
                    assert x0 <= min(trace.x) and max(trace.x) <= x1, (lr, norm, degrees, trace.name)
                    assert y0 <= min(trace.y) and max(trace.y) <= y1, (lr, norm, degrees, trace.name)
                assert min(data[0].x) <= x0 and max(data[0].x) >= x1  # the landscape fills the axes
                widest = max(widest, x1)
    assert widest > 7  # the setting 6.1 suggests did need wider axes
    c["lr"].value, c["norm"].value, c["degrees"].value = 0.3, 1.0, 90.0
    assert list(panel.figure.layout.xaxis.range) == [-figures.PLANE_EXTENT, figures.PLANE_EXTENT]


def test_notebook_6_prints_no_progress_bars(capsys):
    """The runs of 6.2 take a fraction of a second: a progress bar would only print noise such as
    "483.19step/s" under them. `grow` shows none unless asked, and the notebook does not ask."""
    import inspect
    import pathlib

    assert inspect.signature(G.grow).parameters["progress"].default is False
    G.grow(G.make_teacher(seed=0), lr=1.0, init_norm=1.0, steps=5)
    assert capsys.readouterr().err == ""
    source = (pathlib.Path(__file__).parents[1] / "notebooks" / "06_geometry.py").read_text()
    assert "geometry.grow(" in source and "progress=True" not in source


def test_weight_plane_panel_learning_rate_changes_the_step_not_the_gradient():
    panel = WeightPlanePanel()
    gradient, step = panel.figure.data[5].y, np.array(panel.figure.data[4].x)
    panel.controls["lr"].value = 0.1
    assert np.array_equal(panel.figure.data[5].y, gradient)
    assert not np.allclose(panel.figure.data[4].x, step)


def test_weight_plane_panel_sends_only_what_changed_and_ends_where_a_fresh_panel_starts(monkeypatch):
    panel = WeightPlanePanel()
    sent = []
    monkeypatch.setattr(panel_base, "apply", lambda fig, update: apply(fig, sent.append(update) or update))
    panel.controls["lr"].value = 0.5
    # the learning rate moves neither the circle, nor w, nor the gradient norms; it moves the path and the step
    assert sent[-1].traces[1] == {} and sent[-1].traces[3] == {} and sent[-1].traces[5] == {}
    assert set(sent[-1].traces[2]) == {"x", "y"} and sent[-1].traces[4] != {}
    panel.controls["norm"].value = 2.0
    # the curves against ||w|| do not depend on ||w||
    assert sent[-1].traces[5] == {} and sent[-1].traces[7] == {} and set(sent[-1].traces[1]) == {"x", "y"}
    panel.controls["degrees"].value = 30.0
    assert set(sent[-1].traces[5]) == {"y"} and sent[-1].traces[1] == {}
    fresh = WeightPlanePanel(norm=2.0, degrees=30.0, lr=0.5)
    for moved, new in zip(panel.figure.data[1:], fresh.figure.data[1:]):
        assert np.array_equal(moved.x, new.x) and np.array_equal(moved.y, new.y)
    assert panel.figure.layout.title.text == fresh.figure.layout.title.text


def test_norm_growth_panel_weight_decay_moves_only_the_decayed_run():
    panel = NormGrowthPanel(steps=30)
    plain = [np.array(t.y) for t in panel.figure.data[:4]]
    decayed = np.array(panel.figure.data[4].y)
    panel.controls["weight_decay"].value = 0.03
    assert all(np.array_equal(t.y, p) for t, p in zip(panel.figure.data[:4], plain))
    assert not np.array_equal(panel.figure.data[4].y, decayed)


def test_gain_panel_input_scale_moves_only_the_unnormalized_model():
    panel = GainLearningPanel(steps=20)
    normed_run = np.array(panel.figure.data[5].y)
    plain_run = np.array(panel.figure.data[4].y)
    panel.controls["scale"].value = 10.0
    assert np.allclose(panel.figure.data[5].y, normed_run, rtol=1e-6)
    assert len(panel.figure.data[4].y) != len(plain_run)  # it diverged and stopped early
    assert list(panel.figure.data[2].x) == [10.0]
