"""Issue 12, items 1 and 6, "In front of a class": every piece of every figure's text can be read.

Each lesson runs in JupyterLab at a projector's 1024x768 with the file browser open; then the window
grows to 1400x1000 with the file browser closed; then, back at 1024x768, the sliders that redraw
while they move (no model trained) go to their minimum and to their maximum. At each of these four
states every plotly figure must fit its cell's output area, every non-empty SVG text of it must be
on top at its centre, inside its figure and not stacked on another, and no axis title may lie over a
plot (`browser.visual`). All failures of a lesson are
collected and printed, then the list must be empty. One screenshot per lesson and window size goes
to $LNVIZ_SCREENSHOTS (default tests/_screenshots/), named `<lesson>-visual-<width>.png`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import fixtures
from browser.lab import LabServer
from browser.notebook import (
    PLOT_SELECTOR,
    notebook_problems,
    open_notebook,
    panels,
    plot_state,
    run_all_cells,
    screenshot_notebook,
    wait_for_plot_change,
    wait_for_widgets,
)
from browser.visual import hide_file_browser, settle, show_file_browser, slider_to_extreme, text_problems
from playwright.sync_api import Browser, Page
from test_browser import NOTEBOOKS, SCREENSHOTS, lab  # noqa: F401 (lab is a fixture)

PROJECTOR = {"width": 1024, "height": 768}
WIDE = {"width": 1400, "height": 1000}
# A slider's end redraws within this long when the panel only computes (nothing is trained).
EXTREME_REDRAW_S = 5.0

#: Per lesson, (panel index, slider description) of the sliders with continuous updates.
CHEAP_SLIDERS: dict[str, tuple[tuple[int, str], ...]] = {
    "01_batch_vs_layer": (
        (0, "case n"),
        (0, "hidden unit i"),
        (1, "batch size B"),
        (2, "input scale"),
        (2, "input shift"),
        (2, "gain g"),
        (2, "bias b"),
    ),
    "02_invariance": ((0, "magnitude"),),
    "04_rnn_training": ((0, "target loss"),),
    "05_batch_size": ((0, "read at (of training)"),),
    "06_geometry": ((0, "||w||"), (0, "angle from teacher (°)"), (0, "learning rate")),
    "07_convnets": ((0, "digit n"), (0, "channel c"), (0, "row"), (0, "column"), (0, "group norm: groups")),
    "08_after2016": ((0, "shift c"), (0, "scale"), (2, "variance of a")),
}

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium: Browser) -> Page:
    context = chromium.new_context(viewport=PROJECTOR)
    try:
        yield context.new_page()
    finally:
        context.close()


def _move_sliders(page: Page, lesson: str, key: str) -> list[str]:
    """Press `key` ("Home", then "End") on each cheap slider of the lesson and give its plot time to
    redraw (a slider may leave the plot as it is: the number of groups, while the panel shows layer
    norm). Returns the sliders that End did not move from their minimum: the check would be void."""
    stuck = []
    found = panels(page)
    for index, label in CHEAP_SLIDERS.get(lesson, ()):
        panel = found[index]
        before = plot_state(panel)
        value_before, value_after = slider_to_extreme(panel, label, key)
        if value_before != value_after:
            wait_for_plot_change(panel, before, EXTREME_REDRAW_S)
        elif key == "End":
            stuck.append(f"panel {index}: {key} did not move the slider {label!r} from {value_before}")
    return stuck


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_every_figure_text_is_visible(notebook: Path, page: Page, lab: LabServer) -> None:  # noqa: F811
    lesson = notebook.stem
    page_errors = open_notebook(page, lab, f"notebooks/{notebook.name}", f"visual-{lesson}")
    show_file_browser(page)
    succeeded = run_all_cells(page)
    missing = wait_for_widgets(page)
    settle(page)
    problems = notebook_problems(page, page_errors) + missing
    assert succeeded and not problems, f"{notebook.name} did not run cleanly:\n" + "\n".join(problems)

    found: dict[str, list[str]] = {}
    found["1024x768, file browser open"] = text_problems(page)
    screenshot_notebook(page, SCREENSHOTS / f"{lesson}-visual-1024.png")

    hide_file_browser(page)
    page.set_viewport_size(WIDE)
    settle(page)
    found["1400x1000"] = text_problems(page)
    screenshot_notebook(page, SCREENSHOTS / f"{lesson}-visual-1400.png")

    page.set_viewport_size(PROJECTOR)
    show_file_browser(page)
    settle(page)
    for key, state in (("Home", "sliders at their minimum"), ("End", "sliders at their maximum")):
        stuck = _move_sliders(page, lesson, key)
        settle(page)
        found[f"1024x768, {state}"] = stuck + text_problems(page)

    report = [f"{lesson}: {sum(map(len, found.values()))} problem(s)"]
    for state, lines in found.items():
        report.append(f"  {state}: {len(lines)}")
        report += [f"    {line}" for line in lines]
    print("\n".join(report))
    assert not any(found.values()), "\n".join(report)


def test_harness_finds_every_kind_of_hidden_text(page: Page, lab: LabServer) -> None:  # noqa: F811
    """On a fixture notebook, each check of `text_problems` fires where it must, and only there."""
    page_errors = open_notebook(page, lab, f"fixtures/{fixtures.VISUAL_NOTEBOOK}", "visual-harness")
    show_file_browser(page)
    assert run_all_cells(page)
    page.wait_for_function(
        f"(n) => [...document.querySelectorAll('{PLOT_SELECTOR}')].filter((p) => p._fullLayout).length === n",
        arg=fixtures.VISUAL_FIGURES,
        timeout=60_000,
    )
    settle(page)
    problems = text_problems(page)
    screenshot_notebook(page, SCREENSHOTS / "harness-visual.png")
    report = "\n".join(problems)
    for figure, text in fixtures.EXPECTED_VISUAL:
        assert any(p.startswith(figure) and text in p for p in problems), f"{figure}: no {text!r} in\n{report}"
    assert not [p for p in problems if p.startswith("figure 0")], report
    assert notebook_problems(page, page_errors) == []
