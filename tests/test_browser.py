"""Issue 2, section 5, "A real browser": every notebook in JupyterLab, driven by headless Chromium.

Each notebook runs top to bottom with no error output and no "Error displaying widget"; in each
panel, one control is moved as a user moves it (a slider or toggle button with the keyboard; a
dropdown, whose keys JupyterLab takes, by selecting an option) and the plot must change.
Screenshots after the run and after the moves go to $LNVIZ_SCREENSHOTS (default tests/_screenshots/).

One server and one browser serve the whole module; each notebook gets a fresh page and its kernel
is shut down after. The server serves a temporary copy of notebooks/, so autosave never touches the
repository.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from browser import fixtures
from browser.lab import CHROMIUM_ARGS, LabServer, find_chromium, shutdown_kernels, start_lab, stop_lab
from browser.notebook import (
    ANYWIDGET_INIT_TIMEOUT_MS,
    RENDER_TIMEOUT_S,
    nudge_first_control,
    notebook_problems,
    open_notebook,
    panels,
    plot_state,
    run_all_cells,
    screenshot_notebook,
    wait_for_plot_change,
    wait_for_widgets,
)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SCREENSHOTS = Path(os.environ.get("LNVIZ_SCREENSHOTS", REPO / "tests" / "_screenshots"))
VIEWPORT = {"width": 1280, "height": 900}
# Long enough for a FigureWidget to redraw after a callback; the dead panel waits this long for nothing.
NO_CHANGE_WAIT_S = 3.0

pytestmark = pytest.mark.browser


def _copy_notebooks(destination: Path) -> None:
    # jupytext would read a paired notebook's inputs from its .py whenever that is newer, and a git
    # checkout leaves modification times arbitrary: leave the twins out to test the .ipynb as committed.
    def paired_text_files(directory: str, names: list[str]) -> list[str]:
        return [name for name in names if name.endswith(".py") and name[:-3] + ".ipynb" in names]

    shutil.copytree(REPO / "notebooks", destination, ignore=paired_text_files)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    root = tmp_path_factory.mktemp("lab-root")
    _copy_notebooks(root / "notebooks")
    fixtures.write_fixture_notebooks(root / "fixtures")
    server = start_lab(root, tmp_path_factory.mktemp("lab-state"))
    try:
        yield server
    finally:
        stop_lab(server)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    try:
        executable = find_chromium()
    except FileNotFoundError as error:
        pytest.fail(str(error))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Browser, lab: LabServer) -> Iterator[Page]:
    context = chromium.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()
        shutdown_kernels(lab)


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
