"""lnviz.figures.core: applying an update to a figure, and sending only what changed."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from lnviz.figures.core import Update, apply, changes


def test_changes_keeps_only_what_differs_arrays_compared_by_value() -> None:
    drawn = Update(
        traces=[{"x": np.arange(3.0), "y": np.ones(3), "name": "a"}, {"y": [1, 2]}],
        layout={"title": {"text": "t"}, "xaxis": {"range": [0, 1]}},
    )
    update = Update(
        traces=[{"x": np.arange(3.0), "y": np.array([1.0, 1.0, 2.0]), "name": "a"}, {"y": [1, 2]}],
        layout={"title": {"text": "t"}, "xaxis": {"range": [0, 2]}},
    )
    diff = changes(update, drawn)
    assert list(diff.traces[0]) == ["y"] and np.array_equal(diff.traces[0]["y"], [1.0, 1.0, 2.0])
    assert diff.traces[1] == {}
    assert diff.layout == {"xaxis": {"range": [0, 2]}}


def test_changes_sends_a_key_the_last_update_did_not_have() -> None:
    diff = changes(
        Update(traces=[{"y": [1], "visible": True}], layout={"height": 400}), Update(traces=[{"y": [1]}], layout={})
    )
    assert diff.traces == [{"visible": True}] and diff.layout == {"height": 400}


def test_applying_the_changes_gives_the_figure_the_whole_update_gives() -> None:
    first = Update(traces=[{"y": [0.0, 1.0]}, {"y": [2.0, 3.0]}], layout={"height": 300})
    second = Update(traces=[{"y": [0.0, 1.0]}, {"y": [5.0, 3.0]}], layout={"height": 350})

    def figure() -> go.Figure:
        return apply(go.Figure(data=[go.Scatter(), go.Scatter()]), first)

    whole, partial = apply(figure(), second), apply(figure(), changes(second, first))
    assert whole.to_plotly_json() == partial.to_plotly_json()


def test_apply_refuses_an_update_for_another_number_of_traces() -> None:
    with pytest.raises(ValueError, match="update has 1 traces, the figure has 2"):
        apply(go.Figure(data=[go.Scatter(), go.Scatter()]), Update(traces=[{}], layout={}))
