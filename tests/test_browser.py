"""Every notebook in a real browser: JupyterLab, driven by headless Chromium.

Each notebook runs top to bottom with no error output and no "Error displaying widget"; in each
panel, one control is moved as a user moves it (a slider or toggle button with the keyboard; a
dropdown, whose keys JupyterLab takes, by selecting an option) and the plot must change.
Screenshots after the run and after the moves go to $LNVIZ_SCREENSHOTS (default tests/_screenshots/).

Also: a lesson's .py opens as a notebook with postBuild's default-viewer setting, and each
lesson's exported HTML page, opened from disk, draws every plot and plays its animations.

One server and one browser serve the whole module; each notebook gets a fresh page and its kernel
is shut down after. The server serves a temporary copy of notebooks/, so autosave never touches the
repository.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jupytext
import pytest
from browser import fixtures, pages
from browser.lab import LAB_VIEWPORT, LabServer, copy_lessons, find_chromium, start_lab, stop_lab
from browser.notebook import (
    ANYWIDGET_INIT_TIMEOUT_MS,
    MAX_SCREENSHOT_HEIGHT,
    RENDER_TIMEOUT_S,
    notebook_problems,
    nudge_first_control,
    open_notebook,
    panels,
    plot_state,
    run_all_cells,
    screenshot_notebook,
    wait_for_plot_change,
    wait_for_widgets,
)
from exported_lessons import Export, export_lessons
from notebook_utils import SOURCES
from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SCREENSHOTS = Path(os.environ.get("LNVIZ_SCREENSHOTS", REPO / "tests" / "_screenshots"))
VIEWPORT = LAB_VIEWPORT
# Long enough for a FigureWidget to redraw after a callback; the dead panel waits this long for nothing.
NO_CHANGE_WAIT_S = 3.0

pytestmark = pytest.mark.browser


def _set_default_viewer_as_postbuild_does(config_dir: Path) -> None:
    """Run postBuild's jupytext-config line with `config_dir` as the Jupyter config directory."""
    lines = [line.strip() for line in (REPO / "postBuild").read_text().splitlines()]
    command = next(line for line in lines if line.startswith("jupytext-config "))
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(config_dir),
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    )
    subprocess.run(shlex.split(command), check=True, env=env, capture_output=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    root = tmp_path_factory.mktemp("lab-root")
    copy_lessons(REPO / "notebooks", root / "notebooks")
    fixtures.write_fixture_notebooks(root / "fixtures")
    state = tmp_path_factory.mktemp("lab-state")
    _set_default_viewer_as_postbuild_does(state / "config")
    server = start_lab(root, state)
    try:
        yield server
    finally:
        stop_lab(server)


def _run(
    page: Page,
    lab: LabServer,
    path: str,
    anywidget_init_timeout_ms: int = ANYWIDGET_INIT_TIMEOUT_MS,
    render_timeout_s: float = RENDER_TIMEOUT_S,
) -> tuple[bool, list[str], list[str]]:
    """Open and run the notebook at `path`: the run's verdict, what went wrong, and the live list
    of the page's uncaught exceptions (for later checks)."""
    page_errors = open_notebook(page, lab, path, Path(path).stem, anywidget_init_timeout_ms)
    succeeded = run_all_cells(page)
    missing = wait_for_widgets(page, render_timeout_s)
    return succeeded, notebook_problems(page, page_errors) + missing, page_errors


def test_notebooks_are_collected() -> None:
    assert NOTEBOOKS, f"expected notebooks/*.ipynb under {REPO}, found none"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_and_panels_respond_to_keyboard(notebook: Path, page: Page, lab: LabServer) -> None:
    succeeded, problems, page_errors = _run(page, lab, f"notebooks/{notebook.name}")
    screenshot_notebook(page, SCREENSHOTS / f"{notebook.stem}-1-run-all.png")
    assert succeeded and not problems, f"{notebook.name} did not run cleanly:\n" + "\n".join(problems)

    unresponsive = []
    for index, panel in enumerate(panels(page)):
        before = plot_state(panel)
        move = nudge_first_control(panel)
        if move.after == move.before:
            unresponsive.append(f"panel {index}: {move.action} did not move {move.kind} {move.label!r}")
        elif not wait_for_plot_change(panel, before):
            unresponsive.append(
                f"panel {index}: {move.kind} {move.label!r} went {move.before} -> {move.after} "
                f"({move.action}) but the plot did not change"
            )
    screenshot_notebook(page, SCREENSHOTS / f"{notebook.stem}-2-after-keys.png")
    assert not unresponsive, f"{notebook.name}:\n" + "\n".join(unresponsive)
    problems = notebook_problems(page, page_errors)
    assert not problems, f"{notebook.name} after moving the controls:\n" + "\n".join(problems)


def test_harness_sees_plots_change_and_stay(page: Page, lab: LabServer) -> None:
    succeeded, problems, _ = _run(page, lab, f"fixtures/{fixtures.PANELS_NOTEBOOK}")
    assert succeeded and problems == []
    found = panels(page)
    assert len(found) == 4

    moves, changed = [], []
    for panel in found[:3]:
        before = plot_state(panel)
        moves.append(nudge_first_control(panel))
        changed.append(wait_for_plot_change(panel, before))
    dead = found[3]
    before = plot_state(dead)
    moves.append(nudge_first_control(dead))
    changed.append(wait_for_plot_change(dead, before, timeout_s=NO_CHANGE_WAIT_S))
    screenshot_notebook(page, SCREENSHOTS / "harness-panels.png")

    # The slider at its maximum is stepped down; each kind of control is reached.
    assert [(m.kind, m.action) for m in moves] == [
        ("slider", "ArrowLeft"),
        ("dropdown", "select_option"),
        ("toggle button", "Space"),
        ("slider", "ArrowRight"),
    ]
    sliders = [moves[0], moves[3]]
    assert [(float(m.before), float(m.after)) for m in sliders] == [(3.0, 2.9), (1.0, 2.0)]
    assert [(m.before, m.after) for m in moves[1:3]] == [("1", "2"), ("false", "true")]
    assert changed == [True, True, True, False]


def test_harness_reports_every_error(page: Page, lab: LabServer) -> None:
    # anywidget's model initialization times out at once, as on a machine too busy to load plotly's
    # module within anywidget's own 2 s; the missing traces then show within a few seconds.
    succeeded, problems, _ = _run(
        page,
        lab,
        f"fixtures/{fixtures.ERRORS_NOTEBOOK}",
        anywidget_init_timeout_ms=1,
        render_timeout_s=NO_CHANGE_WAIT_S,
    )
    screenshot_notebook(page, SCREENSHOTS / "harness-errors.png")
    assert not succeeded

    def expected(problem: str) -> bool:
        known = fixtures.EXPECTED_ERRORS + fixtures.POSSIBLE_ERRORS
        return any(problem.startswith(start) and text in problem for start, text in known)

    for start, text in fixtures.EXPECTED_ERRORS:
        assert any(p.startswith(start) and text in p for p in problems), (start, text, problems)
    assert [p for p in problems if not expected(p)] == []


def test_missing_chromium_fails_with_instructions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LNVIZ_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install chromium"):
        find_chromium()

    monkeypatch.setenv("LNVIZ_CHROMIUM", str(tmp_path / "no-such-chrome"))
    with pytest.raises(FileNotFoundError, match="LNVIZ_CHROMIUM"):
        find_chromium()

    monkeypatch.setenv("LNVIZ_CHROMIUM", sys.executable)
    assert find_chromium() == sys.executable


# A notebook panel, or another document (the text editor), is in the main area: which, and its cells.
_OPENED_JS = """(path) => {
    const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!widget || !widget.context || widget.context.path !== path) return null;
    const notebook = widget.hasClass('jp-NotebookPanel');
    if (notebook && !widget.context.isReady) return null;
    return {notebook, cells: notebook ? widget.content.widgets.length : 0};
}"""


def test_a_py_lesson_opens_as_a_notebook(page: Page, lab: LabServer) -> None:
    """With postBuild's setting, opening a lesson's .py (as a double click does,
    with its default viewer) shows the notebook, not its text."""
    lesson = SOURCES[0]
    (lab.root / "py").mkdir(exist_ok=True)
    shutil.copy(lesson, lab.root / "py" / lesson.name)
    page.goto(lab.url(f"lab/workspaces/py/tree/py/{lesson.name}?reset"))
    handle = page.wait_for_function(_OPENED_JS, arg=f"py/{lesson.name}", timeout=60_000)
    opened = handle.json_value()
    cells = len(jupytext.read(lesson).cells)
    assert opened == {"notebook": True, "cells": cells}, f"{lesson.name} opened as {opened}"


@pytest.fixture(scope="module")
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Export:
    return export_lessons(request.session, tmp_path_factory)


@pytest.mark.parametrize("lesson", SOURCES, ids=[path.stem for path in SOURCES])
def test_exported_page_draws_every_plot_and_plays_its_animations(
    lesson: Path, chromium: Browser, exported: Export
) -> None:
    """The exported page, opened from disk with no network and no kernel, draws
    every plot, and each animation's Play button makes it show frame after frame."""
    path = exported.page(lesson)
    assert path.exists(), f"the export wrote no {path.name}:\n{exported.stderr[-3000:]}"
    context = chromium.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        errors = pages.open_page(page, path.as_uri())
        plots = pages.wait_for_plots(page)
        height = min(int(page.evaluate("() => document.documentElement.scrollHeight")), MAX_SCREENSHOT_HEIGHT)
        page.screenshot(
            path=str(SCREENSHOTS / f"{lesson.stem}-exported.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height},
        )
        assert plots, f"{path.name} has no plot"
        missing = [f"plot {i}: {p}" for i, p in enumerate(plots) if not (p.drawn and p.traces)]
        assert not missing, f"{path.name}: plots not drawn: {missing}"
        for index in [i for i, p in enumerate(plots) if p.frames]:
            playback = pages.press_play(page, index)
            assert playback.data_changed, f"{path.name}, plot {index}: Play did not change the data"
            # the step slider follows the frames (a plot without one reports -1 before and after)
            assert playback.step_after >= playback.step_before + 2 or playback.step_before == -1, playback
        assert errors == [], f"{path.name}: uncaught exceptions {errors}"
    finally:
        context.close()
