"""The "Your turn" exercises that ask for a function, read from the lessons themselves (nothing copied here).

Each exercise is a stub to complete (`raise NotImplementedError`), a check cell calling a checker of
lnviz.exercises, and a collapsed solution cell (skipped in the slides) whose nbgrader region defines the
function under another name, `*_solution`. Here:

- every solution passes the checker it calls, and no longer does once its region is replaced as the
  student copy (lnviz.student) replaces it;
- every stub of an untouched lesson, run through the lesson's check cell, is "Not done yet";
- the check cells call checkers that lnviz.exercises exports and the lesson imports from there, one
  check per stub, and the solution cell checks its `*_solution` with the same checker;
- the cells come in the lessons' order (the "Your turn" text, stub, check, the solution's pointer,
  the solution), and the solution cell overwrites nothing the student's cells define.

Lesson 2's exercise is a table, not a function: test_student.py checks its solution. Lesson 7 has no
exercise: its group and instance statistics over images have no checker.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import nbformat
import pytest
from lesson_cells import FUNCTION_EXERCISES as EXERCISES
from lesson_cells import code_cells, lesson_imports, run_cell, solution_cells, top_level_names
from notebook_utils import NOTEBOOK_DIR, error_outputs, execute

import lnviz.exercises
from lnviz import student
from lnviz.exercises import Feedback

LESSONS = [NOTEBOOK_DIR / f"{stem}.py" for stem in EXERCISES]
STUB = "raise NotImplementedError"


def _stub_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in code_cells(notebook) if not student.is_solution_cell(c) and STUB in c.source]


def _calls(source: str) -> list[ast.Call]:
    """Calls of a name that starts with check_, in the order they stand."""
    calls = [
        n
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id.startswith("check_")
    ]
    return sorted(calls, key=lambda n: (n.lineno, n.col_offset))


def _check_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in code_cells(notebook) if not student.is_solution_cell(c) and _calls(c.source)]


def _functions(source: str) -> list[str]:
    return [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]


def _feedback(shown: list[object]) -> list[Feedback]:
    return [f for f in shown if isinstance(f, Feedback)]


@pytest.fixture(params=LESSONS, ids=lambda p: p.stem)
def lesson(request: pytest.FixtureRequest) -> tuple[Path, nbformat.NotebookNode]:
    return request.param, jupytext.read(request.param)


# --- the solutions ------------------------------------------------------------------------------------


def test_every_solution_passes_its_checker(lesson) -> None:
    path, notebook = lesson
    cells = solution_cells(notebook)
    assert cells, f"{path.name} has no collapsed solution cell"
    for cell in cells:
        solutions = [name for name in _functions(cell.source) if name.endswith("_solution")]
        feedback = _feedback(run_cell(cell.source, lesson_imports(notebook)))
        assert solutions and len(feedback) == len(solutions), (solutions, feedback)
        for f in feedback:
            assert f.passed and f.done, f"{path.name}: a solution fails its check:\n{f}"


def test_a_solution_stripped_as_in_the_student_copy_no_longer_passes(lesson) -> None:
    """The test above can fail: with `raise NotImplementedError` for the solution, every check says so."""
    path, notebook = lesson
    for cell in solution_cells(notebook):
        stripped = student.strip_solutions(cell.source)
        assert "BEGIN SOLUTION" not in stripped and STUB in stripped
        feedback = _feedback(run_cell(stripped, lesson_imports(notebook)))
        assert feedback and all(not f.passed and not f.done for f in feedback), [str(f) for f in feedback]


def test_a_solution_cell_leaves_the_students_work_alone(lesson) -> None:
    """Running a solution defines `*_solution` functions only: it overwrites nothing the lesson's cells define."""
    path, notebook = lesson
    theirs = set().union(*(top_level_names(c.source) for c in code_cells(notebook) if not student.is_solution_cell(c)))
    for cell in solution_cells(notebook):
        mine = top_level_names(cell.source) - {"display"}
        assert mine and all(name.endswith("_solution") for name in mine), mine
        assert not mine & theirs, mine & theirs


# --- the stubs and the checks -------------------------------------------------------------------------


def test_every_stub_of_an_untouched_lesson_is_not_done_yet(lesson) -> None:
    """The stub cells and check cells run as Run All runs them: no error, and every box "Not done yet"."""
    path, notebook = lesson
    stubs, checks = _stub_cells(notebook), _check_cells(notebook)
    assert stubs and checks, f"{path.name}: no stub or no check cell"
    namespace = lesson_imports(notebook)
    for cell in stubs:
        run_cell(cell.source, namespace)
    feedback = [f for cell in checks for f in _feedback(run_cell(cell.source, namespace))]
    assert len(feedback) == sum(len(_functions(c.source)) for c in stubs), feedback
    assert all(f.verdict == "Not done yet" and not f.passed for f in feedback), [str(f) for f in feedback]


def test_the_check_cells_call_checkers_from_lnviz_exercises(lesson) -> None:
    path, notebook = lesson
    imported = {
        alias.asname or alias.name
        for cell in code_cells(notebook)
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.ImportFrom) and node.module == "lnviz.exercises"
        for alias in node.names
    }
    stubs = [name for cell in _stub_cells(notebook) for name in _functions(cell.source)]
    # each check cell checks the student's functions, each once; the solution cell the same with _solution
    checked = [(c.func.id, c.args[0].id) for cell in _check_cells(notebook) for c in _calls(cell.source)]
    solved = [(c.func.id, c.args[0].id) for cell in solution_cells(notebook) for c in _calls(cell.source)]
    assert {checker for checker, _ in checked} == EXERCISES[path.stem]
    assert sorted(fn for _, fn in checked) == sorted(stubs)
    assert solved == [(checker, f"{fn}_solution") for checker, fn in checked]
    for checker, _ in checked:
        assert checker in lnviz.exercises.__all__ and checker in imported, checker
        assert callable(getattr(lnviz.exercises, checker))


def test_the_exercise_cells_stand_in_the_lessons_order_and_slides(lesson) -> None:
    """'Your turn' text, stub, check, the pointer to the solution, the collapsed solution: one after the other."""
    path, notebook = lesson
    cells = notebook.cells
    for solution in solution_cells(notebook):
        i = cells.index(solution)
        turn, stub, check, pointer = cells[i - 4 : i]
        assert turn.cell_type == "markdown" and turn.source.startswith("**Your turn.**"), turn.source[:40]
        assert turn.metadata.get("slideshow", {}).get("slide_type") == "subslide"
        assert stub in _stub_cells(notebook) and check in _check_cells(notebook)
        assert pointer.cell_type == "markdown" and "solution" in pointer.metadata.get("tags", [])
        for cell in (pointer, solution):
            assert cell.metadata.get("slideshow", {}).get("slide_type") == "skip"
        assert solution.metadata["jupyter"]["source_hidden"] is True
        assert solution.source.count("### BEGIN SOLUTION") == solution.source.count("### END SOLUTION") >= 1
        # the student copy keeps the stub and its check, and drops the pointer and the solution
        copy = student.student_copy(nbformat.from_dict(notebook))
        assert [c.source for c in copy.cells].count(stub.source) == 1
        assert pointer.source not in [c.source for c in copy.cells]


def test_lessons_without_an_exercise_have_no_stub_or_solution() -> None:
    """Lesson 7 has none (no checker fits); a new stub elsewhere must be listed in EXERCISES to be tested."""
    for path in sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py")):
        if path.stem in EXERCISES or path.stem == "02_invariance":
            continue
        notebook = jupytext.read(path)
        assert not solution_cells(notebook) and not _stub_cells(notebook), path.name


# --- Run All, in a kernel -----------------------------------------------------------------------------


@pytest.mark.notebook
@pytest.mark.parametrize("stem", list(EXERCISES))
def test_run_all_says_not_done_yet_then_passed(stem: str) -> None:
    """Run All of an untouched lesson: no error; its check boxes say "Not done yet", its solutions' "Passed"."""
    notebook = jupytext.read(NOTEBOOK_DIR / f"{stem}.py")
    nb = execute(NOTEBOOK_DIR / f"{stem}.ipynb")
    assert error_outputs(nb) == []
    checks = {c.source for c in _check_cells(notebook)}
    solutions = {c.source for c in solution_cells(notebook)}

    def boxes(sources: set[str]) -> list[str]:
        return [
            o.data["text/html"]
            for c in nb.cells
            if c.cell_type == "code" and c.source in sources
            for o in c.outputs
            if 'role="status"' in o.get("data", {}).get("text/html", "")
        ]

    expected = sum(len(_calls(s)) for s in checks)
    assert len(boxes(checks)) == expected and all("Not done yet" in b for b in boxes(checks))
    assert len(boxes(solutions)) == expected and all("Passed" in b for b in boxes(solutions))
