"""Student copies of the lessons: every lesson with its solutions taken out, for a course.

    python -m lnviz.student [--out DIR] [--notebooks DIR] [NAMES...]
    python3 dev.py export --student [--out DIR] [NAMES...]      (the same, after dev.py's set-up)

NAMES are lesson numbers or file names ("01", "03_dynamics"); none means every lesson. Each lesson is
written twice, as `DIR/NN_topic.ipynb` (no outputs) and as its jupytext source `DIR/NN_topic.py`;
DIR is build/student by default.

The lessons mark their solutions as nbgrader does, with `### BEGIN SOLUTION` and `### END SOLUTION`
lines around the solution code, so a course that grades with nbgrader can take them as they are. Here:

- A solution cell, a code cell whose source is collapsed (`jupyter: {source_hidden: true}`) and holds a
  marked region, is left out of the copy whole, and so is every cell tagged "solution" (the line that
  points the reader at it). The stub the student completes stays, with its check.
- Any other marked region, in a cell that is not a collapsed solution cell, is replaced as nbgrader
  replaces it: code by `raise NotImplementedError` at the marker's indentation, markdown by
  "YOUR ANSWER HERE".

A BEGIN marker without its END (or the reverse) stops the command with exit status 1, naming the
lesson and the cell, rather than giving students a copy with a solution left in it. Bad arguments:
a usage message and exit status 2.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

__all__ = [
    "DEFAULT_OUT",
    "SolutionMarkerError",
    "is_solution_cell",
    "main",
    "solution_lines",
    "strip_solutions",
    "student_copy",
    "write_student_copy",
]

DEFAULT_OUT = Path("build") / "student"
DEFAULT_NOTEBOOKS = Path("notebooks")

BEGIN = re.compile(r"^(?P<indent>[ \t]*)#+[ \t]*BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*#+[ \t]*END SOLUTION[ \t]*$")
CODE_STUB = "raise NotImplementedError"
TEXT_STUB = "YOUR ANSWER HERE"
SOLUTION_TAG = "solution"


class SolutionMarkerError(ValueError):
    """A BEGIN SOLUTION line without its END SOLUTION line, or the reverse, or two BEGINs in a row."""


def _regions(lines: list[str]) -> list[tuple[int, int]]:
    """(begin, end) line indices of every marked region, markers included."""
    regions, begin = [], None
    for i, line in enumerate(lines):
        if BEGIN.match(line):
            if begin is not None:
                raise SolutionMarkerError(f"line {i + 1}: BEGIN SOLUTION inside the region begun on line {begin + 1}")
            begin = i
        elif END.match(line):
            if begin is None:
                raise SolutionMarkerError(f"line {i + 1}: END SOLUTION without a BEGIN SOLUTION before it")
            regions.append((begin, i))
            begin = None
    if begin is not None:
        raise SolutionMarkerError(f"line {begin + 1}: BEGIN SOLUTION without an END SOLUTION after it")
    return regions


def _has_markers(source: str) -> bool:
    return any(BEGIN.match(line) or END.match(line) for line in source.splitlines())


def is_solution_cell(cell: nbformat.NotebookNode) -> bool:
    """A cell the student copy leaves out: tagged "solution", or a collapsed code cell with a marked region."""
    if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
        return True
    hidden = cell.get("metadata", {}).get("jupyter", {}).get("source_hidden", False)
    return cell.cell_type == "code" and bool(hidden) and _has_markers(cell.source)


def strip_solutions(source: str, code: bool = True) -> str:
    """`source` with every marked region replaced by nbgrader's stub, indented as the BEGIN line."""
    lines = source.splitlines()
    out, last = [], 0
    for begin, end in _regions(lines):
        out += lines[last:begin]
        indent = BEGIN.match(lines[begin]).group("indent") if code else ""
        out.append(indent + (CODE_STUB if code else TEXT_STUB))
        last = end + 1
    out += lines[last:]
    return "\n".join(out)


def solution_lines(notebook: nbformat.NotebookNode) -> list[str]:
    """The lines inside marked regions and the lines of solution cells, stripped, without the markers."""
    found = []
    for cell in notebook.cells:
        lines = cell.source.splitlines()
        if is_solution_cell(cell):
            found += [line.strip() for line in lines]
        else:
            for begin, end in _regions(lines):
                found += [line.strip() for line in lines[begin + 1 : end]]
    return [line for line in found if line and not BEGIN.match(line) and not END.match(line)]


def student_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `notebook` without its solutions (see the module's docstring), and without outputs."""
    copy = nbformat.from_dict(notebook)  # a deep copy
    cells = []
    for cell in copy.cells:
        if is_solution_cell(cell):
            continue
        cell.source = strip_solutions(cell.source, code=cell.cell_type == "code")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    copy.cells = cells
    return copy


def write_student_copy(source: Path, out: Path) -> list[Path]:
    """Write the student copy of the lesson `source` (a jupytext .py) as out/NAME.ipynb and out/NAME.py."""
    import jupytext

    notebook = jupytext.read(source)
    try:
        copy = student_copy(notebook)
    except SolutionMarkerError as error:
        raise SolutionMarkerError(f"{source.name}: {error}") from None
    out.mkdir(parents=True, exist_ok=True)
    ipynb, py = out / f"{source.stem}.ipynb", out / f"{source.stem}.py"
    jupytext.write(copy, ipynb, fmt="ipynb")
    jupytext.write(copy, py, fmt="py:percent")
    return [ipynb, py]


def main(argv: list[str] | None = None) -> int:
    from lnviz.export import lessons

    parser = argparse.ArgumentParser(
        prog="python -m lnviz.student",
        description="Write every lesson without its solutions (nbgrader's BEGIN/END SOLUTION regions), "
        "as .ipynb and jupytext .py, for a course's students.",
    )
    parser.add_argument("names", nargs="*", metavar="NAMES", help="lessons to copy (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--notebooks", type=Path, default=DEFAULT_NOTEBOOKS, help=f"the lessons' folder (default: {DEFAULT_NOTEBOOKS})"
    )
    args = parser.parse_args(argv)
    try:
        sources = lessons(args.notebooks, args.names)
    except ValueError as error:
        parser.error(str(error))
    if args.out.resolve() == args.notebooks.resolve():
        parser.error(f"--out {args.out} is the lessons' own folder: the copies would overwrite the lessons")
    for source in sources:
        try:
            written = write_student_copy(source, args.out)
        except SolutionMarkerError as error:
            print(f"lnviz.student: {error}; no student copy written for it", file=sys.stderr)
            return 1
        print(f"{source.stem}: wrote {', '.join(str(path) for path in written)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
