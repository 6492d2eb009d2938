"""Using a lesson leaves the checkout clean (issue 12, item 5).

In the JupyterLab that `python3 dev.py lab` starts, Run All and Save leave `git status` empty: the
server's pre-save hook (`lnviz.lab_config.strip_outputs`) keeps outputs and kernel metadata out of a
lesson's .ipynb, and the pinned jupytext writes the .py header the lessons carry. A double click on a
lesson's .py opens it as a notebook.

The hook is tested on jupytext's contents manager, the one the server runs, configured by dev.py's own
option; the browser tests start JupyterLab as `dev.lab_command` configures it, on a temporary git clone
of the repository, never on the repository's own notebooks/.
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest
import tomllib
from browser.lab import LabServer, _server_env, _write_settings, free_port, launched_chromium, stop_lab
from browser.notebook import _KERNEL_IDLE_JS, KERNEL_TIMEOUT_S, open_notebook, run_all_cells
from dev_module import dev
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class
from notebook_utils import ROOT, SOURCES
from packaging.requirements import Requirement
from playwright.sync_api import Page
from traitlets.config import Config

from lnviz.lab_config import strip_outputs

LESSON = ROOT / "notebooks" / "02_invariance.ipynb"  # a fast lesson
STARTUP_TIMEOUT_S = 60.0


def _contents_manager(root: Path) -> AsyncLargeFileManager:
    """jupytext's contents manager, as its server extension builds it, configured by dev.LAB_OPTIONS."""
    config = Config()
    for option in dev.LAB_OPTIONS:
        name, value = option.removeprefix("--").split("=", 1)
        section, trait = name.split(".")
        config[section][trait] = value
    manager_class = build_async_jupytext_contents_manager_class(AsyncLargeFileManager)
    return manager_class(root_dir=str(root), config=config)


def _run_state(notebook: dict) -> dict:
    """`notebook` as a kernel leaves it after Run All: outputs, counts, language_info, timing."""
    ran = copy.deepcopy(notebook)
    ran["metadata"]["language_info"] = {"name": "python", "version": "3.11.2"}
    for count, cell in enumerate((c for c in ran["cells"] if c["cell_type"] == "code"), start=1):
        cell["execution_count"] = count
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
        cell["metadata"]["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    return ran


@pytest.fixture
def lesson_pair(tmp_path: Path) -> Path:
    """A copy of a lesson's .py and .ipynb in tmp_path; returns the directory."""
    for path in (LESSON, LESSON.with_suffix(".py")):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


@pytest.mark.parametrize("opened", [".ipynb", ".py"])
def test_saving_a_run_lesson_writes_the_committed_files(lesson_pair: Path, opened: str) -> None:
    """Whichever file of the pair JupyterLab opened, saving after a run rewrites both as committed."""
    manager = _contents_manager(lesson_pair)
    path = LESSON.with_suffix(opened).name
    model = asyncio.run(manager.get(path))
    assert model["type"] == "notebook"
    asyncio.run(manager.save({"type": "notebook", "content": _run_state(model["content"])}, path))
    for name in (LESSON.name, LESSON.with_suffix(".py").name):
        assert (lesson_pair / name).read_text() == (LESSON.parent / name).read_text(), f"{name} changed on save"


def test_an_unpaired_notebook_keeps_its_outputs(tmp_path: Path) -> None:
    notebook = nbformat.read(LESSON, as_version=4)
    del notebook.metadata["jupytext"]
    ran = _run_state(notebook)
    manager = _contents_manager(tmp_path)
    asyncio.run(manager.save({"type": "notebook", "content": ran}, "mine.ipynb"))
    saved = nbformat.read(tmp_path / "mine.ipynb", as_version=4)
    assert [c.get("outputs") for c in saved["cells"]] == [c.get("outputs") for c in ran["cells"]]
    assert saved["metadata"]["language_info"] == ran["metadata"]["language_info"]


def test_the_hook_strips_only_run_state_and_leaves_files_alone() -> None:
    notebook = nbformat.read(LESSON, as_version=4)
    model = {"type": "notebook", "content": _run_state(notebook)}
    strip_outputs(model=model, path=LESSON.name, contents_manager=None)
    assert model["content"] == notebook
    text = {"type": "file", "format": "text", "content": "print(1)\n"}
    strip_outputs(model=text, path="x.py", contents_manager=None)
    assert text == {"type": "file", "format": "text", "content": "print(1)\n"}


def test_lesson_headers_carry_the_pinned_jupytext() -> None:
    """jupytext writes its version into a lesson's .py header on every save: a different jupytext
    rewrites every lesson. Pinned, the saved header is the committed one."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [Requirement(r) for r in dependencies if Requirement(r).name == "jupytext"]
    assert len(pins) == 1 and str(pins[0].specifier).startswith("=="), pins
    pinned = str(pins[0].specifier).removeprefix("==")
    assert version("jupytext") == pinned, "the set-up installs the pin: run `python3 dev.py lab` to update"
    for source in SOURCES:
        assert f"jupytext_version: {pinned}\n" in source.read_text(), f"{source.name}: run `jupytext --sync`"


# --- in the browser ----------------------------------------------------------------------------------


def _git(checkout: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=checkout, check=True, capture_output=True, text=True).stdout


def _start_lab_as_dev_does(checkout: Path, state: Path) -> LabServer:
    """JupyterLab on checkout/notebooks, configured by `dev.lab_command`, plus the harness's isolation
    (tests/browser/lab.py: own state directories, loopback, a token, the app exposed to the test)."""
    state.mkdir(parents=True, exist_ok=True)
    _write_settings(state / "settings")
    command, env = dev.lab_command(checkout / "notebooks", state / "lnviz-lab-config", env=_server_env(state))
    port, token = free_port(), secrets.token_hex(24)
    command += [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if "--ServerApp.allow_root=True" not in command:  # dev.py adds it where it runs as root; a second one is refused
        command.append("--ServerApp.allow_root=True")
    log_path = state / "server.log"
    with log_path.open("wb") as log:
        # A session of its own, as in tests/browser/lab.py: stop_lab ends the server's process group.
        process = subprocess.Popen(
            command,
            cwd=checkout,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LabServer(process, checkout / "notebooks", f"http://127.0.0.1:{port}/", token, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "status", timeout=2.0)
            return server
        except OSError:
            time.sleep(0.25)
    stop_lab(server)
    raise RuntimeError(f"JupyterLab did not answer within {STARTUP_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh git clone of the repository's committed state, clean before any test."""
    clone = tmp_path_factory.mktemp("checkout") / "lnviz"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    assert _git(clone, "status", "--porcelain") == ""
    return clone


@pytest.fixture(scope="module")
def lab(checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = _start_lab_as_dev_does(checkout, tmp_path_factory.mktemp("checkout-lab-state"))
    try:
        yield server
    finally:
        stop_lab(server)


@pytest.fixture
def page(lab: LabServer) -> Iterator[Page]:
    with launched_chromium() as browser:
        yield browser.new_context(viewport={"width": 1280, "height": 900}).new_page()


_OUTPUTS_JS = """() => window.jupyterapp.shell.currentWidget.content.widgets
    .filter((cell) => cell.model.type === 'code')
    .reduce((count, cell) => count + cell.model.outputs.length, 0)"""

_SAVE_JS = """async () => {
    const panel = window.jupyterapp.shell.currentWidget;
    await window.jupyterapp.commands.execute('docmanager:save');
    return {path: panel.context.path, dirty: panel.context.model.dirty};
}"""


def _git_report(checkout: Path) -> str:
    return _git(checkout, "status", "--porcelain") + _git(checkout, "diff", "--stat") + _git(checkout, "diff")[:3000]


@pytest.mark.browser
def test_run_all_and_save_leaves_the_checkout_clean(page: Page, lab: LabServer, checkout: Path) -> None:
    page_errors = open_notebook(page, lab, LESSON.name, "checkout")
    assert run_all_cells(page), f"{LESSON.name} did not run: {page_errors}"
    assert page.evaluate(_OUTPUTS_JS) > 0, "Run All showed no outputs: nothing was tested"
    for _ in range(2):  # as autosave saves again: the file on disk must not look changed behind the page's back
        saved = page.evaluate(_SAVE_JS)
        assert saved == {"path": LESSON.name, "dirty": False}, saved
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
    on_disk = json.loads((checkout / "notebooks" / LESSON.name).read_text())
    outputs = [c["outputs"] for c in on_disk["cells"] if c["cell_type"] == "code" and c["outputs"]]
    assert outputs == [], f"saved with outputs:\n{str(outputs)[:2000]}"
    assert _git(checkout, "status", "--porcelain") == "", _git_report(checkout)
    assert page.evaluate(_OUTPUTS_JS) > 0, "the browser keeps showing the outputs"


_OPENED_JS = """(path) => {
    const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!widget || !widget.context || widget.context.path !== path) return null;
    const notebook = widget.hasClass('jp-NotebookPanel');
    if (notebook && !widget.context.isReady) return null;
    return {notebook, cells: notebook ? widget.content.widgets.length : 0};
}"""


@pytest.mark.browser
def test_a_double_clicked_py_lesson_opens_a_notebook_that_saves_clean(
    page: Page, lab: LabServer, checkout: Path
) -> None:
    lesson = LESSON.with_suffix(".py").name
    page.goto(lab.url("lab/workspaces/double-click?reset"))
    item = page.locator(".jp-DirListing-item", has=page.locator(".jp-DirListing-itemText", has_text=lesson))
    item.dblclick(timeout=KERNEL_TIMEOUT_S * 1000)
    opened = page.wait_for_function(_OPENED_JS, arg=lesson, timeout=KERNEL_TIMEOUT_S * 1000).json_value()
    cells = len(nbformat.read(LESSON, as_version=4).cells)
    assert opened == {"notebook": True, "cells": cells}, f"{lesson} opened as {opened}"
    # Run and saved from the .py, the lesson's pair is saved as committed too.
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=KERNEL_TIMEOUT_S * 1000)
    assert run_all_cells(page) and page.evaluate(_OUTPUTS_JS) > 0, f"{lesson} did not run"
    assert page.evaluate(_SAVE_JS) == {"path": lesson, "dirty": False}
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
    assert _git(checkout, "status", "--porcelain") == "", _git_report(checkout)
