"""Issue 5, section 2: every lesson, executed, as a self-contained HTML page and as reveal.js slides.

The lessons are exported once, by the command itself (`exported_lessons`), and each page is read
here for what must be in it: plotly.js once, every plot, every animation's frames, the panels drawn
as static figures, and nothing that loads from the network. test_browser.py opens the same pages in
Chromium. A small notebook exported in this process checks what the lessons cannot pin down: a panel
changed by a later cell shows its last state, and every kind of output survives.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import jupytext
import nbformat
import pytest
from exported_lessons import Export, export_lessons
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from notebook_utils import ROOT, SOURCES
from plotly.offline import get_plotlyjs

from lnviz import export

SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}
PLOTLY_BANNER = get_plotlyjs()[:40]  # "/**\n* plotly.js v4.1.1\n* Copyright ..."


@pytest.fixture(scope="module")
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Export:
    return export_lessons(request.session, tmp_path_factory)


def _remote_loads(page: str) -> list[str]:
    """Tags that load a script or a style sheet from the network."""
    return re.findall(r"<script\b[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>", page) + re.findall(
        r"<link\b[^>]*\bhref=[\"']?(?:https?:)?//[^>]*>", page
    )


class _Slides(HTMLParser):
    """Counts reveal.js's horizontal slides (top-level sections) and all its slides (leaf sections)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.horizontal = 0
        self.vertical = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "section":
            self.depth += 1
            self.horizontal += self.depth == 1
            self.vertical += self.depth == 2

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag == "section"


def _slide_types(notebook: nbformat.NotebookNode) -> list[str | None]:
    return [cell.metadata.get("slideshow", {}).get("slide_type") for cell in notebook.cells]


# --- the lessons, as the export command writes them ----------------------------------------------


def test_export_command_exports_every_lesson_and_drops_no_output(exported: Export) -> None:
    assert exported.returncode == 0, exported.stderr[-3000:]
    # nbconvert's warning for an output it cannot show, which it then leaves out of the page
    assert export.UNREPRESENTABLE not in exported.stderr + exported.stdout
    written = sorted(path.name for path in exported.out.iterdir())
    assert written == sorted(name for p in SOURCES for name in (f"{p.stem}.html", f"{p.stem}.slides.html"))
    for lesson in SOURCES:
        assert re.search(rf"^{lesson.stem}: \d+ s, wrote ", exported.stdout, re.M), exported.stdout


@pytest.mark.parametrize("lesson", SOURCES, ids=lambda p: p.stem)
def test_page_has_its_plots_and_frames_and_works_offline(lesson: Path, exported: Export) -> None:
    for path in (exported.page(lesson), exported.slides(lesson)):
        page = path.read_text(encoding="utf-8")
        assert page.count(PLOTLY_BANNER) == 1, f"{path.name}: expected plotly.js inlined once"
        plots = page.count('class="plotly-graph-div"')
        assert plots >= 1 and page.count("Plotly.newPlot(") == plots, path.name
        # A lesson that asks the reader to press Play has an animation that plays without a kernel.
        if "**Play**" in lesson.read_text():
            assert page.count("Plotly.addFrames(") >= 1, f"{path.name}: no plot has frames"
        # Every panel is drawn as figures and text, not as a widget the page cannot render.
        assert not re.search(r"\b(?:VBox|HBox|FigureWidget)\(", page.replace(get_plotlyjs(), "")), (
            f"{path.name} shows a widget as text"
        )
        assert "application/vnd.jupyter.widget-view+json" not in page  # no widget manager needed
        assert "require.js" not in page and "require.min.js" not in page
        if path.name.endswith(".slides.html"):
            remote = [tag for tag in _remote_loads(page) if export.DEFAULT_REVEAL_PREFIX not in tag]
        else:
            remote = _remote_loads(page)
        assert remote == [], f"{path.name} loads from the network: {remote}"


@pytest.mark.parametrize("lesson", SOURCES, ids=lambda p: p.stem)
def test_slides_follow_the_cells_slide_tags(lesson: Path, exported: Export) -> None:
    types = _slide_types(jupytext.read(lesson))
    slides = _Slides()
    slides.feed(exported.slides(lesson).read_text(encoding="utf-8"))
    assert slides.depth == 0
    if any(types):
        assert slides.horizontal == types.count("slide")
        assert slides.vertical == types.count("slide") + types.count("subslide")
    else:
        assert (slides.horizontal, slides.vertical) == (1, 1)


# --- slide tags in the lessons --------------------------------------------------------------------


@pytest.mark.parametrize("lesson", SOURCES, ids=lambda p: p.stem)
def test_slide_tags_are_the_same_in_py_and_ipynb(lesson: Path) -> None:
    ipynb = nbformat.read(lesson.with_suffix(".ipynb"), as_version=4)
    assert _slide_types(jupytext.read(lesson)) == _slide_types(ipynb), (
        f"run `jupytext --sync {lesson.relative_to(ROOT)}`"
    )


@pytest.mark.parametrize("lesson", SOURCES, ids=lambda p: p.stem)
def test_every_lesson_starts_a_slide_at_every_heading(lesson: Path) -> None:
    notebook = jupytext.read(lesson)
    types = _slide_types(notebook)
    # every lesson, a new one too: without tags reveal.js shows it as one long slide
    assert any(types), f"{lesson.name} has no slide tags"
    assert set(types) <= SLIDE_TYPES | {None}, set(types)
    assert types[0] == "slide"
    for cell, slide_type in zip(notebook.cells, types):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            assert slide_type == "slide", f"a heading that does not start a slide: {cell.source[:60]!r}"
    first_code = next(t for c, t in zip(notebook.cells, types) if c.cell_type == "code")
    assert first_code == "skip", "the imports are no slide"


# --- one small notebook, exported in this process -------------------------------------------------


FIXTURE_CELLS = (
    new_markdown_cell("# A fixture\n\nInline math $a_i = w_i^\\top x$."),
    new_code_cell("from lnviz.panels import PoolingPanel\n\npooling = PoolingPanel()\npooling"),
    # a later cell changes the panel: the page must show the panel as this cell leaves it
    new_code_cell('pooling.controls["method"].value = "layer"\npooling.controls["case"].value = 6'),
    new_code_cell(
        "import plotly.graph_objects as go\n\n"
        "frames = [go.Frame(data=[go.Scatter(y=[0, k, 2 * k])], name=str(k)) for k in range(3)]\n"
        "play = dict(label='Play', method='animate', args=[None])\n"
        "go.Figure(data=frames[0].data, frames=frames,\n"
        "          layout=dict(updatemenus=[dict(type='buttons', buttons=[play])]))"
    ),
    new_code_cell("go.FigureWidget(data=[go.Bar(y=[3, 1, 2])])"),
    new_code_cell("from tqdm.auto import tqdm\n\nfor _ in tqdm(range(3)):\n    pass"),
    new_code_cell('import ipywidgets as widgets\n\nwidgets.IntSlider(description="alone")'),
)


@pytest.fixture(scope="module")
def fixture_export(tmp_path_factory: pytest.TempPathFactory) -> export.Exported:
    folder = tmp_path_factory.mktemp("fixture")
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = new_notebook(cells=list(FIXTURE_CELLS), metadata={"kernelspec": kernelspec})
    nbformat.write(notebook, folder / "99_fixture.ipynb")
    return export.export_notebook(folder / "99_fixture.ipynb", folder / "out")


def test_a_panel_shows_its_last_state(fixture_export: export.Exported) -> None:
    page = fixture_export.html.read_text(encoding="utf-8")
    assert "normalization: layer norm" in page and "case n: 6" in page
    assert "normalization: batch norm" not in page and "case n: 2" not in page
    assert "layer norm: entry (6, 5)" in page  # the panel's figure title, as the control change set it


def test_every_kind_of_output_survives(fixture_export: export.Exported) -> None:
    page = fixture_export.html.read_text(encoding="utf-8")
    # the panel, the animation and the bare FigureWidget: each a plot drawn by the page's plotly.js
    assert page.count('class="plotly-graph-div"') == 3
    assert page.count("Plotly.addFrames(") == 1
    assert page.count(PLOTLY_BANNER) == 1
    # animations wait for their Play button
    assert "Plotly.animate(" not in page.replace(get_plotlyjs(), "")
    # tqdm's bar and a widget with no figure keep their text; the equation stays for MathJax
    assert "100%" in page and "IntSlider(" in page
    assert "$a_i = w_i^\\top x$" in page and export.DEFAULT_MATHJAX_URL in page
    assert _remote_loads(page) == []


def test_executed_notebook_has_no_widget_state_and_counts_from_one(fixture_export: export.Exported) -> None:
    notebook = fixture_export.notebook
    assert "widgets" not in notebook.metadata  # 5 MB of plotly's JavaScript per FigureWidget
    counts = [cell.execution_count for cell in notebook.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))  # the export's own set-up takes no number


def test_an_output_the_page_cannot_show_stops_the_export() -> None:
    # what plotly >= 6.1 displays by default in a kernel: only its own mimetype, which a page cannot show
    figure = {"data": [{"type": "bar", "y": [1, 2]}], "layout": {}}
    output = nbformat.v4.new_output("display_data", data={"application/vnd.plotly.v1+json": figure})
    cell = new_code_cell("figure", outputs=[output])
    with pytest.raises(export.ExportError, match="drop 1 kind.*application/vnd.plotly.v1\\+json"):
        export.convert(new_notebook(cells=[cell]), "plotly_mimetype_only")


# --- the command line -----------------------------------------------------------------------------


def test_lessons_are_chosen_by_number_or_name(tmp_path: Path) -> None:
    for name in ("01_a.py", "02_b.py", "02_b.ipynb", "10_c.py", "notes.py"):
        (tmp_path / name).touch()
    assert [p.name for p in export.lessons(tmp_path)] == ["01_a.py", "02_b.py", "10_c.py"]
    assert [p.name for p in export.lessons(tmp_path, ["10", "02_b.ipynb", "01_a"])] == ["10_c.py", "02_b.py", "01_a.py"]
    with pytest.raises(ValueError, match="starts with '03'.*found none among"):
        export.lessons(tmp_path, ["03"])
    with pytest.raises(ValueError, match="expected lessons NN_topic.py"):
        export.lessons(tmp_path / "empty")


def test_unknown_lesson_stops_the_command_with_its_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        export.main(["--notebooks", str(ROOT / "notebooks"), "77_no_such_lesson"])
    assert stop.value.code == 2 and "77_no_such_lesson" in capsys.readouterr().err


def test_a_failing_lesson_is_reported_and_the_others_are_exported(tmp_path: Path) -> None:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "01_fine.py").write_text("# %%\nprint('fine')\n")
    (lessons / "02_broken.py").write_text("# %%\n1 / 0\n")
    result = subprocess.run(
        [sys.executable, "-m", "lnviz.export", "--notebooks", str(lessons), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "FAILED 02_broken: CellExecutionError" in result.stderr and "ZeroDivisionError" in result.stderr
    assert "1 of 2 lessons failed" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["01_fine.html", "01_fine.slides.html"]


def test_dev_py_export_sets_up_then_runs_the_export(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    calls = []
    monkeypatch.setattr(dev, "setup", lambda extras: calls.append(("setup", extras)) or Path("/venv/python"))
    monkeypatch.setattr(dev.subprocess, "call", lambda command, cwd: calls.append((command, cwd)) or 0)
    assert dev.main(["export", "--out", "somewhere", "01"]) == 0
    assert calls == [("setup", ""), (["/venv/python", "-m", "lnviz.export", "--out", "somewhere", "01"], dev.ROOT)]
