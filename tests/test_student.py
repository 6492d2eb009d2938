"""The lessons' exercises and their student copies (lnviz.student).

- Every collapsed solution cell of a lesson, taken from the lesson itself (not copied here), passes the
  checker it calls; with its marked region replaced as the student copy replaces it, it no longer does.
- `python -m lnviz.student` (`dev.py export --student`) writes every lesson without a solution line, and
  the copies run top to bottom with their checks saying "Not done yet".
- The feedback box reads in a real browser: its verdict word is visible and its text has contrast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from dev_module import dev
from lesson_cells import FUNCTION_EXERCISES, lesson_imports, run_cell, solution_cells, top_level_names
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from notebook_utils import ROOT, SOURCES, error_outputs, execute

from lnviz import student
from lnviz.exercises import Feedback, check_layer_norm

#: The lessons whose solutions are checked here: those test_lesson_exercises.py does not take (its
#: exercises ask for functions; lesson 2's asks for a table). Every lesson is copied all the same.
EXERCISED = [p for p in SOURCES if "### BEGIN SOLUTION" in p.read_text() and p.stem not in FUNCTION_EXERCISES]
SCREENSHOTS = ROOT / "tests" / "_screenshots"


# --- the solutions in the lessons -----------------------------------------------------------------


@pytest.mark.parametrize("lesson", EXERCISED, ids=lambda p: p.stem)
def test_every_solution_in_the_lesson_passes_its_checker(lesson: Path) -> None:
    notebook = jupytext.read(lesson)
    cells = solution_cells(notebook)
    assert cells, f"{lesson.name} has no collapsed solution cell"
    for cell in cells:
        assert "BEGIN SOLUTION" in cell.source and cell.metadata.get("slideshow", {}).get("slide_type") == "skip"
        shown = run_cell(cell.source, lesson_imports(notebook))
        feedback = [f for f in shown if isinstance(f, Feedback)]
        # one check per solution the cell defines (layer_norm_solution, table1_solution, ...)
        solutions = {name for name in top_level_names(cell.source) if name.endswith("_solution")}
        assert solutions and len(feedback) == len(solutions), (solutions, shown)
        for f in feedback:
            assert f.passed, f"{lesson.name}: a solution fails its check:\n{f}"


@pytest.mark.parametrize("lesson", EXERCISED, ids=lambda p: p.stem)
def test_a_solution_cell_leaves_the_students_work_alone(lesson: Path) -> None:
    """Running a solution defines `*_solution` names only: it overwrites nothing the student's cells define."""
    notebook = jupytext.read(lesson)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    theirs = set().union(*(top_level_names(c.source) for c in code if not student.is_solution_cell(c)))
    stubs = [c.source for c in notebook.cells if c.cell_type == "code" and "raise NotImplementedError" in c.source]
    stubs += [c.source for c in notebook.cells if c.cell_type == "code" and ": ...," in c.source]
    assert stubs, f"{lesson.name} has no stub for the student to complete"
    for cell in solution_cells(notebook):
        assert not (top_level_names(cell.source) - {"display"}) & theirs, cell.source[:200]


@pytest.mark.parametrize("lesson", EXERCISED, ids=lambda p: p.stem)
def test_a_solution_stripped_as_in_the_student_copy_no_longer_passes(lesson: Path) -> None:
    """The check above can fail: the same cells with `raise NotImplementedError` for the solution do not pass."""
    notebook = jupytext.read(lesson)
    for cell in solution_cells(notebook):
        stripped = student.strip_solutions(cell.source)
        assert "BEGIN SOLUTION" not in stripped and "raise NotImplementedError" in stripped
        try:
            shown = run_cell(stripped, lesson_imports(notebook))
        except NotImplementedError:  # a region at top level (Table 1's dict) raises as the cell runs
            continue
        feedback = [f for f in shown if isinstance(f, Feedback)]
        assert feedback and all(not f.passed and not f.done for f in feedback), [str(f) for f in feedback]


# --- the student copies ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("student")
    done = subprocess.run(
        [sys.executable, "-m", "lnviz.student", "--out", str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(SOURCES), done.stdout
    return out


@pytest.mark.parametrize("lesson", SOURCES, ids=lambda p: p.stem)
def test_student_copy_holds_no_solution_text(lesson: Path, copies: Path) -> None:
    source = jupytext.read(lesson)
    ipynb, py = copies / f"{lesson.stem}.ipynb", copies / f"{lesson.stem}.py"
    copy = nbformat.read(ipynb, as_version=4)
    texts = {path.name: path.read_text(encoding="utf-8") for path in (ipynb, py)}
    for name, text in texts.items():
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, name
    # every solution line, except those that also stand in the lesson outside its solutions
    elsewhere = {
        line.strip()
        for cell in source.cells
        if not student.is_solution_cell(cell)
        for line in student.strip_solutions(cell.source, cell.cell_type == "code").splitlines()
    }
    secret = set(student.solution_lines(source)) - elsewhere
    if lesson in EXERCISED:
        assert len(secret) >= 3, f"{lesson.name}: expected solution lines to look for"
    copied = {line.strip() for cell in copy.cells for line in cell.source.splitlines()}
    assert not secret & copied, sorted(secret & copied)
    for line in secret:
        assert line not in texts[py.name], line
    # the rest of the lesson is all there, in the same order, and the .py and .ipynb agree
    kept = [c for c in source.cells if not student.is_solution_cell(c)]
    assert [c.cell_type for c in copy.cells] == [c.cell_type for c in kept]
    assert [c.source for c in jupytext.read(py).cells] == [c.source for c in copy.cells]
    assert copy.metadata["kernelspec"]["name"] == "python3"
    assert all(c.outputs == [] for c in copy.cells if c.cell_type == "code")
    if lesson in EXERCISED:
        stub = "raise NotImplementedError" in texts[py.name] or ": ...," in texts[py.name]  # Table 1's blanks
        assert stub and "check_" in texts[py.name]
        assert "_solution" not in texts[py.name]


@pytest.mark.notebook
@pytest.mark.parametrize("stem", ["01_batch_vs_layer", "03_dynamics"])
def test_student_copy_runs_top_to_bottom_and_says_not_done_yet(stem: str, copies: Path) -> None:
    nb = execute(copies / f"{stem}.ipynb")
    assert error_outputs(nb) == []
    boxes = [
        o.data["text/html"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "text/html" in o.get("data", {}) and 'role="status"' in o.data["text/html"]
    ]
    assert boxes and all("Not done yet" in box for box in boxes), boxes
    assert not any("Passed" in box for box in boxes)


# --- the command and its routing ------------------------------------------------------------------


def _lesson(directory: Path, name: str, cells: list) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    path = directory / f"{name}.py"
    jupytext.write(notebook, path, fmt="py:percent")
    return path


def test_marked_regions_become_nbgraders_stub_and_solution_cells_go(tmp_path: Path) -> None:
    answer = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    y = x * 42\n    ### END SOLUTION\n    return y"
    hidden = {"metadata": {"jupyter": {"source_hidden": True}}}
    cells = [
        new_markdown_cell("# A lesson\nExplain ... then:\n### BEGIN SOLUTION\nthe answer is 42\n### END SOLUTION"),
        new_code_cell(answer),
        new_markdown_cell("**A solution** below", metadata={"tags": ["solution"]}),
        new_code_cell("def f_solution(x):\n    ### BEGIN SOLUTION\n    return x * 42\n    ### END SOLUTION", **hidden),
        new_code_cell("f(1)"),
    ]
    source = _lesson(tmp_path / "notebooks", "01_test", cells)
    out = tmp_path / "out"
    assert student.main(["--notebooks", str(source.parent), "--out", str(out)]) == 0
    copy = nbformat.read(out / "01_test.ipynb", as_version=4)
    assert [c.source for c in copy.cells] == [
        "# A lesson\nExplain ... then:\nYOUR ANSWER HERE",
        "def f(x):\n    y = 1\n    raise NotImplementedError\n    return y",
        "f(1)",
    ]
    assert "42" not in (out / "01_test.py").read_text()


def test_an_unmatched_marker_stops_the_copy_and_names_the_lesson(tmp_path: Path, capsys) -> None:
    source = _lesson(tmp_path / "nb", "02_broken", [new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1")])
    assert student.main(["--notebooks", str(source.parent), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "02_broken.py" in err and "without an END SOLUTION" in err
    assert not (tmp_path / "out" / "02_broken.ipynb").exists()


@pytest.mark.parametrize(
    "argv", [["--bogus"], ["99"], ["--out"], ["--notebooks", "notebooks", "--out", "notebooks"]], ids=str
)
def test_bad_arguments_give_the_usage_and_exit_2(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "lnviz.student", *argv], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("usage: python -m lnviz.student"), done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("argv", "module", "rest"),
    [
        (["export", "--student"], "lnviz.student", []),
        (["export", "--out", "x", "--student", "01"], "lnviz.student", ["--out", "x", "01"]),
        (["export", "--out", "x", "01"], "lnviz.export", ["--out", "x", "01"]),
    ],
)
def test_dev_export_routes_student_to_lnviz_student(monkeypatch, argv, module, rest) -> None:
    calls = []
    monkeypatch.setattr(dev, "setup", lambda extras: Path("/venv/bin/python"))
    monkeypatch.setattr(dev.subprocess, "call", lambda command, **kwargs: calls.append(command) or 0)
    assert dev.main(argv) == 0
    assert calls == [["/venv/bin/python", "-m", module, *rest]]


# --- the feedback box in a browser ----------------------------------------------------------------


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = map(channel, rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(v) for v in css[css.index("(") + 1 : css.index(")")].split(","))


@pytest.mark.browser
def test_feedback_box_shows_its_verdict_with_contrast_in_chromium(tmp_path: Path) -> None:
    from browser.lab import launched_chromium

    def wrong(x, gain, bias, eps):  # eps outside the square root
        mu = x.mean(dim=-1, keepdim=True)
        return gain * (x - mu) / (x.std(dim=-1, unbiased=False, keepdim=True) + eps) + bias

    def stub(x, gain, bias, eps):
        raise NotImplementedError

    def right(x, gain, bias, eps):
        mu = x.mean(dim=-1, keepdim=True)
        return gain * (x - mu) / ((x - mu).pow(2).mean(dim=-1, keepdim=True) + eps).sqrt() + bias

    answers = [("Passed", right), ("Not yet", wrong), ("Not done yet", stub)]
    boxes = {verdict: check_layer_norm(fn) for verdict, fn in answers}
    assert [f.verdict for f in boxes.values()] == list(boxes)
    page = tmp_path / "feedback.html"
    body = "\n".join(f'<section id="box{i}">{f._repr_html_()}</section>' for i, f in enumerate(boxes.values()))
    page.write_text(f'<!doctype html><html lang="en"><meta charset="utf-8"><body style="width: 900px">{body}</body>')
    SCREENSHOTS.mkdir(exist_ok=True)
    with launched_chromium() as browser:
        tab = browser.new_page(viewport={"width": 960, "height": 900})
        tab.goto(page.as_uri())
        tab.screenshot(path=str(SCREENSHOTS / "feedback-boxes.png"), full_page=True)
        for i, verdict in enumerate(boxes):
            box = tab.locator(f"#box{i} [role=status]")
            title = box.locator("div").first
            assert title.is_visible() and title.inner_text().split(":")[0].strip(" \u2714\u2716\u2026") == verdict
            styles = json.loads(
                box.evaluate(
                    "el => JSON.stringify([...el.querySelectorAll('div, b, code')].concat([el]).map(e => "
                    "[getComputedStyle(e).color, getComputedStyle(el).backgroundColor, "
                    "parseFloat(getComputedStyle(e).fontSize), e.tagName]))"
                )
            )
            for color, background, size, tag in styles:
                assert _contrast(_rgb(color), _rgb(background)) >= 7.0, (verdict, color, background)
                # the verdict and the message readable on a projector too (a mistake's <code> is monospace)
                assert tag == "CODE" or size >= 14, (verdict, tag, size)
            height = box.bounding_box()["height"]
            assert height > 30, (verdict, height)
