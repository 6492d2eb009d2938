"""Reading a lesson's exercise cells and running them as a kernel would, for the exercise tests."""

from __future__ import annotations

import ast

import nbformat

from lnviz import student

#: The checkers each lesson's function exercises call (stub, check, collapsed `*_solution`): what the
#: lessons must hold, not a result. Lesson 2's Table 1 exercise is a dict, checked in test_student.py.
FUNCTION_EXERCISES = {
    "01_batch_vs_layer": {"check_layer_norm", "check_batch_norm"},
    "03_dynamics": {"check_ln_rnn_step", "check_recurrent_batch_norm"},
    "04_rnn_training": {"check_ln_lstm_step"},
    "05_batch_size": {"check_batch_norm"},
    "06_geometry": {"check_weight_norm", "check_weight_norm_grad"},
    "08_after2016": {"check_rms_norm"},
}


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in notebook.cells if c.cell_type == "code"]


def solution_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in code_cells(notebook) if student.is_solution_cell(c)]


def top_level_names(source: str) -> set[str]:
    """Names a cell binds at top level: functions, classes, assignments and imports."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def lesson_imports(notebook: nbformat.NotebookNode) -> dict:
    """A namespace holding every name the lesson's cells import (what its exercise cells may use)."""
    namespace: dict = {}
    for cell in code_cells(notebook):
        if student.is_solution_cell(cell):
            continue
        imports = [n for n in ast.parse(cell.source).body if isinstance(n, (ast.Import, ast.ImportFrom))]
        exec(compile(ast.Module(imports, []), "<imports>", "exec"), namespace)
    return namespace


def run_cell(source: str, namespace: dict) -> list[object]:
    """Run a cell as a kernel would; return what it displays (display(...) calls and its last expression)."""
    shown: list[object] = []
    namespace["display"] = lambda *objects: shown.extend(objects)
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<lesson cell>", "exec"), namespace)
    if last is not None:
        shown.append(eval(compile(ast.Expression(last.value), "<lesson cell>", "eval"), namespace))
    return shown
