"""Every lesson, executed, as a self-contained HTML page and as reveal.js slides.

The lessons are exported once, by the command itself (`exported_lessons`), and each page is read
here for what must be in it: plotly.js once, every plot, every animation's frames, the panels drawn
as static figures, and nothing that loads from the network. test_browser.py opens the same pages in
Chromium. A small notebook exported in this process checks what the lessons cannot pin down: a panel
changed by a later cell shows its last state, and every kind of output survives.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import jupytext
import nbformat
import pytest
from browser import pages
from exported_lessons import Export, export_lessons
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from notebook_utils import ROOT, SOURCES
from playwright.sync_api import Browser, Page, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from plotly.offline import get_plotlyjs

from lnviz import export, student

SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}
PLOTLY_BANNER = get_plotlyjs()[:40]  # "/**\n* plotly.js v4.1.1\n* Copyright ..."


@pytest.fixture(scope="module")
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Export:
    return export_lessons(request.session, tmp_path_factory)


def _remote_loads(page: str) -> list[str]:
    """Tags that load a script or a style sheet from the network, and style sheets' remote imports."""
    return (
        re.findall(r"<script\b[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>", page)
        + re.findall(r"<link\b[^>]*\bhref=[\"']?(?:https?:)?//[^>]*>", page)
        + re.findall(r"@import\s+url\(\s*[\"']?(?:https?:)?//[^)]*\)", page)
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
    # one line per lesson and nothing else: no kernel log ("Kernel is running over TCP ...") per lesson
    assert "[IPKernelApp]" not in exported.stderr and "WARNING" not in exported.stderr, exported.stderr[-3000:]
    assert len(exported.stdout.splitlines()) == len(SOURCES), exported.stdout


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
        remote = _remote_loads(page)
        assert remote == [], f"{path.name} loads from the network: {remote}"
        # MathJax (and, in the slides, reveal.js) is inlined: nothing is loaded from a file beside the page
        assert page.count(export.inline_script(export.MATHJAX_JS)) == 1, f"{path.name}: expected MathJax inlined"
        assert not re.search(r"<(?:script|link)\b[^>]*\b(?:src|href)=", page), f"{path.name} loads a file"


@pytest.mark.parametrize("lesson", SOURCES, ids=lambda p: p.stem)
def test_page_and_slides_show_no_exercise_solution(lesson: Path, exported: Export) -> None:
    notebook = jupytext.read(lesson)
    solutions = [cell for cell in notebook.cells if student.is_solution_cell(cell)]
    # the names a solution cell defines or fills in ("layer_norm_solution", "table1_solution")
    named = sorted(set(re.findall(r"\b\w+_solution\b", "".join(cell.source for cell in solutions))))
    for path in (exported.page(lesson), exported.slides(lesson)):
        page = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in page and "<strong>A solution</strong>" not in page, path.name
        shown = [name for name in named if name in page]
        assert shown == [], f"{path.name} shows the solution that defines {shown}"
    # each exercise's check stays on the page: the code cell before the solution's note calls it
    page = exported.page(lesson).read_text(encoding="utf-8")
    cells = notebook.cells
    checks = [
        name
        for before, cell in zip(cells, cells[1:])
        if student.SOLUTION_TAG in cell.metadata.get("tags", []) and before.cell_type == "code"
        for name in re.findall(r"\bcheck_\w+", before.source)
    ]
    assert bool(checks) == bool(solutions), f"{lesson.name}: expected a check before each solution"
    assert [name for name in checks if f'<span class="n">{name}</span>' not in page] == [], checks


@pytest.mark.parametrize("lesson", SOURCES, ids=lambda p: p.stem)
def test_slides_follow_the_cells_slide_tags(lesson: Path, exported: Export) -> None:
    types = _slide_types(export.without_solutions(jupytext.read(lesson)))
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
    assert "$a_i = w_i^\\top x$" in page and export.inline_script(export.MATHJAX_JS) in page
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


def test_solution_cells_and_their_note_are_left_out_and_the_stub_and_check_stay() -> None:
    def ran(cell: nbformat.NotebookNode, text: str) -> nbformat.NotebookNode:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        return cell

    note = new_markdown_cell("**A solution**, collapsed: the three dots below.", metadata={"tags": ["solution"]})
    solution = new_code_cell(
        "def square_solution(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION\n\n"
        "check_square(square_solution)",
        metadata={"jupyter": {"source_hidden": True}, "slideshow": {"slide_type": "skip"}},
    )
    cells = [
        new_markdown_cell("# Exercise\n\nWrite `square`.", metadata={"slideshow": {"slide_type": "slide"}}),
        new_code_cell("def square(x):\n    raise NotImplementedError  # your code here"),
        ran(new_code_cell("check_square(square)"), "square: not written yet"),
        note,
        ran(solution, "square_solution: all 3 cases right"),
    ]
    page, slides = export.convert(new_notebook(cells=cells), "exercise")
    for name, shown in (("page", page), ("slides", slides)):
        assert "square_solution" not in shown and "BEGIN SOLUTION" not in shown, f"the {name} shows the solution"
        assert "A solution" not in shown, f"the {name} shows the solution's note"
        assert "NotImplementedError" in shown and "square: not written yet" in shown, f"the {name} lost the stub"
    assert 'class="n">check_square</span>' in page  # the check's code, on the page


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


# --- the vendored front-end files -----------------------------------------------------------------


def test_every_vendored_file_is_package_data_and_each_project_keeps_its_licence() -> None:
    import tomllib

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["lnviz"]
    package = ROOT / "lnviz"
    vendored = [path for path in (package / "_vendor").rglob("*") if path.is_file()]
    assert export.MATHJAX_JS in vendored and export.REVEAL_DIR / "dist" / "reveal.js" in vendored
    # what `pip install .` would leave out of the wheel, and so out of every page (setuptools globs
    # package-data recursively, as Path.glob does)
    packaged = {path for glob in globs for path in package.glob(glob)}
    missing = [path for path in vendored if path not in packaged]
    assert missing == [], f"not in [tool.setuptools.package-data]: {missing}"
    for project, version in (("reveal.js", "4.0.2"), ("mathjax", "3.2.2")):
        folder = package / "_vendor" / project
        assert (folder / "LICENSE").stat().st_size > 500, f"{project} without its licence"
        readme = (folder / "README.md").read_text()
        assert f"npm pack {project}@{version}" in readme and "Licence" in readme, f"{project}'s README"


def test_an_inlined_script_cannot_end_or_nest_its_script_tag(tmp_path: Path) -> None:
    script = tmp_path / "a.js"
    script.write_text('var a = "</script>", b = /<!--.*?-->/g, c = "<SCRIPT src=x>";', encoding="utf-8")
    inlined = export.inline_script(script)
    assert re.search(r"<(?:/?script|!--)", inlined, re.I) is None, inlined
    # the same text once JavaScript reads its escapes
    assert inlined.replace("\\x3C", "<") == script.read_text()


def test_a_style_sheet_is_inlined_with_its_imports_and_fonts(tmp_path: Path) -> None:
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "f.woff").write_bytes(b"wOFF font")
    (tmp_path / "fonts" / "f.css").write_text(
        "@font-face { font-family: F; src: url('f.eot');\n"
        "  src: url('f.eot?#iefix') format('embedded-opentype'), url('f.woff') format('woff'); }"
    )
    (tmp_path / "theme.css").write_text("@import url(fonts/f.css);\nbody { font-family: F; }")
    css = export.inline_style(tmp_path / "theme.css")
    assert "@import" not in css and "body { font-family: F; }" in css
    # the font that exists is embedded; the one that does not is left out, with its declaration
    assert css.count("url(data:font/woff;base64,d09GRiBmb250)") == 1 and ".eot" not in css
    # what would still load from the network stops the export, by name
    (tmp_path / "import.css").write_text("@import url(https://fonts.example/x.css);\nbody { color: red; }")
    with pytest.raises(ValueError, match=r"import\.css to inline completely.*https://fonts\.example/x\.css"):
        export.inline_style(tmp_path / "import.css")
    (tmp_path / "image.css").write_text("body { background: url(https://example.org/x.png); }")
    with pytest.raises(ValueError, match=r"image\.css to inline completely.*https://example\.org/x\.png"):
        export.inline_style(tmp_path / "image.css")


def test_urls_given_for_reveal_and_mathjax_are_loaded_instead_of_the_bundled_copies() -> None:
    notebook = new_notebook(cells=[new_markdown_cell("# Title\n\n$x$")])
    notebook.cells[0].metadata["slideshow"] = {"slide_type": "slide"}
    page, slides = export.convert(
        notebook, "cdn", reveal_prefix=export.CDN_REVEAL_PREFIX + "/", mathjax_url=export.CDN_MATHJAX_URL
    )
    for html_text in (page, slides):
        assert export.CDN_MATHJAX_URL in html_text and "startup" in html_text
        assert export.inline_script(export.MATHJAX_JS) not in html_text
    assert f'<script src="{export.CDN_REVEAL_PREFIX}/dist/reveal.js">' in slides
    assert f"{export.CDN_REVEAL_PREFIX}/dist/theme/{export.REVEAL_THEME}.css" in slides
    assert export.inline_script(export.REVEAL_DIR / "dist" / "reveal.js") not in slides
    # and by default, both are in the page
    page, slides = export.convert(notebook, "inlined")
    assert export.inline_script(export.REVEAL_DIR / "dist" / "reveal.js") in slides
    assert export.inline_style(export.REVEAL_DIR / "dist" / "reveal.css") in slides
    assert export.inline_script(export.MATHJAX_JS) in page and export.CDN_MATHJAX_URL not in page


@pytest.mark.parametrize("option", ["--reveal-prefix", "--mathjax-url"])
def test_an_empty_url_stops_the_command_with_a_message(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        export.main(["--notebooks", str(ROOT / "notebooks"), option, " ", "01"])
    assert stop.value.code == 2 and f"expected a URL after {option}" in capsys.readouterr().err


# --- the exported lessons in a browser with no network --------------------------------------------

SCREENSHOTS = Path(os.environ.get("LNVIZ_SCREENSHOTS", ROOT / "tests" / "_screenshots"))
TYPESET_TIMEOUT_MS = 60_000
SLIDES_VIEWPORT = {"width": 1280, "height": 720}

# What MathJax left in the lesson's text: typeset equations in its markdown, MathJax's error boxes, and
# the markdown's text outside the equations (where raw TeX would show).
_MATH_STATE_JS = """() => {
    const markdown = [...document.querySelectorAll('.jp-RenderedMarkdown')];
    const text = markdown.map((cell) => {
        const copy = cell.cloneNode(true);
        copy.querySelectorAll('mjx-container').forEach((math) => math.remove());
        return copy.textContent;
    }).join('\\n');
    return {
        typeset: markdown.reduce((n, cell) => n + cell.querySelectorAll('mjx-container').length, 0),
        errors: document.querySelectorAll('mjx-merror').length,
        rawTex: (text.match(/\\$\\$?|\\\\[A-Za-z]+/g) || []).slice(0, 10),
    };
}"""

#: MathJax is done: the pages' MathJax configuration marks the document when it has typeset the page.
_TYPESET_JS = "() => document.documentElement.dataset.lnvizTypeset === 'done'"

_REVEAL_STATE_JS = """() => ({
    defined: typeof Reveal !== 'undefined',
    ready: typeof Reveal !== 'undefined' && Reveal.isReady() && document.querySelector('.reveal.ready') !== null,
    slides: typeof Reveal !== 'undefined' ? Reveal.getTotalSlides() : 0,
})"""


def _math_spans(lesson: Path) -> int:
    """How many equations ($...$ and $$...$$) the markdown of the exported lesson (no solutions) holds, outside code."""
    count = 0
    for cell in export.without_solutions(jupytext.read(lesson)).cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"`[^`]*`", "", re.sub(r"```.*?```", "", cell.source, flags=re.S)).replace("\\$", "")
        count += len(re.findall(r"\$\$.+?\$\$", text, flags=re.S))
        count += len(re.findall(r"\$[^$]+?\$", re.sub(r"\$\$.+?\$\$", "", text, flags=re.S), flags=re.S))
    return count


@contextmanager
def _offline_page(
    browser: Browser, path: Path, viewport: dict[str, int]
) -> Iterator[tuple[Page, list[str], list[str]]]:
    """A page opened on `path` with every request that is not for a local file aborted; yields the
    page, the requests it tried to make to anywhere else, and its uncaught exceptions."""
    context = browser.new_context(viewport=viewport)
    outside: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        yield page, outside, errors
    finally:
        context.close()


def _assert_typeset(page: Page, lesson: Path, name: str) -> None:
    """Wait for MathJax to finish, then check every equation of the lesson's markdown is typeset."""
    try:
        page.wait_for_function(_TYPESET_JS, timeout=TYPESET_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        pass  # the assertions below say what the page shows instead
    state = page.evaluate(_MATH_STATE_JS)
    assert state["rawTex"] == [], f"{name} shows raw TeX: {state['rawTex']}"
    assert state["errors"] == 0, f"{name}: {state['errors']} equations MathJax could not typeset"
    assert state["typeset"] == _math_spans(lesson), f"{name}: typeset {state['typeset']} equations"


@pytest.mark.browser
@pytest.mark.parametrize("lesson", SOURCES, ids=lambda p: p.stem)
def test_page_typesets_its_maths_and_plays_offline(lesson: Path, exported: Export, chromium: Browser) -> None:
    path = exported.page(lesson)
    with _offline_page(chromium, path, {"width": 1280, "height": 900}) as (page, outside, errors):
        _assert_typeset(page, lesson, path.name)
        plots = pages.wait_for_plots(page)
        assert plots and all(plot.drawn and plot.traces for plot in plots), f"{path.name}: plots {plots}"
        # a lesson that asks for Play: its first animation plays (test_browser.py plays every one)
        animated = [index for index, plot in enumerate(plots) if plot.frames]
        if "**Play**" in lesson.read_text():
            assert animated, f"{path.name} has no animation"
            assert pages.press_play(page, animated[0]).data_changed, f"{path.name}: Play changed nothing"
        if lesson == SOURCES[1]:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.locator("mjx-container[display='true']").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / f"{lesson.stem}-offline-page.png"))
        assert errors == [], f"{path.name}: uncaught exceptions {errors}"
    assert outside == [], f"{path.name} asked the network for {outside}"


@pytest.mark.browser
@pytest.mark.parametrize("lesson", SOURCES, ids=lambda p: p.stem)
def test_slides_start_and_typeset_offline(lesson: Path, exported: Export, chromium: Browser) -> None:
    path = exported.slides(lesson)
    types = _slide_types(export.without_solutions(jupytext.read(lesson)))
    with _offline_page(chromium, path, SLIDES_VIEWPORT) as (page, outside, errors):
        try:
            page.wait_for_function("() => typeof Reveal !== 'undefined' && Reveal.isReady()", timeout=30_000)
        except PlaywrightTimeoutError:
            pass  # the assertion below says what is missing
        reveal = page.evaluate(_REVEAL_STATE_JS)
        assert reveal["defined"] and reveal["ready"], f"{path.name}: reveal.js did not start ({reveal}, {errors})"
        assert reveal["slides"] == types.count("slide") + types.count("subslide")
        _assert_typeset(page, lesson, path.name)
        if lesson == SOURCES[1]:
            # the first slide with a displayed equation, as the room sees it
            indices = page.evaluate(
                "() => Reveal.getIndices(document.querySelector(\"mjx-container[display='true']\").closest('section'))"
            )
            page.evaluate("([h, v]) => Reveal.slide(h, v)", [indices["h"], indices["v"]])
            page.wait_for_timeout(1500)  # the slide transition
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{lesson.stem}-offline-slide.png"))
        assert errors == [], f"{path.name}: uncaught exceptions {errors}"
    assert outside == [], f"{path.name} asked the network for {outside}"


# --- every slide fits a 1280x720 screen -----------------------------------------------------------

#: What a slide holds that does not fit the slide area (the `.reveal .slides` box as the screen shows it,
#: within the viewport), and what it clips: the slide scrolling, any element whose box runs past the
#: area, any element that hides part of its content behind its own overflow. A plot is judged by its box
#: (plotly clips its own drawing), a typeset equation by its SVG.
_SLIDE_FIT_JS = """() => {
    const slide = Reveal.getCurrentSlide();
    const area = document.querySelector('.reveal .slides').getBoundingClientRect();
    const box = {left: Math.max(area.left, 0), top: Math.max(area.top, 0),
                 right: Math.min(area.right, innerWidth), bottom: Math.min(area.bottom, innerHeight)};
    const slack = 1.5;
    const name = (element) => {
        const classes = typeof element.className === 'string' ? element.className.trim().split(/\\s+/) : [];
        const text = (element.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 50);
        return element.tagName.toLowerCase() + classes.slice(0, 2).map((c) => '.' + c).join('')
            + (text ? ` "${text}"` : '');
    };
    const sizes = (e) => `${e.scrollWidth}x${e.scrollHeight} in ${e.clientWidth}x${e.clientHeight}`;
    const problems = [];
    if (slide.scrollHeight > slide.clientHeight + slack || slide.scrollWidth > slide.clientWidth + slack) {
        problems.push(`the slide scrolls: ${sizes(slide)}`);
    }
    for (const element of slide.querySelectorAll('*')) {
        const parent = element.parentElement;
        if (element.closest('aside.notes') || (parent && parent.closest('.js-plotly-plot'))) continue;
        if (parent && parent.closest('mjx-container') && element.tagName.toLowerCase() !== 'svg') continue;
        const rect = element.getBoundingClientRect();
        if (rect.width <= 1 && rect.height <= 1) continue;  // not shown, or shown to screen readers only
        const out = [];
        for (const [edge, sign] of [['left', -1], ['top', -1], ['right', 1], ['bottom', 1]]) {
            if (sign * (rect[edge] - box[edge]) > slack) {
                out.push(`${edge} edge ${Math.round(rect[edge])} ${sign > 0 ? '>' : '<'} ${Math.round(box[edge])}`);
            }
        }
        if (!(element instanceof SVGElement)) {
            const style = getComputedStyle(element);
            if ((style.overflowY !== 'visible' && element.scrollHeight > element.clientHeight + slack)
                || (style.overflowX !== 'visible' && element.scrollWidth > element.clientWidth + slack)) {
                out.push(`clips ${sizes(element)}`);
            }
        }
        if (out.length) problems.push(`${name(element)}: ${out.join(', ')}`);
    }
    return {
        problems,
        code: slide.querySelectorAll('.jp-CodeCell .jp-InputArea').length,
        plots: [...slide.querySelectorAll('.js-plotly-plot')].map((plot) => ({
            drawn: plot._fullLayout !== undefined && plot.querySelector('.main-svg') !== null,
            height: plot.getBoundingClientRect().height,
        })),
        zoom: slide.querySelector('.lnviz-fit') ? slide.querySelector('.lnviz-fit').style.zoom : null,
    };
}"""

#: The slide's content has been fitted (the slides' own script marks it), after any layout change.
_SLIDE_FITTED_JS = "() => Reveal.getCurrentSlide().dataset.lnvizFit === 'done'"
SLIDE_FIT_TIMEOUT_MS = 15_000


@dataclass
class SlideFit:
    """One slide as shown at 1280x720: its position, what does not fit, the code and plots it shows."""

    index: int
    h: int
    v: int
    problems: list[str]
    code: int
    plots: list[dict]
    zoom: str | None


def _fit_every_slide(page: Page, screenshots: str | None = None) -> list[SlideFit]:
    """Show each slide of the deck open in `page` (reveal.js started, MathJax done), with no transition,
    and measure it once its content is fitted. With `screenshots`, save the first slide and every slide
    that shows a figure as SCREENSHOTS/<screenshots>-slide-NN.png."""
    page.evaluate("() => Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
    fits = []
    for index, where in enumerate(page.evaluate("() => Reveal.getSlides().map((s) => Reveal.getIndices(s))")):
        h, v = where["h"], where.get("v") or 0
        page.evaluate("([h, v]) => Reveal.slide(h, v)", [h, v])
        try:
            page.wait_for_function(_SLIDE_FITTED_JS, timeout=SLIDE_FIT_TIMEOUT_MS)
        except PlaywrightTimeoutError:
            fits.append(SlideFit(index, h, v, ["the slide was never marked fitted"], 0, [], None))
            continue
        fits.append(SlideFit(index, h, v, **page.evaluate(_SLIDE_FIT_JS)))
        if screenshots and (index == 0 or fits[-1].plots):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{screenshots}-slide-{index:02d}.png"))
    return fits


def _open_slides(page: Page, name: str) -> None:
    """Wait until reveal.js has started and MathJax has typeset the deck `name` open in `page`."""
    try:
        page.wait_for_function("() => typeof Reveal !== 'undefined' && Reveal.isReady()", timeout=30_000)
        page.wait_for_function(_TYPESET_JS, timeout=TYPESET_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        pytest.fail(f"{name}: reveal.js did not start or MathJax did not finish: {page.evaluate(_REVEAL_STATE_JS)}")


@pytest.mark.browser
@pytest.mark.parametrize("lesson", SOURCES, ids=lambda p: p.stem)
def test_every_slide_fits_1280x720_and_shows_its_figures_without_code(
    lesson: Path, exported: Export, chromium: Browser
) -> None:
    path = exported.slides(lesson)
    with _offline_page(chromium, path, SLIDES_VIEWPORT) as (page, outside, errors):
        _open_slides(page, path.name)
        fits = _fit_every_slide(page, screenshots=lesson.stem)
        assert errors == [], f"{path.name}: uncaught exceptions {errors}"
    assert outside == [], f"{path.name} asked the network for {outside}"
    failures = [f"slide {f.index} ({f.h}, {f.v}): {problem}" for f in fits for problem in f.problems]
    assert failures == [], f"{path.name}: {len(failures)} things do not fit 1280x720:\n" + "\n".join(failures[:40])
    showing_code = [f.index for f in fits if f.code and f.plots]
    assert showing_code == [], f"{path.name}: slides {showing_code} show code beside their figures"
    undrawn = [f.index for f in fits for plot in f.plots if not plot["drawn"] or plot["height"] < 100]
    assert undrawn == [], f"{path.name}: slides {undrawn} show a plot undrawn or squashed"


def test_slides_leave_out_code_and_the_page_keeps_it(fixture_export: export.Exported) -> None:
    page = fixture_export.html.read_text(encoding="utf-8")
    slides = fixture_export.slides.read_text(encoding="utf-8")
    code = [cell for cell in fixture_export.notebook.cells if cell.cell_type == "code"]
    assert page.count('class="jp-CodeMirrorEditor') == len(code), "the page lost code"
    # the slides keep only the code of a cell with nothing else to show (here, setting the panel's controls)
    silent = [cell for cell in code if not cell.outputs]
    assert len(silent) == 1 and "PoolingPanel" not in slides, "the slides show the code of cells with outputs"
    assert slides.count('class="jp-CodeMirrorEditor') == 1 and 'controls</span><span class="p">[' in slides
    # the outputs stay: the panel's controls and its figure, tqdm's bar
    assert "normalization: layer norm" in slides and "100%" in slides
    assert slides.count('class="plotly-graph-div"') == 3


@pytest.mark.browser
def test_a_slide_too_full_for_the_screen_is_fitted(fixture_export: export.Exported, chromium: Browser) -> None:
    # The fixture has no slide tags: one slide holds its text, the panel, two more figures and tqdm's bar,
    # far taller than 720 px. Its figures give up height, then the slide zooms out: nothing is cut off.
    path = fixture_export.slides
    with _offline_page(chromium, path, SLIDES_VIEWPORT) as (page, outside, errors):
        _open_slides(page, path.name)
        [fit] = _fit_every_slide(page, screenshots="fixture-full")
        # each figure's height as built (recorded by the slides' script), as shown, and its margins
        heights = page.evaluate(
            "() => [...document.querySelectorAll('.js-plotly-plot')].map((p) =>"
            " [Number(p.dataset.lnvizHeight), p._fullLayout.height, p._fullLayout.margin.t + p._fullLayout.margin.b])"
        )
        assert errors == []
    assert outside == []
    assert fit.problems == [], "\n".join(fit.problems)
    assert fit.code == 1 and len(fit.plots) == 3  # the code of the one cell without output
    # each figure gave up height from its plotting area, down to the floor and no further
    fraction = export.SLIDE_FIGURE_MIN_PLOT_FRACTION
    assert all(now < before for before, now, _ in heights), heights
    assert all(now >= margins + fraction * (before - margins) - 1 for before, now, margins in heights), heights
    assert fit.zoom not in (None, "", "1"), "expected the slide zoomed out once its figures are at their floor"


# --- axe-core on the exported pages ----------------------------------------------------------------

#: axe-core's rule tags for WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: A lesson with code of every kind the templates colour (comments, strings, numbers, keywords,
#: operators), prompts, a panel, equations and an exercise.
AXE_LESSON = ROOT / "notebooks" / "02_invariance.py"


def _axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on what `page` shows, one line per element."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
    violations = results.response["violations"]
    counts = {violation["id"]: len(violation["nodes"]) for violation in violations}
    print(f"axe-core {results.response['testEngine']['version']}: {counts or 'no violations'}")
    return [
        f"{violation['id']} ({violation['help']}): {node['target']} {node['html'][:100]} "
        f"{(node['any'] or node['all'] or [{'message': ''}])[0]['message'][:160]}"
        for violation in violations
        for node in violation["nodes"]
    ]


@pytest.mark.browser
@pytest.mark.parametrize("lesson", [AXE_LESSON], ids=lambda p: p.stem)
def test_exported_page_and_every_slide_pass_axe_wcag_a_and_aa(
    lesson: Path, exported: Export, chromium: Browser
) -> None:
    path = exported.page(lesson)
    with _offline_page(chromium, path, {"width": 1280, "height": 900}) as (page, outside, _):
        page.wait_for_function(_TYPESET_JS, timeout=TYPESET_TIMEOUT_MS)
        pages.wait_for_plots(page)
        found = _axe_violations(page)
    assert outside == []
    assert found == [], f"{path.name}: axe-core violations:\n" + "\n".join(found[:40])
    # axe-core looks only at what shows, and a deck shows one slide at a time: every slide in turn
    path = exported.slides(lesson)
    found = []
    with _offline_page(chromium, path, SLIDES_VIEWPORT) as (page, outside, _):
        _open_slides(page, path.name)
        page.evaluate("() => Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
        for where in page.evaluate("() => Reveal.getSlides().map((s) => Reveal.getIndices(s))"):
            page.evaluate("([h, v]) => Reveal.slide(h, v)", [where["h"], where.get("v") or 0])
            page.wait_for_function(_SLIDE_FITTED_JS, timeout=SLIDE_FIT_TIMEOUT_MS)
            found += [f"slide ({where['h']}, {where.get('v') or 0}) {line}" for line in _axe_violations(page)]
    assert outside == []
    assert found == [], f"{path.name}: axe-core violations:\n" + "\n".join(found[:40])
