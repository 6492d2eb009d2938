"""Shared helpers for the tests that read and execute the notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat

from lnviz import export

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
#: Every lesson, as its jupytext source; each has a paired .ipynb beside it.
SOURCES = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
NOTEBOOKS = [p.with_suffix(".ipynb") for p in SOURCES]


def execute(path: Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh python3 kernel, as "Restart Kernel and Run All" does
    (`lnviz.export.execute`, without the export's static displays)."""
    return export.execute(path, timeout, static=False)


def error_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """Error outputs and tracebacks written to stderr, as text, one entry per output."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.output_type == "error":
                found.append(f"{out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr" and "Traceback" in out.text:
                found.append(out.text)
            elif "Error displaying widget" in str(out.get("data", "")):
                found.append("Error displaying widget")
    return found
