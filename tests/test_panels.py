"""Every panel, driven without a kernel: each control changes the figure, and extremes stay finite.

Panels are found by walking the modules of `lnviz.panels` (`panel_examples.all_panels`), so a new
panel is tested here the moment it exists, re-exported or not.
"""

from __future__ import annotations

import json
import math

import ipywidgets as widgets
import pytest
from panel_examples import all_panels, make

from lnviz import panels

PANELS = all_panels()


def snapshot(panel: panels.Panel) -> str:
    return json.dumps([t.to_plotly_json() for t in panel.figure.data], default=str, sort_keys=True)


def numbers(obj):
    """Every number in a nested structure of lists, tuples, dicts and arrays."""
    if hasattr(obj, "tolist"):
        obj = obj.tolist()
    if isinstance(obj, dict):
        for v in obj.values():
            yield from numbers(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


def candidate_values(control: widgets.ValueWidget) -> list:
    """The values a user can reach that matter most: every option, or the two ends of a slider."""
    if isinstance(control, widgets.FloatLogSlider):
        return [control.base**control.min, control.base**control.max]
    if hasattr(control, "options") and control.options:
        return [o[1] if isinstance(o, tuple) else o for o in control.options]
    if hasattr(control, "min") and hasattr(control, "max"):
        return [control.min, control.max]
    raise TypeError(f"no candidate values for {type(control).__name__}")


def test_there_are_panels():
    assert {"PoolingPanel", "BatchDependencePanel", "GainBiasPanel", "InvariancePanel"} <= {p.__name__ for p in PANELS}


@pytest.mark.parametrize("cls", PANELS, ids=lambda c: c.__name__)
def test_panel_structure(cls):
    panel = make(cls)
    assert panels.PANEL_CLASS in panel.widget._dom_classes
    assert panel.figure in panel.widget.children
    assert panel.controls and all(c in panel.widget.children[0].children for c in panel.controls.values())


@pytest.mark.parametrize("cls", PANELS, ids=lambda c: c.__name__)
def test_every_control_changes_the_figure(cls):
    panel = make(cls)
    figure_id = id(panel.figure)
    for name, control in panel.controls.items():
        for value in candidate_values(control):
            if value == control.value:
                continue
            before = snapshot(panel)
            control.value = value
            assert snapshot(panel) != before, f"{cls.__name__}: setting {name} = {value!r} left the figure as it was"
    assert id(panel.figure) == figure_id, "the panel must update its FigureWidget in place"


@pytest.mark.parametrize("cls", PANELS, ids=lambda c: c.__name__)
def test_extreme_values_give_finite_data(cls):
    panel = make(cls)
    for name, control in panel.controls.items():
        for value in candidate_values(control):
            control.value = value
            data = [t.to_plotly_json() for t in panel.figure.data]
            bad = [x for x in numbers(data) if not math.isfinite(x)]
            assert not bad, f"{cls.__name__}: {name} = {value!r} gives non-finite data {bad[:5]}"
