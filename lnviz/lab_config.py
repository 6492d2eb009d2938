"""What the JupyterLab server started by `python3 dev.py lab` does on save, so that using a lesson leaves
the git checkout clean.

A lesson is committed as a jupytext pair, `NN_<stem>.py` and `NN_<stem>.ipynb`, the notebook without
outputs. Running it and saving (autosave does that every two minutes) would write its outputs,
execution counts and the kernel's `language_info` into the committed `.ipynb`. `strip_outputs`, the
server's `ContentsManager.pre_save_hook`, removes them from every notebook jupytext pairs with a text
file, whichever of the pair was opened: the saved files are the committed files as long as no input
was edited. The browser keeps showing the outputs until the notebook is reopened.

A notebook jupytext does not pair (one a student makes) is saved as it is, outputs included.
"""

from __future__ import annotations

from typing import Any

#: Notebook metadata the kernel and the widgets write at run time: not part of a lesson.
RUN_METADATA = ("language_info", "widgets")
#: Cell metadata a run or a click on an output writes: timing, and outputs collapsed or scrolled.
CELL_RUN_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")


def is_paired(notebook: dict[str, Any]) -> bool:
    """Whether jupytext pairs this notebook (the `content` of a contents model) with a text file."""
    formats = notebook.get("metadata", {}).get("jupytext", {}).get("formats", "")
    return any(not fmt.strip().endswith("ipynb") for fmt in str(formats).split(",") if fmt.strip())


def strip_run_state(notebook: dict[str, Any]) -> None:
    """Remove, in place, what running a notebook adds: outputs, execution counts and RUN_METADATA."""
    for key in RUN_METADATA:
        notebook.get("metadata", {}).pop(key, None)
    for cell in notebook.get("cells", []):
        for key in CELL_RUN_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None


def strip_outputs(model: dict[str, Any], path: str, contents_manager: object, **kwargs: Any) -> None:
    """jupyter_server's pre-save hook: save a paired notebook as committed, without its run state.

    model: the contents model about to be written (changed in place); path: its API path. Files and
    unpaired notebooks pass unchanged. jupytext's contents manager saves each file of a pair through
    the server's own save, so this hook sees the `.ipynb` of every lesson however it was opened.
    """
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict) and is_paired(model["content"]):
        strip_run_state(model["content"])
