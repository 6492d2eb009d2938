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


def title_texts(figure) -> list[str]:
    """The figure's title and its subplot titles (paper-anchored annotations), as plotly holds them."""
    layout = figure.layout
    return [layout.title.text or ""] + [a.text or "" for a in layout.annotations or () if a.xref == "paper"]


@pytest.mark.parametrize("cls", PANELS, ids=lambda c: c.__name__)
def test_figure_has_a_text_alternative_that_follows_its_title(cls):
    """The summary sits right before the figure, names it, says what its titles say now (without their
    HTML) and follows every control that changes a title."""
    panel = make(cls)
    children = list(panel.widget.children)
    assert children[children.index(panel.figure) - 1] is panel.summary, "the summary must come right before the figure"
    assert f'class="{panels.base.SUMMARY_CLASS}"' in panel.summary.value and 'role="status"' in panel.summary.value
    moved = 0
    for name, control in panel.controls.items():
        for value in candidate_values(control):
            if value == control.value:
                continue
            titles, summary = title_texts(panel.figure), panel.summary.value
            control.value = value
            text = panel.summary_text()
            assert text.startswith("Figure: ") and len(text) > len("Figure: ") + 10, text
            assert "<" not in text, f"{cls.__name__}: HTML left in the summary: {text!r}"
            for title in title_texts(panel.figure):
                assert panels.base.plain_text(title) in text, f"{cls.__name__}: {title!r} missing from {text!r}"
            if title_texts(panel.figure) != titles:
                moved += 1
                assert panel.summary.value != summary, f"{cls.__name__}: {name} = {value!r} changed the title only"
    assert moved, f"{cls.__name__}: no control changed a title, so nothing showed that the summary follows it"


def test_plain_text_drops_plotly_html():
    assert panels.base.plain_text("a<br>b <b>c</b>&amp;<sup>2</sup>") == "a b c&2"


def test_panel_figure_opens_its_comm_with_its_traces(monkeypatch):
    """The message that creates a panel's figure in the browser carries its traces, layout and config,
    and no message follows it: anywidget drops messages to a model whose module loads slowly."""
    import comm
    import plotly.graph_objects as go

    opened, sent = [], []
    create = comm.create_comm

    def recording(**kwargs):
        made = create(**kwargs)
        opened.append(kwargs["data"]["state"])
        made.send = lambda *args, **kw: sent.append(kw.get("data"))
        return made

    monkeypatch.setattr(comm, "create_comm", recording)
    figure = panels.base.PanelFigure(go.Figure(go.Scatter(y=[1.0, 2.0]), layout=dict(title="t")), {"responsive": True})
    state = opened[-1]
    assert [list(t["y"]) for t in state["_widget_data"]] == [[1.0, 2.0]]
    assert state["_widget_layout"]["title"]["text"] == "t" and state["_config"] == {"responsive": True}
    assert sent == []
    # a plain FigureWidget, for contrast: the traces follow in later messages, which anywidget may drop
    go.FigureWidget(go.Figure(go.Scatter(y=[1.0, 2.0])))
    assert opened[-1]["_widget_data"] == [] and any("_widget_data" in m["state"] for m in sent)
    assert figure.comm is not None


def test_a_deaf_figure_is_replaced_by_one_with_the_same_state(monkeypatch):
    """A figure whose view drew it but never answered an update (anywidget dropped the update) is
    replaced, on the next update, by a new figure holding the current state; an answered one is kept."""
    panel = panels.InvariancePanel()
    figure = panel.figure
    slider = panel.controls["magnitude"]
    # a view draws the figure, then answers the first update
    figure._view_reported({"new": {"trace_edit_id": 0, "trace_deltas": []}})
    slider.value = 1.5
    figure._view_reported({"new": {"trace_edit_id": figure._last_trace_edit_id, "trace_deltas": []}})
    figure._view_reported({"new": {"layout_edit_id": figure._last_layout_edit_id, "layout_delta": {}}})
    monkeypatch.setattr(panels.base, "DEAF_AFTER_S", 0.0)
    assert not figure.deaf()
    slider.value = 0.5
    assert panel.figure is figure, "a figure whose view answered must stay"
    # now an update goes unanswered: the next one finds the figure deaf
    slider.value = 0.25
    assert panel.figure is not figure and panel.figure in panel.widget.children and figure not in panel.widget.children
    # the new figure holds the old one's traces and layout, then the update that found it deaf
    fresh = panels.InvariancePanel()
    fresh.controls["magnitude"].value = 0.25

    def traces(p):  # without plotly's random trace ids
        return json.dumps([{**t.to_plotly_json(), "uid": None} for t in p.figure.data], default=str, sort_keys=True)

    assert traces(panel) == traces(fresh) and panel.figure.layout.title.text == fresh.figure.layout.title.text
    assert panel.figure._config == figure._config and figure.comm is None
    assert panel.summary_text() == fresh.summary_text()


def test_redraws_without_a_control_change_keep_the_figure(monkeypatch):
    """A training run redraws from inside one callback, where the views' answers wait unread: its
    redraws never take the figure for deaf; the next control change does."""
    monkeypatch.setattr(panels.base, "DEAF_AFTER_S", 0.0)
    panel = panels.InvariancePanel()
    figure = panel.figure
    figure._view_reported({"new": {"trace_edit_id": 0, "trace_deltas": []}})
    panel.controls["magnitude"].value = 1.5
    for _ in range(3):
        panel._redraw()
    assert panel.figure is figure
    panel.controls["magnitude"].value = 0.5
    assert panel.figure is not figure
