"""The numbers behind notebook 3 and the claims it makes about them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lnviz import dynamics as D
from lnviz import figures


@pytest.fixture(scope="module")
def lstm_grid():
    """LSTM runs at the corners of the notebook's sliders: spectral radius 0.5 / 2, input scale 0.01 / 10."""
    return {
        (rho, scale): D.simulate_all(kind="lstm", spectral_radius=rho, input_scale=scale, length=100)
        for rho in (0.5, 2.0)
        for scale in (0.01, 10.0)
    }


def test_spectral_radius_is_what_it_says():
    cell = D.make_cell("lstm", "none", 1.7, hidden_size=16)
    for block in cell.weight_hh.detach().double().chunk(4):
        assert torch.allclose(torch.linalg.eigvals(block).abs(), torch.full((16,), 1.7, dtype=torch.float64), atol=1e-5)


def test_the_three_variants_share_weights():
    cells = [D.make_cell("gru", norm, 1.0, max_steps=5) for norm in D.NORMS]
    for name in ("weight_ih", "weight_hh"):
        assert all(torch.equal(getattr(c, name), getattr(cells[0], name)) for c in cells)


def test_layer_norm_fixes_the_forward_scale(lstm_grid):
    """LN-LSTM: hidden norm near 2.8 and gate-input spread near sqrt(2) everywhere;
    plain LSTM: both follow the input."""
    ln_h = [r["layer"].hidden_norm[-20:].mean() for r in lstm_grid.values()]
    ln_spread = [r["layer"].normalized_std[-20:].mean() for r in lstm_grid.values()]
    plain_h = [r["none"].hidden_norm[-20:].mean() for r in lstm_grid.values()]
    plain_spread = [r["none"].normalized_std[-20:].mean() for r in lstm_grid.values()]
    assert min(ln_h) > 2.5 and max(ln_h) < 3.0
    assert min(ln_spread) > 1.3 and max(ln_spread) < 1.5
    assert max(plain_h) / min(plain_h) > 4
    assert max(plain_spread) / min(plain_spread) > 30


def test_plain_lstm_gradient_vanishes_and_layer_norm_lstm_does_not(lstm_grid):
    for rho in (0.5, 1.0):
        run = D.simulate(kind="lstm", norm="none", spectral_radius=rho, input_scale=1.0, length=100)
        assert run.grad_norm[0] < 1e-8
    for runs in lstm_grid.values():
        grad = runs["layer"].grad_norm
        assert grad.min() > 0.5 and grad[0] > 1.0  # never vanishes; grows slowly going back


def test_vanilla_rnn_explodes_or_vanishes_without_normalization():
    explode = D.simulate(kind="rnn", norm="none", spectral_radius=2.0, input_scale=0.1, length=100)
    vanish = D.simulate(kind="rnn", norm="none", spectral_radius=0.5, input_scale=0.1, length=100)
    assert explode.grad_norm[0] > 1e3 and vanish.grad_norm[0] < 1e-10


def test_animation_claims():
    runs = D.simulate_all(kind="rnn", spectral_radius=1.5, input_scale=0.1, length=60)
    plain, bn, ln = (runs[n].normalized_std for n in D.NORMS)
    assert plain[0] < 0.2 and plain[10] > 4 * plain[0]  # the plain RNN's spread grows over the first steps
    assert np.allclose(ln, 1.0, atol=0.01)  # layer norm: 1 at every step
    assert np.allclose(bn, 0.1, atol=0.01)  # batch norm: its gain


def test_gradient_norm_is_one_at_the_last_step_and_histograms_are_fractions():
    run = D.simulate(kind="gru", norm="layer", length=12)
    assert run.grad_norm[-1] == pytest.approx(1.0, rel=1e-5)
    assert np.allclose(run.histograms.sum(1), 1.0)
    assert run.histograms.shape == (12, len(D.HISTOGRAM_EDGES) - 1)


def test_step_statistics_run_out_after_the_training_length():
    short, full = D.batch_norm_step_statistics(4), D.batch_norm_step_statistics(28)
    assert short.running_std.shape == (4,) and full.running_std.shape == (28,)
    assert short.mismatch[8:].mean() > 0.5 > 0.1 > full.mismatch.mean()
    assert np.allclose(short.used_std[4:], short.used_std[3])  # later steps borrow the last row
    # the per-step statistics follow the digits: blank top rows have a small spread
    assert full.running_std[0] < 0.5 * full.running_std[14]


def test_animation_has_a_frame_per_step_and_fixed_axes():
    runs = D.simulate_all(kind="rnn", length=30)
    fig = figures.dynamics_animation(runs)
    assert len(fig.frames) == 30 and len(fig.data) == 3
    assert list(fig.layout.sliders[0].steps[-1].args[0]) == ["29"]
    assert fig.layout.xaxis.range == (D.HISTOGRAM_EDGES[0], D.HISTOGRAM_EDGES[-1])
    assert fig.frames[5].data[D.NORMS.index("layer")].y.tolist() == runs["layer"].histograms[5].tolist()
    assert len(figures.dynamics_animation(D.simulate_all(kind="rnn", length=200), max_frames=50).frames) == 50


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: D.simulate(kind="transformer"), "kind must be one of"),
        (lambda: D.simulate(length=0), "length must be"),
        (lambda: D.make_cell("rnn", "none", 0.0), "spectral_radius must be"),
        (lambda: D.batch_norm_step_statistics(29), "train_length must be between 1 and the sequence length 28"),
    ],
)
def test_bad_input_says_what_was_expected(call, match):
    with pytest.raises(ValueError, match=match):
        call()
