"""Table 1, measured: the three paper rows come out exactly as printed, and the claims of notebook 2."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lnviz import invariance as inv
from lnviz.figures.invariance import invariance_figure, invariance_update, overlaps
from lnviz.panels.invariance import InvariancePanel


def test_table_equals_the_papers_table_1():
    table = inv.table()
    assert set(table) == {"batch", "weight", "layer", "rms"}
    for method, row in inv.PAPER_TABLE_1.items():
        assert table[method] == row, method


def test_rms_row():
    """RMS norm: LN's rescaling invariances without its re-centering one (no mean is subtracted)."""
    assert inv.table()["rms"] == {
        "weight_matrix_rescaling": True,
        "weight_matrix_recentering": False,
        "weight_vector_rescaling": False,
        "dataset_rescaling": True,
        "dataset_recentering": False,
        "case_rescaling": True,
    }


def test_invariance_is_exact_and_change_is_large():
    """Nothing in between: invariant cells sit at rounding error, the others far above it."""
    measured = inv.deviations()
    for method, row in measured.items():
        for transformation, dev in row.items():
            assert dev < 1e-13 or dev > 1e-2, (method, transformation, dev)


@settings(max_examples=25, deadline=None)
@given(
    method=st.sampled_from(inv.METHODS),
    transformation=st.sampled_from(inv.TRANSFORMATIONS),
    magnitude=st.floats(0.05, 2.0),
    seed=st.integers(0, 10_000),
)
def test_invariant_cells_hold_at_every_magnitude_and_seed(method, transformation, magnitude, seed):
    dev = inv.deviation(method, transformation, magnitude, seed)
    if inv.table()[method][transformation]:
        assert dev < 1e-12
    else:
        assert dev > 1e-6


def test_magnitude_zero_is_the_identity():
    for method in inv.METHODS:
        for transformation in inv.TRANSFORMATIONS:
            assert inv.deviation(method, transformation, 0.0) < 1e-15


def test_deviation_grows_with_magnitude_where_not_invariant():
    devs = [inv.deviation("layer", "weight_vector_rescaling", m) for m in (0.1, 0.5, 1.0)]
    assert devs[0] < devs[1] < devs[2]


def test_transformations_do_what_they_say():
    layer = inv.random_layer(0)
    w, x = layer.weight, layer.x
    t = inv.transform(layer, "weight_matrix_recentering", 1.0)
    shift = t.weight - w
    assert (shift - shift[0]).abs().max() < 1e-15 and shift.abs().max() > 1e-3  # every row moved alike
    t = inv.transform(layer, "case_rescaling", 1.0)
    ratio = t.x / x
    assert (ratio - ratio[:, :1]).abs().max() < 1e-12 and ratio[:, 0].std() > 0.1  # a factor per case
    t = inv.transform(layer, "weight_vector_rescaling", 1.0)
    ratio = t.weight / w
    assert (ratio - ratio[:, :1]).abs().max() < 1e-12 and ratio[:, 0].std() > 0.1  # a factor per row


def test_normalized_summed_inputs_follow_the_equations():
    layer = inv.random_layer(1)
    a = layer.x @ layer.weight.T
    h = inv.normalized_summed_inputs("layer", layer)
    assert h.mean(1).abs().max() < 1e-12 and (h.var(1, unbiased=False) - 1).abs().max() < 1e-12  # eq. (3)
    h = inv.normalized_summed_inputs("batch", layer)
    assert h.mean(0).abs().max() < 1e-12 and (h.var(0, unbiased=False) - 1).abs().max() < 1e-12  # eq. (2)
    h = inv.normalized_summed_inputs("weight", layer)
    w = layer.weight / layer.weight.norm(dim=1, keepdim=True)
    assert (h - layer.x @ w.T).abs().max() < 1e-12
    h = inv.normalized_summed_inputs("rms", layer)
    assert (h - a / a.pow(2).mean(1, keepdim=True).sqrt()).abs().max() < 1e-12


@pytest.mark.parametrize("bad", [dict(method="group"), dict(transformation="shear"), dict(magnitude=-1.0)])
def test_bad_arguments_name_what_was_expected(bad):
    args = dict(method="layer", transformation="dataset_rescaling", magnitude=1.0) | bad
    with pytest.raises(ValueError, match="must be"):
        inv.compare(**args)


def test_invariance_figure_draws_the_view_and_its_update_covers_every_trace():
    magnitudes = (0.0, 0.5, 1.0)
    view = inv.invariance_view("batch", "case_rescaling", 0.5, magnitudes)
    assert view.comparison.deviation == inv.deviation("batch", "case_rescaling", 0.5)
    assert view.curves == inv.deviation_curves("case_rescaling", magnitudes)
    fig = invariance_figure(view)
    assert len(invariance_update(view).traces) == len(fig.data)
    assert list(fig.data[0].x) == view.comparison.before.ravel().tolist()
    assert fig.data[-2].x == (0.5,) and "changed" in fig.layout.title.text


def test_the_notebooks_agreement_count():
    assert inv.agreement(inv.table()) == (18, 18)
    flipped = {m: dict(row) for m, row in inv.table().items()}
    flipped["layer"]["case_rescaling"] = False
    assert inv.agreement(flipped) == (17, 18)


def test_the_panels_curves_sit_at_rounding_error_or_rise_with_the_magnitude():
    """2.2: invariant curves sit at 1e-16 whatever the magnitude, the others rise with it; nothing between."""
    magnitudes = InvariancePanel.MAGNITUDES
    table = inv.table()
    for transformation in inv.TRANSFORMATIONS:
        curves = inv.deviation_curves(transformation, magnitudes)
        for method, curve in curves.items():
            if table[method][transformation]:
                assert max(curve) < 1e-15, (method, transformation)
            else:
                assert all(b > a for a, b in zip(curve, curve[1:])) and curve[1] > 1e-2, (method, transformation)


def test_coinciding_curves_are_named_in_the_legend_and_drawn_differently():
    magnitudes = InvariancePanel.MAGNITUDES
    view = inv.invariance_view("layer", "weight_vector_rescaling", 1.0, magnitudes)
    assert overlaps(view) == {"weight": "batch", "rms": "layer"}  # both invariant; RMS on top of layer norm
    fig = invariance_figure(view)
    names = [t.name for t in fig.data[1:5]]
    assert names == ["batch norm", "weight norm (≈ batch norm here)", "layer norm", "RMS norm (≈ layer norm here)"]
    assert len({(t.line.dash, t.marker.symbol) for t in fig.data[1:5]}) == 4
    # weight norm and RMS norm lie near batch norm's curve under re-centering of the weight matrix
    recentering = inv.invariance_view("layer", "weight_matrix_recentering", 1.0, magnitudes)
    assert overlaps(recentering) == {"weight": "batch", "rms": "batch"}
    # weight norm and layer norm start together under dataset re-centering, then part: not named
    assert "weight" not in overlaps(inv.invariance_view("layer", "dataset_recentering", 1.0, magnitudes))
