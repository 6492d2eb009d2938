"""Notebook 08: RMS norm, the tiny Transformer with post-LN and pre-LN, the eps conventions, their
figures and panels, and the claims the notebook makes about them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lnviz import after2016 as A
from lnviz import invariance
from lnviz.figures import after2016 as figs
from lnviz.nn.norms import LayerNorm, RMSNorm
from lnviz.nn.transformer import TinyTransformer, TransformerBlock, causal_mask
from lnviz.panels.after2016 import EpsConventionPanel, NormPositionPanel, RecenteringPanel

# ---------------------------------------------------------------------------------------------------
# The row pattern
# ---------------------------------------------------------------------------------------------------


def test_pattern_has_mean_zero_and_std_one_and_depends_on_the_seed():
    a = A.pattern(16, seed=3)
    assert a.shape == (16,)
    assert abs(a.mean().item()) < 1e-15
    assert a.var(unbiased=False).sqrt().item() == pytest.approx(1.0, abs=1e-14)
    assert torch.equal(a, A.pattern(16, seed=3))
    assert not torch.equal(a, A.pattern(16, seed=4))


def test_pattern_rejects_fewer_than_two_units():
    with pytest.raises(ValueError, match="n_hidden"):
        A.pattern(1)


# ---------------------------------------------------------------------------------------------------
# RMS norm does not re-center (section 8.1)
# ---------------------------------------------------------------------------------------------------


def test_zero_mean_row_gives_the_same_output_under_layer_and_rms_norm():
    rec = A.recentering(shift=0.0)
    torch.testing.assert_close(rec.rms, rec.layer)
    assert rec.rms_change < 1e-12


@pytest.mark.parametrize("scale", [0.1, 3.0, 10.0])
def test_scaling_the_row_moves_neither_output(scale):
    rec = A.recentering(shift=0.0, scale=scale)
    assert rec.layer_change < 1e-12 and rec.rms_change < 1e-12


@pytest.mark.parametrize("shift", [-5.0, 0.5, 2.0])
def test_shifting_the_row_moves_rms_norm_only(shift):
    rec = A.recentering(shift=shift, scale=2.0)
    assert rec.layer_change < 1e-12
    assert rec.rms_change > 0.05
    # RMS(a)^2 = mu^2 + sigma^2: the output by hand, from the shifted row's own statistics
    mu, sigma = rec.a.mean(), rec.a.var(unbiased=False).sqrt()
    torch.testing.assert_close(rec.rms, rec.a / torch.sqrt(mu**2 + sigma**2))


def test_a_large_shift_flattens_rms_norm_output_to_its_sign():
    for shift in (-1e3, 1e3):
        rec = A.recentering(shift=shift)
        assert (rec.rms - math.copysign(1.0, shift)).abs().max().item() < 1e-2
    assert A.recentering(50.0).rms_change > A.recentering(5.0).rms_change > A.recentering(0.5).rms_change


def test_recentering_rejects_a_nonpositive_scale():
    with pytest.raises(ValueError, match="scale > 0"):
        A.recentering(1.0, scale=0.0)


def test_table_1_rms_row_loses_only_the_weight_matrix_recentering_of_layer_norm():
    table = invariance.table()
    differs = [t for t in invariance.TRANSFORMATIONS if table["rms"][t] != table["layer"][t]]
    assert differs == ["weight_matrix_recentering"]
    assert table["layer"]["weight_matrix_recentering"] and not table["rms"]["weight_matrix_recentering"]


# ---------------------------------------------------------------------------------------------------
# RMS norm's speed: the race is fair (no timing assertions here)
# ---------------------------------------------------------------------------------------------------


def test_each_pair_computes_the_same_gradients_torch_and_written_out():
    runs = {name: fn() for name, fn in A.forward_backward_contenders(8, 32, seed=1).items()}
    for torch_name, ours_name in zip(A.SPEED_PAIRS["torch"], A.SPEED_PAIRS["written out"], strict=True):
        for g_torch, g_ours in zip(runs[torch_name], runs[ours_name], strict=True):
            torch.testing.assert_close(g_ours, g_torch, atol=1e-5, rtol=1e-5)
    assert len(runs["F.layer_norm"]) == 3 and len(runs["F.rms_norm"]) == 2  # x, gain (, bias)


def test_race_interleaves_every_contender_once_per_round():
    calls: list[str] = []
    contenders = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = A.race(contenders, rounds=5, seed=2)
    assert {name: len(ts) for name, ts in times.items()} == {"a": 5, "b": 5, "c": 5}
    assert all(t >= 0 for ts in times.values() for t in ts)
    timed = calls[6:]  # two warm-up calls each come first
    rounds = [timed[i : i + 3] for i in range(0, 15, 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1, "the order must change between rounds"


def test_race_rejects_zero_rounds():
    with pytest.raises(ValueError, match="rounds"):
        A.race({"a": lambda: None}, rounds=0)


def test_per_round_ratio_is_the_median_of_ratios_not_the_ratio_of_medians():
    times = {"rms": [1.0, 2.0, 9.0], "layer": [1.0, 4.0, 3.0]}  # ratios 1, 0.5, 3
    assert A.per_round_ratio(times, "rms", "layer") == 1.0
    assert np.median(times["rms"]) / np.median(times["layer"]) != 1.0


def test_speed_ratios_report_every_pair():
    ratios = A.speed_ratios(n_cases=4, hidden=16, rounds=3)
    assert set(ratios) == set(A.SPEED_PAIRS)
    assert all(math.isfinite(r) and r > 0 for r in ratios.values())


# ---------------------------------------------------------------------------------------------------
# The tiny Transformer
# ---------------------------------------------------------------------------------------------------


def _randomize_norms(block: TransformerBlock, seed: int = 0) -> None:
    """Gains and biases away from 1 and 0, so that norm1 and norm2 can be told apart."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for norm in (block.norm1, block.norm2):
            for p in norm.parameters():
                p.copy_(1 + 0.5 * torch.randn(p.shape, generator=gen))


def _attention(block: TransformerBlock, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return block.self_attn(x, x, x, attn_mask=mask, need_weights=False)[0]


def _ffn(block: TransformerBlock, x: torch.Tensor) -> torch.Tensor:
    return block.linear2(torch.relu(block.linear1(x)))


def _ln(norm: LayerNorm, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)


@pytest.mark.parametrize("norm_position", ["post", "pre"])
@pytest.mark.parametrize("norm", ["layer", "rms"])
def test_block_keeps_the_shape(norm_position, norm):
    block = TransformerBlock(16, 4, 32, norm_position, norm)
    x = torch.randn(3, 5, 16)
    assert block(x).shape == (3, 5, 16)
    assert block(x, causal_mask(5)).shape == (3, 5, 16)
    assert isinstance(block.norm1, LayerNorm if norm == "layer" else RMSNorm)


def test_pre_ln_block_is_x_plus_f_of_ln_x():
    torch.manual_seed(0)
    block = TransformerBlock(16, 4, 32, "pre")
    _randomize_norms(block)
    x, mask = torch.randn(2, 6, 16), causal_mask(6)
    h = x + _attention(block, _ln(block.norm1, x), mask)
    expected = h + _ffn(block, _ln(block.norm2, h))
    torch.testing.assert_close(block(x, mask), expected)


def test_post_ln_block_is_ln_of_x_plus_f_of_x():
    torch.manual_seed(0)
    block = TransformerBlock(16, 4, 32, "post")
    _randomize_norms(block)
    x, mask = torch.randn(2, 6, 16), causal_mask(6)
    h = _ln(block.norm1, x + _attention(block, x, mask))
    expected = _ln(block.norm2, h + _ffn(block, h))
    torch.testing.assert_close(block(x, mask), expected)


def test_rms_block_normalizes_by_the_root_mean_square():
    torch.manual_seed(0)
    block = TransformerBlock(16, 4, 32, "pre", "rms")
    x = torch.randn(2, 6, 16)

    def rms(norm: RMSNorm, v: torch.Tensor) -> torch.Tensor:
        return v / v.pow(2).mean(-1, keepdim=True).add(torch.finfo(v.dtype).eps).sqrt() * norm.weight

    h = x + _attention(block, rms(block.norm1, x), None)
    torch.testing.assert_close(block(x), h + _ffn(block, rms(block.norm2, h)))


@pytest.mark.parametrize("norm_position", ["post", "pre"])
def test_block_computes_what_torch_transformer_encoder_layer_computes(norm_position):
    torch.manual_seed(1)
    block = TransformerBlock(16, 4, 32, norm_position)
    _randomize_norms(block, seed=1)
    reference = torch.nn.TransformerEncoderLayer(
        16, 4, 32, dropout=0.0, batch_first=True, norm_first=norm_position == "pre"
    )
    reference.load_state_dict(block.state_dict())  # same names, same shapes
    x, mask = torch.randn(2, 7, 16), causal_mask(7)
    torch.testing.assert_close(block(x, mask), reference(x, src_mask=mask), atol=1e-5, rtol=1e-5)


def test_block_initialization_is_xavier_uniform_with_zero_biases():
    block = TransformerBlock(64, 4, 256)
    bound = math.sqrt(6 / (64 + 256))
    w = block.linear1.weight
    assert w.abs().max().item() <= bound
    assert w.var().item() == pytest.approx(bound**2 / 3, rel=0.1)
    assert all(
        b.abs().max().item() == 0
        for b in (block.linear1.bias, block.linear2.bias, block.self_attn.in_proj_bias, block.self_attn.out_proj.bias)
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(d_model=10, n_heads=4, d_ff=8), "divisible"),
        (dict(d_model=8, n_heads=2, d_ff=8, norm_position="middle"), "norm_position"),
        (dict(d_model=8, n_heads=2, d_ff=8, norm="batch"), "norm must be one of"),
        (dict(d_model=8, n_heads=2, d_ff=0), "d_ff"),
    ],
)
def test_block_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TransformerBlock(**kwargs)


def test_tiny_transformer_shapes_and_final_norm():
    tokens = torch.randint(11, (3, 9))
    for position, has_final in (("post", False), ("pre", True)):
        model = TinyTransformer(2, 16, 4, 32, 11, position)
        assert model(tokens).shape == (3, 9, 11)
        assert (model.final_norm is not None) == has_final
        assert all(block.norm_position == position for block in model.blocks)


def test_tiny_transformer_is_causal():
    torch.manual_seed(0)
    model = TinyTransformer(2, 16, 4, 32, 11, "pre")
    tokens = torch.randint(11, (2, 8))
    changed = tokens.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 11
    torch.testing.assert_close(model(changed)[:, :-1], model(tokens)[:, :-1])
    assert not torch.allclose(model(changed)[:, -1], model(tokens)[:, -1])


def test_tiny_transformer_rejects_float_tokens_and_zero_layers():
    model = TinyTransformer(1, 8, 2, 16, 5)
    with pytest.raises(ValueError, match="int64"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="n_layers"):
        TinyTransformer(0, 8, 2, 16, 5)


# ---------------------------------------------------------------------------------------------------
# Gradient norms per layer at initialization (section 8.2)
# ---------------------------------------------------------------------------------------------------


def test_layer_gradient_norms_match_backward_by_hand():
    torch.manual_seed(0)
    model = TinyTransformer(3, 16, 4, 32, 13, "post")
    tokens = A.random_tokens(4, 6, 13, seed=0)
    norms = A.layer_gradient_norms(model, tokens)
    logits = model(tokens[:, :-1])
    F.cross_entropy(logits.reshape(-1, 13), tokens[:, 1:].reshape(-1)).backward()
    by_hand = [math.sqrt(b.linear1.weight.grad.pow(2).sum() + b.linear2.weight.grad.pow(2).sum()) for b in model.blocks]
    assert norms.shape == (3,)
    np.testing.assert_allclose(norms.numpy(), by_hand, rtol=1e-5)


def test_gradient_profile_is_seeded_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    first = A.gradient_profile(3, 16, "pre", seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    torch.testing.assert_close(A.gradient_profile(3, 16, "pre", seed=5), first)
    assert not torch.allclose(A.gradient_profile(3, 16, "pre", seed=6), first)


@pytest.mark.parametrize("kwargs", [dict(norm_position="mid"), dict(norm="group")])
def test_gradient_profile_rejects_unknown_choices(kwargs):
    args = dict(n_layers=2, d_model=16, norm_position="post", norm="layer") | kwargs
    with pytest.raises(ValueError, match="must be one of"):
        A.gradient_profile(**args)


def test_claim_post_ln_gradients_grow_towards_the_output_and_pre_ln_do_not():
    """The notebook's table: 12 layers of width 32, five initializations."""
    growths = A.growth_by_seed(12, 32)
    assert all(g > 1 for g in growths["post"]), growths
    assert all(0.3 < g < 1 for g in growths["pre"]), growths


def test_claim_at_12_layers_post_ln_last_layer_gets_two_to_six_times_pre_lns():
    """8.2: for the five initializations the notebook prints, post-LN's last layer gets about two to six
    times pre-LN's gradient, and pre-LN's last layer about half its first's."""
    for seed in range(5):
        profiles = A.gradient_profiles(12, 32, "layer", seed)
        assert 2 < (profiles.post[-1] / profiles.pre[-1]).item() < 6, seed
        assert 0.35 < A.growth(profiles.pre) < 0.65, seed


@pytest.mark.parametrize("n_layers, d_model, norm", [(6, 16, "layer"), (8, 64, "layer"), (12, 32, "rms")])
def test_claim_post_ln_grows_more_than_pre_ln_for_every_seed(n_layers, d_model, norm):
    growths = A.growth_by_seed(n_layers, d_model, norm, seeds=(0, 1, 2))
    assert all(post > pre for post, pre in zip(growths["post"], growths["pre"])), growths


def test_claim_the_last_layer_gap_opens_with_depth():
    """Xiong et al.'s Theorem 1: post-LN's last-layer gradient does not shrink with L, pre-LN's does."""
    for seed in (0, 1, 2):
        last = {(n, p): A.gradient_profile(n, 32, p, seed=seed)[-1].item() for n in (2, 12) for p in ("post", "pre")}
        assert last[12, "pre"] < last[2, "pre"]
        assert last[12, "post"] > last[2, "post"]
        assert last[12, "post"] / last[12, "pre"] > 1.8
        assert last[12, "post"] / last[12, "pre"] > 1.5 * last[2, "post"] / last[2, "pre"]
        assert last[2, "post"] / last[2, "pre"] < 1.5, "at 2 layers post-LN gets hardly more than pre-LN"


# ---------------------------------------------------------------------------------------------------
# Where eps goes (section 8.3)
# ---------------------------------------------------------------------------------------------------


def test_torch_convention_is_f_layer_norm():
    x = torch.randn(4, 16) * 1e-3
    torch.testing.assert_close(A.normalize(x, "torch"), F.layer_norm(x, (16,)))


@pytest.mark.parametrize("variance", [1e-8, 1e-6, 1e-4, 1e-2, 1.0])
def test_output_std_follows_each_conventions_formula(variance):
    comparison = A.eps_comparison(variance)
    s = math.sqrt(variance)
    expected = {
        "torch": s / math.sqrt(variance + 1e-5),
        "keras": s / math.sqrt(variance + 1e-3),
        "lua": s / (s + 1e-5),
        "none": 1.0,
    }
    for name, std in expected.items():
        assert comparison.stds[name] == pytest.approx(std, rel=1e-3), name
        assert A.output_std(comparison.outputs[name]).item() == comparison.stds[name]


def test_claim_keras_gives_up_first_then_torch_then_lua():
    variances = torch.logspace(-8, -1, 15)
    stds = A.variance_sweep(variances)
    assert torch.all(stds["keras"] < stds["torch"]) and torch.all(stds["torch"] < stds["lua"])
    assert torch.all(stds["lua"] < stds["none"] + 1e-6)
    torch.testing.assert_close(stds["none"], torch.ones(15, dtype=torch.float64), atol=1e-5, rtol=0)
    for std in stds.values():
        assert torch.all(std[1:] >= std[:-1] - 1e-6), "output std must not fall as the variance grows"
    # at the slider's end, 1e-8: torch about 0.03, Keras about 0.003, Lua 0.91
    at_min = A.eps_comparison(1e-8).stds
    assert at_min["keras"] < 0.01 < at_min["torch"] < 0.05 and at_min["lua"] == pytest.approx(0.909, abs=0.005)


def test_claim_lua_gives_up_where_sigma_nears_its_eps():
    assert A.eps_comparison(1e-10).stds["lua"] == pytest.approx(0.5, abs=0.01)


def test_claim_a_constant_row_gives_nan_without_eps_and_zero_with_it():
    zero_row, flat_row = torch.zeros(1, 8), torch.full((1, 8), 0.1)
    assert torch.isnan(A.normalize(zero_row, "none")).all()
    for name in ("torch", "keras", "lua"):
        assert torch.equal(A.normalize(zero_row, name), torch.zeros(1, 8))
        assert A.normalize(flat_row, name).abs().max().item() < 1e-2
    # without eps the rounding error of the mean is blown up to +-1 (or 0/0 if the mean came out exact)
    flat = A.normalize(flat_row, "none")
    assert torch.isnan(flat).all() or torch.allclose(flat.abs(), torch.ones(1, 8))
    # the Lua convention shrinks that rounding error least
    shrunk = {name: A.normalize(flat_row, name).abs().max().item() for name in ("torch", "keras", "lua")}
    assert shrunk["keras"] <= shrunk["torch"] <= shrunk["lua"]


def test_small_variance_row_has_the_variance_asked_for():
    row = A.small_variance_row(1e-6)
    assert row.dtype == torch.float32
    assert row.double().var(unbiased=False).item() == pytest.approx(1e-6, rel=1e-5)
    with pytest.raises(ValueError, match="variance >= 0"):
        A.small_variance_row(-1.0)


def test_normalize_rejects_an_unknown_convention():
    with pytest.raises(ValueError, match="convention must be one of"):
        A.normalize(torch.ones(2, 3), "jax")


# ---------------------------------------------------------------------------------------------------
# Figure builders
# ---------------------------------------------------------------------------------------------------


def test_recentering_figure_shows_the_row_and_both_outputs():
    rec = A.recentering(2.0, 0.5)
    fig = figs.recentering_figure(rec)
    assert len(fig.data) == 3
    for trace, values in zip(fig.data, (rec.a, rec.layer, rec.rms)):
        np.testing.assert_allclose(trace.y, values.numpy())
    title = fig.layout.title.text
    assert "shift c = +2.00, scale 0.50" in title and rec.layer_change < 1e-9
    assert f"layer norm's output did not move; RMS norm's moved by {100 * rec.rms_change:.2g}%" in title
    other = A.recentering(-1.0, 0.5)
    figs.apply(fig, figs.recentering_update(other))
    np.testing.assert_allclose(fig.data[2].y, other.rms.numpy())


def test_gradient_norms_figure_puts_post_and_pre_side_by_side():
    post, pre = torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 0.8, 0.5])
    fig = figs.gradient_norms_figure(A.GradientProfiles("layer", post, pre))
    assert [t.xaxis for t in fig.data] == ["x", "x2"]
    np.testing.assert_allclose(fig.data[0].y, post.numpy())
    np.testing.assert_allclose(fig.data[1].y, pre.numpy())
    assert list(fig.data[0].x) == [1, 2, 3]
    # bars from zero on a linear scale, on both sides (shared): a bar's length is its value
    assert fig.layout.yaxis.type in (None, "linear") and fig.layout.yaxis.rangemode == "tozero"
    assert fig.layout.yaxis2.matches == "y"
    assert "W₁, W₂" in fig.layout.yaxis.title.text
    title = fig.layout.title.text
    assert "4.00 post-LN" in title and "0.50 pre-LN" in title and "8.0x" in title


def test_gradient_profiles_are_post_and_pre_ln_from_one_seed():
    profiles = A.gradient_profiles(2, 16, "rms", seed=3)
    assert profiles.norm == "rms"
    torch.testing.assert_close(profiles.post, A.gradient_profile(2, 16, "post", "rms", seed=3))
    torch.testing.assert_close(profiles.pre, A.gradient_profile(2, 16, "pre", "rms", seed=3))


def test_eps_figure_marks_each_conventions_std_at_the_current_variance():
    variances = torch.logspace(-9, 1, 11, dtype=torch.float64)
    view = A.eps_view(1e-6, variances)
    comparison, curves = view.comparison, view.curves
    assert comparison.stds == A.eps_comparison(1e-6).stds
    for name, curve in A.variance_sweep(variances).items():
        torch.testing.assert_close(curves[name], curve)
    fig = figs.eps_conventions_figure(view)
    n = len(A.CONVENTIONS)
    assert len(fig.data) == 2 * n + 1
    marker = fig.data[-1]
    assert list(marker.x) == [1e-6] * n
    np.testing.assert_allclose(marker.y, [comparison.stds[name] for name in A.CONVENTIONS])
    for trace, name in zip(fig.data[:n], A.CONVENTIONS):
        np.testing.assert_allclose(trace.y, comparison.outputs[name].numpy())
    for trace, name in zip(fig.data[n : 2 * n], A.CONVENTIONS):
        np.testing.assert_allclose(trace.y, curves[name].numpy())
    assert fig.layout.xaxis2.type == "log"


# ---------------------------------------------------------------------------------------------------
# Panels: behaviour specific to these panels (the generic checks live in test_panels.py)
# ---------------------------------------------------------------------------------------------------


def test_recentering_panel_shift_moves_rms_norm_only_and_scale_moves_neither():
    panel = RecenteringPanel()
    layer, rms = list(panel.figure.data[1].y), list(panel.figure.data[2].y)
    panel.controls["scale"].value = 5.0
    np.testing.assert_allclose(panel.figure.data[1].y, layer, atol=1e-12)
    np.testing.assert_allclose(panel.figure.data[2].y, rms, atol=1e-12)
    panel.controls["shift"].value = 3.0
    np.testing.assert_allclose(panel.figure.data[1].y, layer, atol=1e-12)
    assert np.abs(np.asarray(panel.figure.data[2].y) - rms).max() > 0.1


@pytest.mark.parametrize("shift", [-3.0, 1.0])
def test_scaling_a_shifted_row_moves_neither_output_either(shift):
    """8.1: "The scale moves neither output", at the shift the panel starts with too: it multiplies
    every a_i, the shift included."""
    plain = A.recentering(shift, 1.0)
    for scale in (0.1, 10.0):
        rec = A.recentering(shift, scale)
        torch.testing.assert_close(rec.a, scale * plain.a)
        torch.testing.assert_close(rec.layer, plain.layer)
        torch.testing.assert_close(rec.rms, plain.rms)


def test_recentering_panel_starts_where_layer_norm_and_rms_norm_differ():
    """8.1: the panel opens on a shift, so the figure shows RMS norm moving and layer norm not; at
    shift 0 (the pattern has mean 0) the two outputs coincide."""
    panel = RecenteringPanel()
    assert panel.controls["shift"].value != 0
    layer, rms = np.asarray(panel.figure.data[1].y), np.asarray(panel.figure.data[2].y)
    np.testing.assert_allclose(layer, A.pattern(16, 0).numpy(), atol=1e-12)
    assert np.abs(rms - layer).max() > 0.3
    assert "layer norm's output did not move; RMS norm's moved by" in panel.figure.layout.title.text
    panel.controls["shift"].value = 0.0
    np.testing.assert_allclose(panel.figure.data[2].y, panel.figure.data[1].y, atol=1e-12)
    assert "RMS norm's did not move" in panel.figure.layout.title.text


def test_norm_position_panel_acts_on_release_and_computes_each_setting_once(monkeypatch):
    calls = []
    real = A.gradient_profile

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(A, "gradient_profile", counting)
    panel = NormPositionPanel(n_layers=3, d_model=16)
    assert all(not c.continuous_update for k, c in panel.controls.items() if k != "norm")
    assert len(calls) == 2 and len(panel.figure.data[0].y) == 3
    panel.controls["n_layers"].value = 4
    assert len(calls) == 4 and list(panel.figure.data[1].x) == [1, 2, 3, 4]
    panel.controls["n_layers"].value = 3
    assert len(calls) == 4, "a setting seen before must come from the cache"


def test_eps_panel_at_the_smallest_variance_shows_no_eps_at_one_and_keras_near_zero():
    panel = EpsConventionPanel()
    panel.controls["variance"].value = 1e-8
    names = list(A.CONVENTIONS)
    marker = dict(zip(names, panel.figure.data[-1].y))
    assert marker["none"] == pytest.approx(1.0, abs=1e-4) and marker["keras"] < 0.01
    assert "1e-08" in panel.figure.layout.title.text
