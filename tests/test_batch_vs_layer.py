"""The numbers behind notebook 1, and the claims the notebook makes about them."""

from __future__ import annotations

import pytest
import torch

import lnviz
from lnviz import batch_vs_layer as bvl
from lnviz import figures


def test_pooled_entries_are_a_column_for_batch_norm_and_a_row_for_layer_norm():
    bn = bvl.pooled_mask("batch", (8, 12), case=2, unit=5)
    ln = bvl.pooled_mask("layer", (8, 12), case=2, unit=5)
    assert bn[:, 5].all() and bn.sum() == 8
    assert ln[2, :].all() and ln.sum() == 12


def test_pooled_stats_are_the_statistics_the_layers_use():
    a = bvl.summed_inputs(8, 12, seed=4)
    mean, std = bvl.pooled_stats(a, bvl.pooled_mask("layer", (8, 12), 3, 0))
    ln = lnviz.LayerNorm(12, eps=0.0, elementwise_affine=False)
    assert torch.allclose(ln(a)[3], (a[3] - mean) / std)
    mean, std = bvl.pooled_stats(a, bvl.pooled_mask("batch", (8, 12), 0, 7))
    bn = lnviz.BatchNorm(12, eps=0.0, affine=False).double()
    assert torch.allclose(bn(a)[:, 7], (a[:, 7] - mean) / std)


def test_batch_dependence_matches_batch_norm_in_training_mode():
    """The vectorized eq. (2) equals lnviz.BatchNorm run on one of the drawn mini-batches."""
    dep = bvl.batch_dependence(16, n_draws=5, seed=2)
    population, orderings = bvl._population(5, 8, 2000, 2)
    batch = torch.cat([population[:1], population[orderings[3, :15]]])
    assert len(set(orderings[3, :15].tolist())) == 15 and 0 not in orderings  # drawn from the others, once each
    bn = lnviz.BatchNorm(8).double().train()
    assert torch.allclose(dep.bn_train[3], bn(batch)[0])


def test_spread_shrinks_as_the_batch_grows():
    curve = bvl.dependence_curve((2, 8, 32, 128))
    spreads, gaps = curve.spreads, curve.gaps
    assert curve.sizes == (2, 8, 32, 128) and spreads[1] == curve.runs[8].spread
    assert spreads[0] > spreads[1] > spreads[2] > spreads[3]
    assert gaps[0] > gaps[-1]


def test_the_panels_curve_bears_out_what_to_notice():
    """1.2 over the slider's batch sizes: the spread grows as B shrinks (from B = 2 down; at B = 1 every
    output is 0), and layer norm's output does not move, whatever B, in training and in eval mode."""
    curve = bvl.dependence_curve(bvl.BATCH_SIZES)
    from_two = [s for b, s in zip(curve.sizes, curve.spreads) if b >= 2]
    assert all(a > b for a, b in zip(from_two, from_two[1:]))
    for run in curve.runs.values():
        assert run.ln_spread == 0 and run.ln_train_eval_gap == 0
        assert torch.equal(run.ln, curve.runs[curve.sizes[-1]].ln)


def test_batch_of_one_outputs_zero_and_batch_of_two_plus_minus_one():
    assert bvl.batch_dependence(1).bn_train.abs().max() == 0
    two = bvl.batch_dependence(2, eps=0.0).bn_train
    assert torch.allclose(two.abs(), torch.ones_like(two), atol=1e-12)
    with_eps = bvl.batch_dependence(2).bn_train.abs()  # eps only pulls pairs of close values below 1
    assert with_eps.max() <= 1 and with_eps.median() > 0.999


def test_layer_norm_output_is_the_same_in_every_batch_and_mode():
    a, b = bvl.batch_dependence(4), bvl.batch_dependence(128)
    assert torch.equal(a.ln, b.ln)
    x = 3 + 2 * torch.randn(4, 8)
    ln = lnviz.LayerNorm(8)
    assert torch.equal(ln.train()(x), ln.eval()(x))
    bn = lnviz.BatchNorm(8)
    assert (bn.train()(x) - bn.eval()(x)).abs().max() > 1.0


def test_torch_refuses_batch_norm_on_one_case_and_lnviz_layer_norm_does_not():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        torch.nn.BatchNorm1d(8).train()(torch.randn(1, 8))
    assert torch.isfinite(lnviz.LayerNorm(8)(torch.randn(1, 8))).all()


@pytest.mark.parametrize("gain,bias", [(1.0, 0.0), (2.5, -1.0), (-1.5, 0.7), (0.0, 2.0)])
def test_layer_norm_output_has_mean_bias_and_std_abs_gain(gain, bias):
    a = bvl.summed_inputs(1, 16, seed=3)[0]
    h = bvl.layer_norm_case(a, gain, bias, eps=0.0)
    assert h.mean().item() == pytest.approx(bias, abs=1e-12)
    assert h.std(unbiased=False).item() == pytest.approx(abs(gain), abs=1e-12)


def test_input_scale_and_shift_leave_the_output_in_place():
    """1.4: to within eps, at the ends of the panel's sliders the bars move by less than |g| / 1000."""
    a = bvl.summed_inputs(1, 16, seed=3)[0]  # the panel's case
    for gain in (-3.0, 1.3, 3.0):
        h = bvl.layer_norm_case(a, gain, 0.2)
        for scale in (0.1, 10**0.5):
            for shift in (-5.0, 5.0):
                moved = bvl.gain_bias_case(a, gain, 0.2, input_scale=scale, input_shift=shift).h
                assert (moved - h).abs().max() < abs(gain) / 1000


def test_train_eval_gap_of_section_1_3():
    """Batch norm's running mean moved 10 % of the way to the batch's mean (about 3); layer norm's gap is 0."""
    gap = bvl.train_eval_gap()
    assert gap.ln_gap == 0 and gap.bn_gap > 1
    assert torch.allclose(gap.running_mean, 0.1 * gap.batch_mean)
    assert (gap.batch_mean - 3).abs().mean() < 1.0


def test_pooled_entry_is_the_mask_and_statistics_of_its_entry():
    a = bvl.summed_inputs(8, 12, seed=1)
    p = bvl.pooled_entry(a, "layer", 3, 5)
    assert torch.equal(p.mask, bvl.pooled_mask("layer", (8, 12), 3, 5))
    assert (p.mean, p.std) == bvl.pooled_stats(a, p.mask)


def test_gain_bias_case_moves_the_input_and_normalizes_what_it_moved():
    a0 = bvl.summed_inputs(1, 16, seed=3)[0]
    case = bvl.gain_bias_case(a0, 2.0, -0.5, input_scale=3.0, input_shift=1.0)
    assert torch.equal(case.a, 3.0 * a0 + 1.0)
    assert torch.equal(case.h, bvl.layer_norm_case(case.a, 2.0, -0.5))


def test_figures_draw_the_records_they_are_given():
    a = bvl.summed_inputs(8, 12, seed=1)
    fig = figures.pooling_figure(bvl.pooled_entry(a, "batch", 2, 5))
    assert set(fig.data[1].x) == {5} and len(fig.data[1].y) == 8  # a column: unit 5 of every case
    assert "(2, 5)" in fig.layout.title.text
    curve = bvl.dependence_curve((2, 8, 32), n_draws=5)
    fig = figures.batch_dependence_figure(curve, 8)
    assert list(fig.data[-1].x) == [8, 8] and list(fig.data[-1].y) == [curve.spreads[1], curve.gaps[1]]
    run = curve.runs[8]  # the title reads the record
    assert f"spread {run.spread:.2f}" in fig.layout.title.text
    assert f"LN: {run.ln_spread:.2f} and {run.ln_train_eval_gap:.2f}" in fig.layout.title.text
    case = bvl.gain_bias_case(a[0], 1.5, 0.5)
    fig = figures.gain_bias_figure(case)
    assert list(fig.data[1].y) == case.h.tolist() and list(fig.data[2].y) == [0.5, 0.5]


def test_a_zero_bias_reads_mean_plus_zero_never_minus_zero():
    a = bvl.summed_inputs(8, 12, seed=1)
    titles = [figures.gain_bias_figure(bvl.gain_bias_case(a[i], 1.0, 0.0)).layout.title.text for i in range(8)]
    assert all("mean +0.00 = bias b" in t for t in titles), titles


@pytest.mark.parametrize(
    "call",
    [
        lambda: bvl.pooled_mask("group", (4, 4), 0, 0),
        lambda: bvl.pooled_mask("batch", (4, 4), 4, 0),
        lambda: bvl.batch_dependence(0),
        lambda: bvl.summed_inputs(0, 4),
    ],
)
def test_bad_input_says_what_was_expected(call):
    with pytest.raises(ValueError, match="must|need"):
        call()
