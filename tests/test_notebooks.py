"""The notebooks: in sync with their jupytext sources, well formed, and they run top to bottom."""

from __future__ import annotations

import json

import jupytext
import nbformat
import pytest
from notebook_utils import NOTEBOOKS, SOURCES, error_outputs, execute

SECTIONS = ("summary", "exercise")


def test_every_lesson_is_here():
    assert [p.stem for p in SOURCES][:2] == ["01_batch_vs_layer", "02_invariance"]
    missing = [p.name for p in NOTEBOOKS if not p.exists()]
    assert not missing, f"no paired .ipynb for {missing}: run `jupytext --sync notebooks/*.py`"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_py_and_ipynb_in_sync(source):
    py = jupytext.read(source)
    ipynb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    assert [(c.cell_type, c.source) for c in py.cells] == [(c.cell_type, c.source) for c in ipynb.cells], (
        f"{source.name} and its .ipynb differ: run `jupytext --sync {source}`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_ipynb_opens_without_a_dialog_and_without_outputs(path):
    raw = json.loads(path.read_text())
    meta = raw["metadata"]
    assert meta["kernelspec"]["name"] == "python3", "without a kernelspec JupyterLab asks to select a kernel"
    # "py:percent" alone makes JupyterLab with jupytext refuse the .ipynb ("matches none of the export formats")
    formats = meta.get("jupytext", {}).get("formats")
    assert formats is None or "ipynb" in formats.split(","), formats
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, "notebooks are stored without outputs"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_reads_like_a_lesson(source):
    """The paper's equation or table, a question to predict, what to notice, a summary, an exercise."""
    text = source.read_text().lower()
    assert "eq. (" in text or "eq. " in text or "table " in text
    for word in ("predict", "what to notice", "## summary", "## exercise"):
        assert word in text, f"{source.name} has no '{word}' section"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom_without_errors(path):
    nb = execute(path)
    assert error_outputs(nb) == []
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    # each notebook shows something: a widget or a figure in at least one output
    shown = [o for c in code for o in c.outputs if o.output_type in ("display_data", "execute_result")]
    assert any(
        "application/vnd.jupyter.widget-view+json" in o.data or "application/vnd.plotly.v1+json" in o.data
        for o in shown
    )
