"""Fixture notebooks that test the harness itself: one whose panels must (and must not) respond, one
that fails in every way the harness has to notice.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

PANELS_NOTEBOOK = "panels.ipynb"
ERRORS_NOTEBOOK = "errors.ipynb"

_PANELS_SETUP = """\
import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

x = np.linspace(0.0, 1.0, 50)


def panel(control, wired=True):
    figure = go.FigureWidget(data=[go.Scatter(x=x, y=x)])

    def update(change):
        with figure.batch_update():
            figure.data[0].y = float(change["new"]) * x

    if wired:
        control.observe(update, names="value")
    box = widgets.VBox([control, figure])
    box.add_class("lnviz-panel")
    return box"""

# Panel 0 starts at its maximum, so the harness must step it down; it updates only on release, as
# the panels that train a model do.
_PANELS = (
    'panel(widgets.FloatSlider(value=3.0, min=0.0, max=3.0, step=0.1, description="scale",\n'
    "                          continuous_update=False))",
    'panel(widgets.Dropdown(options=[1, 2, 3], value=1, description="scale"))',
    'panel(widgets.ToggleButtons(options=["1", "2"], value="1", description="scale"))',
    # A slider wired to nothing: the harness must report that its plot did not change.
    'panel(widgets.IntSlider(value=1, min=0, max=5, description="dead"), wired=False)',
)

# Cells that write to stderr without failing, then each kind of failure; the last cell never runs.
# The test runs this notebook with anywidget's model initialization timing out at once, as it does
# on a busy machine, so the panel's FigureWidget never gets its traces.
_ERROR_CELLS = (
    "from tqdm import tqdm\n\nfor _ in tqdm(range(3)):\n    pass",
    'import warnings\n\nwarnings.warn("a warning is not an error")',
    "import traceback\n\ntry:\n    int('x')\nexcept ValueError:\n    traceback.print_exc()",
    """\
import ipywidgets as widgets
from traitlets import Unicode


class Unrenderable(widgets.DOMWidget):
    _view_name = Unicode("NoSuchView").tag(sync=True)
    _view_module = Unicode("lnviz-no-such-module").tag(sync=True)
    _view_module_version = Unicode("0.0.0").tag(sync=True)


Unrenderable()""",
    # A widget view of a model the page never heard of.
    "from IPython.display import display\n\n"
    "view = {'version_major': 2, 'version_minor': 0, 'model_id': 'f' * 32}\n"
    "display({'application/vnd.jupyter.widget-view+json': view}, raw=True)",
    """\
import plotly.graph_objects as go

panel = widgets.VBox([widgets.FloatSlider(), go.FigureWidget(data=[go.Scatter(y=[0.0, 1.0])])])
panel.add_class("lnviz-panel")
panel""",
    # An exception in the page that no output shows.
    "from IPython.display import Javascript\n\n"
    "Javascript(\"setTimeout(() => { throw new Error('thrown by the page'); })\")",
    "1 / 0",
    'print("never runs")',
)

# What notebook_problems and wait_for_widgets must report for ERRORS_NOTEBOOK, and nothing else:
# (start of the report, text in it). tqdm's progress bar and the warning (cells 0, 1) are no errors.
EXPECTED_ERRORS = (
    ("code cell 2: ", "ValueError: invalid literal for int()"),
    ("code cell 3: ", "widget: Failed to load view class 'NoSuchView' from module 'lnviz-no-such-module'"),
    ("code cell 4: ", "widget: Error displaying widget: model not found"),
    ("panel 0: ", "plot has no traces"),
    ("page error: ", "thrown by the page"),
    ("code cell 7: ", "ZeroDivisionError: division by zero"),
    ("code cell 8: ", "not executed"),
)
# Reported or not, depending on whether anything awaited anywidget's rejected promise in time.
POSSIBLE_ERRORS = (("page error: ", "[anywidget] Failed to initialize model."),)


VISUAL_NOTEBOOK = "visual.ipynb"

# One figure for each way a text can be lost, and one figure that loses none (`browser.visual`).
_VISUAL_CELLS = (
    "import plotly.graph_objects as go\n\n"
    "def figure(**layout):\n"
    "    return go.FigureWidget(data=[go.Scatter(y=[0, 1])], layout=dict(height=300, **layout))",
    # a FigureWidget is drawn before it is on the page, at plotly's default 700 px: this one says its width
    'figure(width=400, title="fits", margin=dict(t=60))',
    'figure(width=1500, title="too wide")',
    # the toolbar (shown on hover; always in the page) sits over the top right corner
    "figure(width=500, margin=dict(t=30),\n"
    '       title=dict(text="under the toolbar", x=1, xanchor="right", y=1, yanchor="top"))',
    'figure(width=500, annotations=[dict(text="first label", x=0.5, y=0.5), dict(text="second label", x=0.52, y=0.5)])',
    "from plotly.subplots import make_subplots\n\n"
    "pair = make_subplots(rows=1, cols=2, horizontal_spacing=0.01, figure=go.Figure(layout=dict(width=500)))\n"
    "pair.add_scatter(y=[0, 1], row=1, col=1)\n"
    "pair.add_scatter(y=[0, 1], row=1, col=2)\n"
    'pair.update_yaxes(title="a long axis title", row=1, col=2)\n'
    "go.FigureWidget(pair)",
)

#: Figures the notebook draws, and (figure index, text in the report) that `text_problems` must find.
VISUAL_FIGURES = 5
EXPECTED_VISUAL = (
    ("figure 1", "wider than its output area"),
    ("figure 1", "sticks out of the output area"),
    ("figure 2", '"under the toolbar" is hidden under plotly\'s toolbar'),
    ("figure 3", '"first label" and "second label" are stacked'),
    ("figure 4", 'the axis title "a long axis title" lies over a plot'),
)


def _notebook(title: str, sources: tuple[str, ...]) -> nbformat.NotebookNode:
    notebook = new_notebook(metadata={"kernelspec": KERNELSPEC})
    notebook.cells = [new_markdown_cell(f"# {title}")] + [new_code_cell(source) for source in sources]
    return notebook


def write_fixture_notebooks(directory: Path) -> None:
    """Write PANELS_NOTEBOOK, ERRORS_NOTEBOOK and VISUAL_NOTEBOOK into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    panels = _notebook("Harness self-test: panels", (_PANELS_SETUP, *_PANELS))
    nbformat.write(panels, directory / PANELS_NOTEBOOK)
    nbformat.write(_notebook("Harness self-test: errors", _ERROR_CELLS), directory / ERRORS_NOTEBOOK)
    nbformat.write(_notebook("Harness self-test: hidden text", _VISUAL_CELLS), directory / VISUAL_NOTEBOOK)
