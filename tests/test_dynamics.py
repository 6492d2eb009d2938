"""The numbers behind notebook 3 and the claims it makes about them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lnviz
from lnviz import dynamics as D
from lnviz import figures

#: The corners and the centre (the default) of the notebook's sliders: spectral radius, input scale.
SLIDER_POINTS = ((0.5, 0.01), (0.5, 10.0), (1.0, 1.0), (2.0, 0.01), (2.0, 10.0))


@pytest.fixture(scope="module")
def lstm_grid():
    """LSTM runs at SLIDER_POINTS."""
    return {
        (rho, scale): D.simulate_all(kind="lstm", spectral_radius=rho, input_scale=scale, length=100)
        for rho, scale in SLIDER_POINTS
    }


def test_spectral_radius_is_what_it_says():
    cell = D.make_cell("lstm", "none", 1.7, hidden_size=16)
    for block in cell.weight_hh.detach().double().chunk(4):
        assert torch.allclose(torch.linalg.eigvals(block).abs(), torch.full((16,), 1.7, dtype=torch.float64), atol=1e-5)


def test_the_three_variants_share_weights_and_biases_whatever_the_global_random_state():
    cells = []
    for k, norm in enumerate(D.NORMS):
        torch.manual_seed(k)  # a different global state for each: it must not matter
        cells.append(D.make_cell("gru", norm, 1.0, max_steps=5))
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        assert all(torch.equal(getattr(c, name), getattr(cells[0], name)) for c in cells)
    torch.manual_seed(99)
    again = D.simulate(kind="lstm", norm="layer", length=50)
    torch.manual_seed(7)
    assert np.array_equal(again.grad_norm, D.simulate(kind="lstm", norm="layer", length=50).grad_norm)


def test_layer_norm_fixes_the_forward_scale(lstm_grid):
    """LN-LSTM: hidden norm near 2.8 and gate-input spread near sqrt(2) everywhere; plain LSTM: the hidden
    norm ranges from about 0.5 to 3.2 and the gates' input spread from 0.1 to 10; recurrent batch norm's
    gate-input spread stays near 0.17."""

    def settled(norm, attribute):
        return [getattr(r[norm], attribute)[-20:].mean() for r in lstm_grid.values()]

    ln_h, ln_spread = settled("layer", "hidden_norm"), settled("layer", "normalized_std")
    plain_h, plain_spread = settled("none", "hidden_norm"), settled("none", "normalized_std")
    bn_spread = settled("batch", "normalized_std")
    assert min(ln_h) > 2.5 and max(ln_h) < 3.0
    assert min(ln_spread) > 1.3 and max(ln_spread) < 1.5
    assert min(plain_h) == pytest.approx(0.5, abs=0.05) and max(plain_h) == pytest.approx(3.2, abs=0.1)
    assert min(plain_spread) == pytest.approx(0.1, abs=0.02) and max(plain_spread) == pytest.approx(10, rel=0.1)
    assert min(bn_spread) > 0.15 and max(bn_spread) < 0.19


def test_plain_lstm_gradient_vanishes_and_layer_norm_lstm_does_not(lstm_grid):
    for rho in (0.5, 1.0):
        run = D.simulate(kind="lstm", norm="none", spectral_radius=rho, input_scale=1.0, length=100)
        assert run.grad_norm[0] < 1e-8
    for runs in lstm_grid.values():
        grad = runs["layer"].grad_norm
        assert grad.min() > 0.6 and grad[0] > 1.0  # never below about 0.65; grows slowly going back


def test_layer_norm_lstm_gradient_grows_1_to_2_percent_per_step_to_20_to_several_hundred_over_300_steps():
    growth = []
    for rho, scale in SLIDER_POINTS:
        grad = D.simulate(kind="lstm", norm="layer", spectral_radius=rho, input_scale=scale, length=300).grad_norm
        assert grad.min() > 0.6
        growth.append(grad[0])
        assert 1.0095 < (grad[0] / grad[-1]) ** (1 / 299) < 1.025  # per step, on average
    assert min(growth) == pytest.approx(20, rel=0.1) and 300 < max(growth) < 1000


def test_vanilla_rnn_explodes_or_vanishes_without_normalization():
    explode = D.simulate(kind="rnn", norm="none", spectral_radius=2.0, input_scale=0.1, length=100)
    vanish = D.simulate(kind="rnn", norm="none", spectral_radius=0.5, input_scale=0.1, length=100)
    assert explode.grad_norm[0] > 1e3 and vanish.grad_norm[0] < 1e-10


def test_exercise_1_layer_norm_steadies_the_forward_scale_not_the_gradient_through_time():
    """The numbers exercise 1 quotes for the LN RNN."""
    vanish = D.simulate(kind="rnn", norm="layer", spectral_radius=1.0, input_scale=1.0, length=100)
    grow = D.simulate(kind="rnn", norm="layer", spectral_radius=0.5, input_scale=0.01, length=300)
    assert vanish.grad_norm[-91] < 1e-20 and vanish.grad_norm[0] == 0  # 90 steps back; float32 underflow at 100
    assert grow.grad_norm[0] > 1e10
    for run in (vanish, grow):  # while what tanh receives keeps a spread of 1 (at t = 0, h = 0 and a tiny
        assert np.allclose(run.normalized_std[1:], 1.0, atol=0.01)  # input's sigma^2 is near eps: 0.94)


def test_animation_claims():
    runs = D.simulate_all(kind="rnn", spectral_radius=1.5, input_scale=0.1, length=60)
    plain, bn, ln = (runs[n].normalized_std for n in D.NORMS)
    assert plain[0] == pytest.approx(0.13, abs=0.01)
    assert plain[10] > 4 * plain[0]  # the plain RNN's spread grows over the first ten steps
    assert np.ptp(plain[20:]) < 0.05 * plain[-1]  # until tanh's saturation stops the growth
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
    half = D.batch_norm_step_statistics(14)  # the panel's default
    assert half.mismatch[-4:].mean() > 3 * half.mismatch[14:18].mean()  # grows as the rows stop resembling row 13
    assert half.mismatch_after == pytest.approx(half.mismatch[14:].mean()) and full.mismatch_after is None
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


def test_gradient_figure_leaves_gaps_where_the_gradient_is_exactly_zero_and_says_so():
    runs = D.simulate_all(kind="rnn", spectral_radius=1.0, input_scale=1.0, length=100)
    fig = figures.dynamics_figure(runs)
    grads = fig.data[9:12]  # the fourth curve, one trace per norm
    for norm, trace in zip(D.NORMS, grads):
        true = runs[norm].grad_norm
        drawn = np.array(trace.y, dtype=float)
        assert np.array_equal(np.isnan(drawn), true == 0)  # a gap exactly where the gradient underflowed
        assert np.array_equal(drawn[true > 0], true[true > 0])  # everything else as computed
    assert "exactly 0" in fig.data[-1].text[0]
    quiet = figures.dynamics_figure(D.simulate_all(kind="lstm", length=20))
    assert not quiet.data[-1].text  # no gap, no note


def test_coinciding_curves_are_named_and_told_apart_without_colour():
    runs = D.simulate_all(kind="lstm", spectral_radius=1.0, input_scale=10.0, length=100)
    summed = [runs[n].summed_std for n in D.NORMS]
    span = max(s.max() for s in summed)
    assert all(np.abs(s - summed[0]).max() < 0.02 * span for s in summed)  # they do lie on top of each other
    fig = figures.dynamics_figure(runs)
    assert fig.data[12].text == ("all three curves coincide",)  # the note of the first subplot
    assert not fig.data[14].text  # the gates' input: layer norm 1.4, batch norm 0.17, none 10: apart
    styles = {(t.line.dash, t.marker.symbol) for t in fig.data[:3]}
    assert len(styles) == 3


def test_mismatch_axis_holds_the_curve_and_the_title_reads_the_record():
    for length in (1, 14, 28):
        stats = D.batch_norm_step_statistics(length)
        fig = figures.step_statistics_figure(stats)
        top = fig.layout.yaxis2.range[1]
        assert stats.mismatch.max() < top and top >= 1.0
        title = fig.layout.title.text
        assert ("for 1 step;" in title) == (length == 1) and f"for {length} step" in title
        if stats.mismatch_after is None:
            assert "every test step has statistics of its own" in title
        else:
            assert f"{stats.mismatch_after:.2f} std" in title


def test_exercise_3_runs_as_written_and_gain_1_saturates_where_gain_0_1_does_not():
    x = torch.randn(32, 60, 16, generator=torch.Generator().manual_seed(0))
    saturation = {}
    for gain in (0.1, 1.0):
        cell = D.make_cell("rnn", "batch", 1.5, max_steps=60)
        with torch.no_grad():
            cell.bn.weight.fill_(gain)
            _, _, trace = lnviz.Recurrent(cell)(x, record=True)
        saturation[gain] = trace.saturation.mean().item()
    assert saturation[0.1] < 0.01 < saturation[1.0]
