"""Shared helpers for the tests that read and execute the notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
#: Every lesson, as its jupytext source; each has a paired .ipynb beside it.
SOURCES = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
NOTEBOOKS = [p.with_suffix(".ipynb") for p in SOURCES]


def execute(path: Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh python3 kernel, as "Restart Kernel and Run All" does.

    Widget state is not stored (store_widget_state=False): with FigureWidgets it would make a 5 MB
    notebook. Raises nbclient's CellExecutionError on the first failing cell.
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


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
