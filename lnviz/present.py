"""Serve one lesson as an app with Voila, for a lecture: prose, equations and live panels, no code.

    python -m lnviz.present NN [Voila options]

NN is the lesson's number or the start of its name ("02", "02_invariance", "03_dynamics.py"). Voila
runs the lesson top to bottom in a fresh kernel, shows the markdown and the outputs with the code
hidden, and keeps the kernel behind the page, so the panels' sliders move their plots in front of the
class. Options after NN go to Voila as they are, e.g. `--no-browser --port=8870`, `--theme=dark`,
or `--Voila.ip=0.0.0.0` to let other machines connect (there is no token: the default, loopback
only, keeps the server to this machine). `--preheat_kernel=True` has Voila run the lesson before the
page is opened, so that it shows in about half the time; the price is a second kernel, which runs the
whole lesson again in the background as soon as the page takes the first, while the lecture goes on.

What is served, and why:

- The lesson's jupytext source (`notebooks/NN_topic.py`, the source of truth) converted to a notebook
  in a temporary folder, removed when Voila stops; the repository is never written to.
- Voila's lab template less what it would load from a CDN: Font Awesome's CSS, which Voila's own
  bundle already holds, and nbconvert's loader for mermaid diagrams, which no lesson draws. MathJax
  and the widget front ends come from Voila's own bundle, so a lecture needs no network.
- Two additions to the page: anywidget's 2 s for a FigureWidget's front end to load becomes
  WIDGET_LOAD_TIMEOUT_MS, so that a busy laptop still draws every panel; and each slider's handle
  takes its description as its accessible name, which ipywidgets leaves out.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from lnviz.export import lessons

#: The lessons: notebooks/ beside the package (lnviz is installed from the repository, editable).
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

#: The template `present` serves with (written into a temporary Jupyter data folder at each start).
TEMPLATE = "lnviz-present"
#: Where Voila listens unless the options say otherwise (`--Voila.ip=...`).
DEFAULT_IP = "127.0.0.1"
#: What marks an exercise's solution code in a lesson (nbgrader's marker).
SOLUTION_MARK = "### BEGIN SOLUTION"
#: How long Voila may take to shut its kernel down after Ctrl-C before it is ended.
STOP_TIMEOUT_S = 10.0

# The stylesheets Voila's lab template links from a CDN; voila-style.js bundles the same Font Awesome.
_CDN_LINKS = (
    '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@^5/css/all.min.css"'
    ' type="text/css" />',
    '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@^5/css/v4-shims.min.css"'
    ' type="text/css" />',
)

#: How long a FigureWidget's front end may take to load plotly's module before its panel stays empty.
WIDGET_LOAD_TIMEOUT_MS = 60_000

# anywidget gives a widget's front end 2 s to initialize its model, then drops it: on a busy laptop
# loading plotly's 5 MB module takes longer, and the panel's plot stays empty. The page stretches
# that one timeout (found by its caller, anywidget's own script) before any widget loads.
_ANYWIDGET_PATIENCE_JS = f"""(() => {{
  const timeout = AbortSignal.timeout.bind(AbortSignal);
  AbortSignal.timeout = (ms) =>
    timeout(ms === 2000 && /\\/labextensions\\/anywidget\\//.test(new Error().stack) ? {WIDGET_LOAD_TIMEOUT_MS} : ms);
}})();"""

# ipywidgets draws a slider with noUiSlider, whose handle has role="slider" but no accessible name:
# the description is a label beside it, tied to nothing (axe-core: aria-input-field-name). Each
# handle is named after its slider's description as it appears.
_SLIDER_NAMES_JS = """new MutationObserver(() => {
  document.querySelectorAll('.noUi-handle:not([aria-label])').forEach((handle) => {
    const slider = handle.closest('.widget-inline-hbox');
    const label = slider && slider.querySelector('.widget-label');
    const name = label ? label.textContent.trim() : '';
    if (name) handle.setAttribute('aria-label', name);
  });
}).observe(document.documentElement, {childList: true, subtree: true, characterData: true});"""

# Voila's lab template, less what it loads from CDNs. Only blocks in the head change; the body, which
# Voila streams cell by cell as the kernel runs them, is the lab template's own.
_INDEX_TEMPLATE = (
    "{%- extends 'voila/templates/lab/index.html.j2' -%}\n"
    "{%- block notebook_css -%}\n"
    "{{ super()" + "".join(f" | replace({json.dumps(link)}, '')" for link in _CDN_LINKS) + " }}\n"
    "{%- endblock notebook_css -%}\n"
    # nbconvert's loader for mermaid diagrams imports mermaid from a CDN; the lessons draw none.
    "{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}\n"
    "{%- block html_head_js -%}\n{{ super() }}\n<script>\n"
    + _ANYWIDGET_PATIENCE_JS
    + "\n"
    + _SLIDER_NAMES_JS
    + "\n</script>\n{%- endblock html_head_js -%}\n"
)


def usage(directory: Path = NOTEBOOKS) -> str:
    """How to call `present`, with the lessons found in `directory`."""
    try:
        names = [path.stem for path in lessons(directory)]
    except ValueError:
        names = []
    listed = "\n".join(f"  {name}" for name in names) or f"  (none found in {directory})"
    return (
        "usage: python3 dev.py present NN [Voila options]\n"
        "Serves lesson NN (its number or the start of its name) with Voila: prose, equations and live\n"
        "panels, code hidden. Options go to Voila, e.g. --no-browser --port=8870.\n"
        f"Lessons:\n{listed}"
    )


def choose_lesson(name: str, directory: Path = NOTEBOOKS) -> Path:
    """The one lesson source in `directory` that `name` names; ValueError if it names none or several."""
    if name.isdigit():
        name = f"{int(name):02d}"  # "2" names lesson 02, as a lecturer would say it
    found = lessons(directory, [name])
    if len(found) > 1:
        raise ValueError(f"{name!r} names {len(found)} lessons ({', '.join(p.stem for p in found)}): expected one")
    return found[0]


def write_notebook(source: Path, folder: Path) -> Path:
    """Write the lesson `source` (jupytext .py or .ipynb) as `folder/<stem>.ipynb`; return its path.

    The pairing metadata is left out: the notebook is a throwaway copy that Voila only reads. An
    exercise's solution stays out of sight: its note (a markdown cell tagged "solution", which tells
    the reader to open the collapsed code below) is not shown, and its code (the cell holding
    SOLUTION_MARK) still runs, as everything after it may expect, with its output captured.
    """
    import jupytext

    notebook = jupytext.read(source)
    notebook.metadata.pop("jupytext", None)
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and "solution" in cell.metadata.get("tags", []):
            cell.metadata.setdefault("transient", {})["remove_source"] = True  # nbconvert's templates skip it
        elif cell.cell_type == "code" and SOLUTION_MARK in cell.source:
            cell.source = "%%capture\n" + cell.source
    target = folder / f"{source.stem}.ipynb"
    jupytext.write(notebook, target, fmt="ipynb")
    return target


def write_template(data_dir: Path) -> None:
    """Write the TEMPLATE template into the Jupyter data folder `data_dir` (a JUPYTER_PATH entry)."""
    folder = data_dir / "voila" / "templates" / TEMPLATE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.json").write_text(json.dumps({"base_template": "lab"}) + "\n")
    (folder / "index.html.j2").write_text(_INDEX_TEMPLATE)


def voila_command(notebook: Path, options: list[str]) -> list[str]:
    """The command that serves `notebook` with Voila; `options` come last, so they win over ours."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        f"--template={TEMPLATE}",
        f"--Voila.ip={DEFAULT_IP}",
        # Code stays hidden, and an error shows its message, not a traceback, to the class.
        "--strip_sources=True",
        "--show_tracebacks=False",
        *options,
    ]


def voila_env(data_dir: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` (os.environ by default) with `data_dir` first on JUPYTER_PATH, where Voila finds TEMPLATE."""
    env = dict(os.environ if env is None else env)
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(data_dir), env.get("JUPYTER_PATH")]))
    return env


def serve(source: Path, options: list[str]) -> int:
    """Serve the lesson `source` with Voila until it stops; return Voila's exit status."""
    with tempfile.TemporaryDirectory(prefix="lnviz-present-") as temporary:
        folder = Path(temporary)
        (folder / "lesson").mkdir()
        notebook = write_notebook(source, folder / "lesson")
        write_template(folder / "jupyter")
        process = subprocess.Popen(voila_command(notebook, options), env=voila_env(folder / "jupyter"))
        # Asked to stop, Voila shuts its kernel down; so the request is passed on, not acted on here.
        previous = signal.signal(signal.SIGTERM, lambda signum, _frame: process.send_signal(signum))
        try:
            return process.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached Voila too: give it the time to shut its kernel down, then end it.
            try:
                return process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGTERM)
                return process.wait()
        finally:
            signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """`python -m lnviz.present NN [Voila options]`: serve lesson NN; 2 with a usage message on bad input."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if not argv:
        print(f"expected a lesson\n\n{usage()}", file=sys.stderr)
        return 2
    name, options = argv[0], argv[1:]
    if name.startswith("-"):
        print(f"expected a lesson before the Voila options, got {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    try:
        source = choose_lesson(name)
    except ValueError as error:
        print(f"{error}\n\n{usage()}", file=sys.stderr)
        return 2
    try:
        import voila  # noqa: F401
    except ImportError:
        print(
            "Voila is not installed: `python3 dev.py present NN` installs it (pip install 'lnviz[present]')",
            file=sys.stderr,
        )
        return 2
    return serve(source, options)


if __name__ == "__main__":
    sys.exit(main())
