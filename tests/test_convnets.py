"""Notebook 7: the ConvNet, which entries each method pools, the border statistics, the figures and the
panels, and every claim the notebook makes about its default run."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from panel_examples import conv_training_example

from lnviz import convnets
from lnviz.convnets import ConvNet, border_distance, border_statistics, pooled_tiles, pooling
from lnviz.data import MNISTFallbackWarning
from lnviz.figures import convnets as cf
from lnviz.train import History

# The panels are imported inside the tests that use them: importing them at collection time would hand
# lnviz.panels.training's abstract TrainingPanel to test_panels' discovery of Panel subclasses.


def images(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def summed(n: int = 3, c: int = 8, h: int = 5, w: int = 6, seed: int = 0) -> torch.Tensor:
    """A random (N, C, H, W) array whose channels and cases have different levels and spreads."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
    scale = torch.linspace(0.5, 3, c).view(1, c, 1, 1)
    return a * scale + torch.arange(n).view(n, 1, 1, 1) + torch.arange(c).view(1, c, 1, 1)


# ----------------------------------------------------------------------------------------------------
# The net
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", convnets.METHODS)
def test_convnet_maps_images_to_logits_and_trains_every_parameter(norm):
    torch.manual_seed(0)
    model = ConvNet(norm)
    out = model(images())
    assert out.shape == (6, 10) and torch.isfinite(out).all()
    F.cross_entropy(out, torch.arange(6)).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_convolutions_have_a_bias_only_without_normalization():
    assert ConvNet("none").conv1.bias is not None and ConvNet("none").conv2.bias is not None
    for norm in ("batch", "layer", "group"):
        model = ConvNet(norm)
        assert model.conv1.bias is None and model.conv2.bias is None, norm


def test_layer_norm_has_a_gain_per_unit_and_group_norm_per_channel():
    # eq. (4): every hidden unit, i.e. every (channel, row, column), has its own gain and bias
    assert ConvNet("layer").norm1.weight.shape == (8, 28, 28)
    assert ConvNet("layer").norm2.bias.shape == (16, 14, 14)
    assert ConvNet("group").norm1.weight.shape == (8,)


@pytest.mark.parametrize("norm, dims", [("batch", (0, 2, 3)), ("layer", (1, 2, 3))])
def test_each_norm_pools_the_axes_its_docstring_says(norm, dims):
    """batch: per channel over (N, H, W); layer: per case over (C, H, W); neither per single map."""
    torch.manual_seed(0)
    model = ConvNet(norm).train()
    x = images(16) * torch.linspace(0.5, 2.0, 16).view(16, 1, 1, 1)
    out = model.norm1(model.conv1(x)).detach().double()
    assert torch.allclose(out.mean(dim=dims), torch.zeros((), dtype=torch.float64), atol=1e-5)
    assert torch.allclose(out.var(dim=dims, correction=0), torch.ones((), dtype=torch.float64), atol=1e-3)
    assert out.mean(dim=(2, 3)).abs().max() > 0.1, "statistics pooled over fewer axes than documented"


def test_group_norm_pools_each_group_of_channels_of_each_case():
    torch.manual_seed(0)
    model = ConvNet("group", num_groups=4)
    out = model.norm1(model.conv1(images(5))).detach().double().view(5, 4, 2, 28, 28)
    assert torch.allclose(out.mean(dim=(2, 3, 4)), torch.zeros((), dtype=torch.float64), atol=1e-5)
    assert torch.allclose(out.var(dim=(2, 3, 4), correction=0), torch.ones((), dtype=torch.float64), atol=1e-3)
    assert out.mean(dim=(3, 4)).abs().max() > 0.1  # single channels are not normalized on their own


def test_summed_inputs_are_the_first_convolution_without_its_bias():
    torch.manual_seed(0)
    x = images()
    plain = ConvNet("none")
    assert torch.allclose(plain.summed_inputs(x), plain.conv1(x) - plain.conv1.bias.view(1, -1, 1, 1), atol=1e-6)
    layer = ConvNet("layer")
    assert torch.equal(layer.summed_inputs(x), layer.conv1(x))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(norm="weight"), ["norm", "'weight'"]),
        (dict(channels=(0, 16)), ["channels[0]", "0"]),
        (dict(norm="group", num_groups=3), ["num_groups", "3"]),
    ],
)
def test_convnet_rejects_bad_arguments(kwargs, words):
    with pytest.raises(ValueError) as error:
        ConvNet(**kwargs)
    assert all(w in str(error.value) for w in words)


@pytest.mark.parametrize("shape", [(4, 784), (4, 1, 14, 14), (4, 3, 28, 28)])
def test_convnet_rejects_inputs_that_are_not_digits(shape):
    with pytest.raises(ValueError, match=r"\(batch, 1, 28, 28\), got"):
        ConvNet()(torch.zeros(shape))


def test_conv_data_says_where_its_digits_come_from_without_a_warning():
    """7.1 prints `source`; the fallback's MNISTFallbackWarning (a pink box on a projector) stays silent."""
    convnets.conv_data.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = convnets.conv_data()
    assert not [w for w in caught if issubclass(w.category, MNISTFallbackWarning)]
    assert ("shipped with lnviz" in found.source) == (len(found.y_train) < 60_000)
    assert f"{len(found.y_train):,} MNIST training digits" in found.source


def test_conv_data_are_digit_images_in_the_unit_interval():
    d = convnets.conv_data()
    assert d.x_train.shape[1:] == (1, 28, 28) and d.x_test.shape[1:] == (1, 28, 28)
    assert len(d.x_train) == len(d.y_train) and len(d.x_test) == len(d.y_test)
    assert float(d.x_train.min()) >= 0 and float(d.x_train.max()) <= 1 and d.y_train.dtype == torch.int64
    # the blank frame the border statistics rest on: the outermost pixels are nearly always 0
    assert float((d.x_test[:, :, border_distance() == 0] > 0).double().mean()) < 0.01


# ----------------------------------------------------------------------------------------------------
# Which entries are pooled
# ----------------------------------------------------------------------------------------------------

ENTRIES = [(0, 0, 0, 0), (2, 5, 4, 1), (1, 7, 2, 5)]


@pytest.mark.parametrize("entry", ENTRIES)
def test_pooling_gives_what_torch_batch_norm_2d_gives(entry):
    a = summed()
    expected = F.batch_norm(a, None, None, training=True, eps=1e-5)[entry]
    assert math.isclose(pooling(a, "batch", entry).normalized, float(expected), rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("entry", ENTRIES)
def test_pooling_gives_what_torch_layer_norm_over_c_h_w_gives(entry):
    a = summed()
    expected = F.layer_norm(a, a.shape[1:], eps=1e-5)[entry]
    assert math.isclose(pooling(a, "layer", entry).normalized, float(expected), rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("groups", [1, 2, 4, 8])
@pytest.mark.parametrize("entry", ENTRIES)
def test_pooling_gives_what_torch_group_norm_gives(entry, groups):
    a = summed()
    expected = F.group_norm(a, groups, eps=1e-5)[entry]
    assert math.isclose(pooling(a, "group", entry, groups).normalized, float(expected), rel_tol=1e-9, abs_tol=1e-12)


def test_pooled_tiles_are_a_channel_a_case_or_a_group():
    batch = pooled_tiles("batch", (4, 8), case=1, channel=5)
    assert batch[:, 5].all() and batch.sum() == 4
    layer = pooled_tiles("layer", (4, 8), case=1, channel=5)
    assert layer[1].all() and layer.sum() == 8
    group = pooled_tiles("group", (4, 8), case=1, channel=5, num_groups=4)
    assert group[1, 4] and group[1, 5] and group.sum() == 2
    # one group is layer norm's block, one channel per group a single map (instance norm)
    assert torch.equal(pooled_tiles("group", (4, 8), 1, 5, num_groups=1), layer)
    assert pooled_tiles("group", (4, 8), 1, 5, num_groups=8).sum() == 1


def test_pooling_counts_and_statistics_are_over_the_pooled_block():
    a = summed()
    p = pooling(a, "group", (2, 5, 1, 1), num_groups=4)
    block = a[2, 4:6]
    assert p.count == block.numel() == 60
    assert math.isclose(p.mean, float(block.mean())) and math.isclose(p.std, float(block.std(correction=0)))
    assert p.value == float(a[2, 5, 1, 1])


@pytest.mark.parametrize(
    "method, shape, case, channel, groups, words",
    [
        ("none", (4, 8), 0, 0, 1, "method"),
        ("layer", (4, 8), 4, 0, 1, "case"),
        ("batch", (4, 8), 0, -1, 1, "channel"),
        ("group", (4, 8), 0, 0, 3, "num_groups"),
    ],
)
def test_pooled_tiles_reject_bad_arguments(method, shape, case, channel, groups, words):
    with pytest.raises(ValueError, match=words):
        pooled_tiles(method, shape, case, channel, groups)


def test_pooling_rejects_positions_outside_the_maps():
    with pytest.raises(ValueError, match="row"):
        pooling(summed(), "layer", (0, 0, 5, 0))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        pooling(torch.zeros(3, 4), "layer", (0, 0, 0, 0))


def test_notebook_claim_blank_entry_same_under_batch_norm_and_digit_dependent_under_layer_and_group():
    """7.1: the marked corner entry is 0 in every digit; batch norm's statistics are the same for the
    four digits, layer and group norm's are each digit's own, sigma_n varying by more than 1.5x."""
    a = convnets.sample_summed_inputs()
    entry = (0, 2, 3, 3)  # PooledEntriesPanel's default
    from lnviz.panels.convnets import PooledEntriesPanel

    assert inspect.signature(PooledEntriesPanel).parameters["entry"].default == entry
    assert a.shape == (4, 8, 28, 28) and torch.all(a[:, entry[1], entry[2], entry[3]] == 0)
    cases = range(a.shape[0])
    bn = [pooling(a, "batch", (n, *entry[1:])) for n in cases]
    assert len({p.normalized for p in bn}) == 1 and bn[0].normalized != 0
    for method in ("layer", "group"):
        ps = [pooling(a, method, (n, *entry[1:]), num_groups=4) for n in cases]
        assert len({round(p.normalized, 6) for p in ps}) == 4, method
    sigmas = [pooling(a, "layer", (n, *entry[1:])).std for n in cases]
    assert max(sigmas) / min(sigmas) > 1.5


# ----------------------------------------------------------------------------------------------------
# Border statistics
# ----------------------------------------------------------------------------------------------------


def test_border_distance_is_the_distance_to_the_nearest_edge():
    d = border_distance(28)
    assert d.shape == (28, 28)
    assert d[0].eq(0).all() and d[:, -1].eq(0).all() and d[13, 13] == 13 and d[14, 14] == 13
    assert d[5, 20] == 5 and d[3, 26] == 1
    assert torch.equal(d, d.T) and torch.equal(d, d.flip(0))


def _box_net() -> ConvNet:
    """A net whose first layer sums its 3x3 window (channel 0) or negates that sum (channel 1)."""
    model = ConvNet(channels=(2, 4), num_groups=2)
    with torch.no_grad():
        model.conv1.weight.zero_()
        model.conv1.weight[0] = 1.0
        model.conv1.weight[1] = -1.0
    return model


def test_border_statistics_of_digits_in_a_blank_frame():
    # each image: a square of ink at the centre, of a different brightness
    x = torch.zeros(5, 1, 28, 28)
    for n in range(5):
        x[n, 0, 8:20, 8:20] = 0.2 * (n + 1)
    s = border_statistics(_box_net(), x)
    a = _box_net().summed_inputs(x).double()
    assert s.active.shape == (2, 28, 28) and s.ring_std.shape == (2, 14) and s.ring_std_all.shape == (14,)
    # channel 0 is on wherever its window touches the square, channel 1 (the negated sum) never
    assert s.active[0, 14, 14] == 1 and s.active[0, 0, 0] == 0 and s.active[1].max() == 0
    assert s.ring_std_all[0] == 0 and s.ring_std[0, -1] == 0 and s.ring_std[0, 8] > 0
    assert torch.allclose(s.layer_mean, a.flatten(1).mean(1))
    assert torch.allclose(s.layer_std, a.flatten(1).std(1, correction=0))
    # eq. (2): batch norm's sigma of channel 1 over (N, H, W), as torch normalizes with it
    normalized = F.batch_norm(a, None, None, training=True, eps=1e-12)
    assert torch.allclose(normalized[:, 1], (a[:, 1] - a[:, 1].mean()) / s.channel_std[1])
    assert torch.allclose(s.fraction_active, (a > 0).flatten(1).double().mean(1))
    # brighter squares: larger sigma, same share of units on
    assert torch.all(s.layer_std.diff() > 0) and torch.all(s.fraction_active == s.fraction_active[0])
    assert s.rarely_active()[0, 0] and not s.rarely_active(channel=0)[14, 14] and s.rarely_active(channel=1).all()


def test_border_statistics_ring_std_is_the_within_digit_std_of_a_ring():
    torch.manual_seed(0)
    model = ConvNet()
    x = convnets.conv_data().x_test[:20]
    s = border_statistics(model, x)
    a = model.summed_inputs(x).double()
    ring = border_distance() == 9
    expected = np.mean([a[n, 3][ring].std(correction=0).item() for n in range(20)])
    assert math.isclose(float(s.ring_std[3, 9]), expected, rel_tol=1e-9)
    expected_all = np.mean([a[n][:, ring].std(correction=0).item() for n in range(20)])
    assert math.isclose(float(s.ring_std_all[9]), expected_all, rel_tol=1e-9)


def test_border_statistics_reject_bad_arguments():
    with pytest.raises(ValueError, match="ConvNet"):
        border_statistics(torch.nn.Linear(2, 2), images())
    with pytest.raises(ValueError, match="at least 2"):
        border_statistics(ConvNet(), images(1))


# ----------------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------------


def test_pooled_entries_figure_draws_the_array_and_outlines_the_pooled_maps():
    a = summed(n=2, c=4, h=5, w=6).float()
    p = pooling(a, "batch", (1, 2, 3, 4))
    assert p.a is a
    fig = cf.pooled_entries_figure(p)
    z = fig.data[0].z
    assert len(z) == 2 * (5 + cf.GAP) - cf.GAP and len(z[0]) == 4 * (6 + cf.GAP) - cf.GAP
    assert math.isclose(z[1 * (5 + cf.GAP) + 3][2 * (6 + cf.GAP) + 4], float(a[1, 2, 3, 4]), rel_tol=1e-6)
    assert z[5][0] is None  # the gap between the digits: None, since NaN is not JSON
    # a closed box (5 points and a break) per map: 2 pooled (channel 2 of both digits), 6 dimmed
    assert len(fig.data[2].x) == 6 * 2 and len(fig.data[1].x) == 6 * 6
    assert list(fig.data[4].x) == [2 * (6 + cf.GAP) + 4] and list(fig.data[4].y) == [1 * (5 + cf.GAP) + 3]
    assert f"{p.normalized:+.2f}" in fig.layout.title.text and "channel 2 of all 2 digits" in fig.layout.title.text
    assert not fig.data[3].x  # channel groups only for group norm


def test_pooled_entries_update_follows_the_method_and_the_groups():
    a = summed(n=2, c=4, h=5, w=6).float()
    layer = cf.pooled_entries_update(pooling(a, "layer", (1, 2, 3, 4)))
    assert len(layer.traces[2]["x"]) == 6 * 4 and layer.traces[0] == {}
    group = cf.pooled_entries_update(pooling(a, "group", (1, 2, 3, 4), num_groups=2))
    assert len(group.traces[2]["x"]) == 6 * 2 and len(group.traces[3]["x"]) == 3  # one boundary line
    assert "channels 2-3 of digit 1" in group.layout["title"]["text"]
    alone = cf.pooled_entries_update(pooling(a, "group", (1, 2, 3, 4), num_groups=4))  # a group of one channel
    assert "with channel 2 of digit 1" in alone.layout["title"]["text"]


def _stats() -> convnets.BorderStatistics:
    torch.manual_seed(0)
    return border_statistics(ConvNet(), convnets.conv_data().x_test[:50])


def test_border_figure_draws_the_statistics_of_all_channels_or_one():
    s = _stats()
    fig = cf.border_figure(s)
    assert np.allclose(np.array(fig.data[0].z), s.active.mean(0).numpy())
    assert np.allclose(fig.data[1].y, s.ring_std_all.numpy())
    assert np.allclose(fig.data[3].y, [s.layer_std.mean().item()] * 2)
    assert np.allclose(fig.data[5].x, s.fraction_active.numpy()) and np.allclose(fig.data[5].y, s.layer_std.numpy())
    one = cf.border_update(s, channel=3)
    assert np.allclose(one.traces[0]["z"], s.active[3].numpy())
    assert np.allclose(one.traces[1]["y"], s.ring_std[3].numpy())
    assert np.allclose(one.traces[4]["y"], [s.channel_std[3].item()] * 2)
    assert "channel 3" in one.layout["title"]["text"]


def _history(losses: list[float], accuracy: float = 0.9) -> History:
    steps = [10 * (i + 1) for i in range(len(losses))]
    return History(
        batch_size=32,
        loss="cross_entropy",
        step=steps,
        examples=[32 * s for s in steps],
        train_loss=losses,
        val_loss=losses,
        val_accuracy=[accuracy] * len(losses),
        wall_time=[0.5 * (i + 1) for i in range(len(losses))],
        grad_norm=[1.0] * len(losses),
    )


def test_conv_training_figure_marks_where_each_net_reaches_the_target():
    histories = {
        "none": _history([2.0, 1.0, 0.5]),
        "batch": _history([1.0, 0.4, 0.3]),
        "layer": _history([1.5, 0.6, 0.5]),
        "group": _history([2.0, 1.5, 0.9], accuracy=0.8),
    }
    fig = cf.conv_training_figure(histories, 0.5, "val_error", "step")
    none, batch, layer, group = (fig.data[3 * i : 3 * i + 3] for i in range(4))
    assert list(batch[0].y) == [1.0, 0.4, 0.3] and list(batch[1].x) == [20] and list(batch[1].y) == [0.5]
    assert list(layer[1].x) == [30] and not group[1].x and list(none[1].x) == [30]
    assert np.allclose(group[2].y, [0.2] * 3)  # validation error = 1 - accuracy
    assert list(fig.data[-1].y) == [0.5, 0.5] and list(fig.data[-1].x) == [0, 30]
    title = fig.layout.title.text
    assert title.startswith("time to reach training loss 0.500")
    assert (
        "no normalization 30 steps," in title and "batch norm 20 steps (67%)" in title and "group norm never" in title
    )
    higher = cf.conv_training_update(histories, 1.0)
    assert "batch norm 10 steps (50%)" in higher.layout["title"]["text"] and higher.traces[-1]["y"] == [1.0, 1.0]
    seconds = cf.conv_training_update(histories, 0.5, "grad_norm", "wall_time")
    assert seconds.traces[3]["x"] == [0.5, 1.0, 1.5] and seconds.traces[4]["x"] == [1.0]
    assert seconds.layout["title"]["text"].startswith("time to reach")
    assert "batch norm 1.0 s (67%)" in seconds.layout["title"]["text"]
    assert seconds.layout["yaxis2"]["title"] == "gradient norm (before clipping)"


def test_conv_training_figure_without_runs_draws_the_target_and_says_press_run():
    fig = cf.conv_training_figure(dict.fromkeys(convnets.METHODS), 0.7)
    assert "press Run" in fig.layout.title.text and list(fig.data[-1].y) == [0.7, 0.7]
    assert all(not trace.x for trace in fig.data[:-1])


def test_conv_training_update_rejects_unknown_axes():
    with pytest.raises(ValueError, match="metric"):
        cf.conv_training_update({}, 0.5, metric="accuracy")
    with pytest.raises(ValueError, match="x must be"):
        cf.conv_training_update({}, 0.5, x="examples")


# ----------------------------------------------------------------------------------------------------
# Panels
# ----------------------------------------------------------------------------------------------------


def test_pooled_entries_panel_outlines_what_the_method_pools():
    from lnviz.panels.convnets import PooledEntriesPanel

    panel = PooledEntriesPanel()
    figure = panel.figure
    assert len(panel.figure.data[2].x) == 6 * 8  # layer norm: the 8 channels of one digit
    panel.controls["method"].value = "batch"
    assert len(panel.figure.data[2].x) == 6 * 4  # batch norm: one channel of the 4 digits
    panel.controls["method"].value = "group"
    panel.controls["groups"].value = 2
    assert len(panel.figure.data[2].x) == 6 * 4 and len(panel.figure.data[3].x) == 3
    panel.controls["col"].value = 20
    assert panel.figure.data[4].x[0] == 2 * (28 + cf.GAP) + 20
    assert panel.figure is figure


def test_border_panel_shows_the_chosen_net_and_channel():
    from lnviz.panels.convnets import BorderPanel

    torch.manual_seed(1)
    models = {"batch": ConvNet("batch"), "layer": ConvNet("layer")}
    panel = BorderPanel(models, n_images=40)
    assert [v for _, v in panel.controls["net"].options] == ["batch", "layer"]
    panel.controls["net"].value = "layer"
    panel.controls["channel"].value = 5
    assert np.allclose(np.array(panel.figure.data[0].z), panel.stats["layer"].active[5].numpy())
    with pytest.raises(ValueError, match="at least one model"):
        BorderPanel({})


def test_conv_training_panel_trains_the_four_nets_and_draws_them():
    from lnviz.panels.convnets import ConvTrainingPanel

    panel = conv_training_example()
    assert all(h is not None and h.step[-1] == 10 for h in panel.histories.values())
    assert panel.progress.value == panel.progress.max == 40 and not panel.run_button.disabled
    assert list(panel.figure.data[3].y) == panel.histories["batch"].train_loss
    # after a run the target is where the unnormalized net ended
    assert panel.controls["target"].value == panel.histories["none"].train_loss[-1]
    assert list(panel.figure.data[-1].y) == [panel.controls["target"].value] * 2
    panel.controls["x"].value = "wall_time"
    assert list(panel.figure.data[6].x) == panel.histories["layer"].wall_time
    with pytest.raises(ValueError, match="settings among"):
        ConvTrainingPanel(epochs=3)


# ----------------------------------------------------------------------------------------------------
# The notebook's claims about its default run (60 steps, seed 0)
# ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_panel():
    """The training panel after the run the notebook makes on load."""
    from lnviz.panels.convnets import ConvTrainingPanel

    panel = ConvTrainingPanel()
    panel.run()
    return panel


@pytest.fixture(scope="module")
def default_run(default_panel):
    return default_panel.histories


def test_notebook_claim_every_normalized_net_reaches_the_baseline_in_three_quarters_of_its_steps(default_panel):
    none = default_panel.histories["none"]
    target = default_panel.controls["target"].value
    assert none.reach(target) == none.step[-1] == 60
    for method in ("batch", "layer", "group"):
        steps = default_panel.histories[method].reach(target)
        assert steps is not None and steps <= 0.75 * none.step[-1], method


def test_notebook_7_printout_figure_and_slider_read_one_target(default_panel):
    """7.2's printout reads the target control; the figure's title, its target line and the slider's
    label must say the same number, and each net's steps in the title are what the printout computes."""
    from lnviz.style import METHOD_NAMES

    target = default_panel.controls["target"]
    none = default_panel.histories["none"]
    assert target.value == none.train_loss[-1]  # exactly: no snapping to a slider's step
    # what the browser shows and sends back is the selected option: the same number
    assert target.options[target.index] == (target.label, target.value) and target.label == f"{target.value:.3f}"
    assert list(default_panel.figure.data[-1].y) == [target.value] * 2
    title = default_panel.figure.layout.title.text
    assert f"time to reach training loss {target.value:.3f}:" in title
    for method in ("none", "batch", "layer", "group"):
        assert f"{METHOD_NAMES[method]} {default_panel.histories[method].reach(target.value)} steps" in title


def test_a_target_the_code_sets_is_kept_and_offered_once():
    from lnviz.panels.convnets import ConvTrainingPanel

    panel = ConvTrainingPanel(val_size=64, steps=10, batch_size=16)
    target = panel.controls["target"]
    labels = [label for label, _ in target.options]
    panel._fit_target(0.469)
    assert target.value == 0.469 and target.label == "0.469"
    assert len(target.options) == len(labels) + 1
    panel._fit_target(10**-0.3 + 1e-6)  # reads as a value already offered: it takes that one's place
    assert target.value == 10**-0.3 + 1e-6 and [label for label, _ in target.options] == labels
    panel._fit_target(50.0)  # beyond the offered range: its end
    assert target.value == max(v for _, v in target.options) == ConvTrainingPanel.TARGETS[-1]


def test_notebook_claim_the_normalized_nets_end_close_together(default_run):
    finals = [default_run[m].train_loss[-1] for m in ("batch", "layer", "group")]
    gap = default_run["none"].train_loss[-1] - max(finals)
    assert gap > 0 and max(finals) - min(finals) < gap / 2


@pytest.fixture(scope="module")
def claim_statistics(default_run) -> dict:
    """name -> (border statistics, mean within-digit std of the layer-normalized middle units), for the
    four trained nets and an untrained one, on BorderPanel's 300 test digits."""
    torch.manual_seed(0)
    models = {**{m: h.model for m, h in default_run.items()}, "untrained": ConvNet()}
    x = convnets.conv_data().x_test[:300]
    middle = border_distance() >= 8
    found = {}
    for name, model in models.items():
        a = model.summed_inputs(x).detach()
        normalized = F.layer_norm(a, a.shape[1:])  # layer norm before its gain and bias
        found[name] = (border_statistics(model, x), float(normalized[:, :, middle].flatten(1).std(dim=1).mean()))
    return found


def test_notebook_claim_about_half_the_positions_rarely_turn_on_all_near_the_edge(claim_statistics):
    shares = {}
    for name, (s, _) in claim_statistics.items():
        rare = s.rarely_active()
        shares[name] = float(rare.double().mean())
        assert 0.4 <= shares[name] <= 0.65, name
        assert int(border_distance()[rare].max()) <= 6, name
    # the picture hardly changes from net to net, trained or not
    assert max(shares.values()) - min(shares.values()) < 0.1


def test_notebook_claim_border_and_centre_statistics_differ_from_layer_norms(claim_statistics):
    for name, (s, middle_spread) in claim_statistics.items():
        sigma = float(s.layer_std.mean())
        assert float(s.ring_std_all[0]) < 0.05 * sigma, name
        assert float(s.ring_std_all.max()) > 1.5 * sigma, name
        assert middle_spread > 1.5, name
        assert float(s.layer_std.max() / s.layer_std.min()) > 2, name
        assert s.correlation() > 0.7, name
