"""dev.py, the set-up behind the README's two commands: idempotent, and clear when Chromium is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dev_module import dev
from notebook_utils import ROOT


@pytest.fixture
def fake_venv(tmp_path, monkeypatch):
    """A venv directory whose python exists, and a record of every command set-up would run."""
    monkeypatch.setattr(dev, "VENV", tmp_path / "venv")
    python = dev.venv_bin("python")
    python.parent.mkdir(parents=True)
    python.touch()
    calls = []
    monkeypatch.setattr(dev, "run", lambda *args: calls.append([str(a) for a in args]))
    return calls


def test_setup_installs_pinned_torch_then_lnviz_and_is_idempotent(fake_venv):
    dev.setup("test")
    assert fake_venv[0][-1] == dev.TORCH and "==" in dev.TORCH  # pinned: unpinned torch is a CUDA build
    assert fake_venv[1][-2:] == ["-e", ".[test]"]
    fake_venv.clear()
    dev.setup("test")
    dev.setup("")  # a test set-up also serves the lab
    assert fake_venv == []


def test_setup_reinstalls_when_the_project_changes(fake_venv, monkeypatch):
    dev.setup("")
    (dev.VENV / "lnviz-setup.stamp").write_text("something older")
    fake_venv.clear()
    dev.setup("")
    assert len(fake_venv) == 2


def test_chromium_from_the_environment_wins(monkeypatch):
    monkeypatch.setenv("LNVIZ_CHROMIUM", "/opt/my/chrome")
    assert dev.ensure_chromium() == "/opt/my/chrome"


def test_missing_chromium_stops_with_instructions(monkeypatch):
    monkeypatch.delenv("LNVIZ_CHROMIUM", raising=False)
    monkeypatch.setattr(dev.shutil, "which", lambda name: None)
    monkeypatch.setattr(dev.os, "geteuid", lambda: 1000)  # not root: nothing is installed behind your back
    with pytest.raises(SystemExit) as stop:
        dev.ensure_chromium()
    assert "apt-get install chromium" in str(stop.value) and "LNVIZ_CHROMIUM" in str(stop.value)


def test_usage_without_a_command():
    out = subprocess.run(["python3", str(ROOT / "dev.py")], capture_output=True, text=True)
    assert out.returncode == 2 and "dev.py lab" in out.stdout and "dev.py test" in out.stdout


def test_readme_shows_exactly_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "python3 dev.py lab" in readme and "python3 dev.py test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "chromium" in ci and ci.strip().splitlines()[-1] == "exec python3 dev.py test"


@pytest.mark.parametrize("other_finished", [True, False])
def test_a_second_setup_waits_for_the_first_and_skips_what_it_did(fake_venv, monkeypatch, capsys, other_finished):
    fcntl = pytest.importorskip("fcntl")
    held = (dev.VENV / "lnviz-setup.lock").open("a+b")
    fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a set-up in another terminal holds it

    def other_setup_ends(seconds: float) -> None:
        assert fake_venv == []  # nothing is installed while the other set-up runs
        if other_finished:
            project = (dev.ROOT / "pyproject.toml").read_bytes()
            (dev.VENV / "lnviz-setup.stamp").write_text(dev._stamp(project, "test"))
        held.close()

    monkeypatch.setattr(dev.time, "sleep", other_setup_ends)
    dev.setup("test")
    assert "another set-up is running" in capsys.readouterr().out
    assert len(fake_venv) == (0 if other_finished else 2)


@pytest.mark.parametrize(
    "setting, expected",
    [(None, ROOT / ".venv"), ("", ROOT / ".venv"), ("envs/lnviz", ROOT / "envs" / "lnviz"), ("/opt/v", Path("/opt/v"))],
)
def test_lnviz_venv_is_taken_from_the_repository_root(setting, expected):
    assert dev.venv_dir(setting) == expected


def fake_python(venv: Path, exit_code: int, stderr: str = "") -> None:
    """A venv whose python records its arguments in venv/calls and exits with exit_code."""
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$@" >> "{venv / "calls"}"\nprintf "{stderr}" >&2\nexit {exit_code}\n')
    python.chmod(0o755)


@pytest.mark.skipif(sys.platform == "win32", reason="the fake python is a shell script")
def test_a_relative_lnviz_venv_means_the_same_venv_from_any_directory(tmp_path):
    fake_python(tmp_path / "venv", 0)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, LNVIZ_VENV=os.path.relpath(tmp_path / "venv", ROOT))
    done = subprocess.run(
        ["python3", str(ROOT / "dev.py"), "export"], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "venv" / "calls").read_text().splitlines()
    assert "pip install" in calls[0] and calls[-1] == "-m lnviz.export"
    assert (tmp_path / "venv" / "lnviz-setup.stamp").exists() and list(elsewhere.iterdir()) == []


@pytest.mark.skipif(sys.platform == "win32", reason="the fake python is a shell script")
def test_a_failing_pip_shows_its_message_and_a_one_line_hint_not_a_traceback(tmp_path):
    fake_python(tmp_path / "venv", 1, "ERROR: No matching distribution found for torch==0.0.0\\n")
    env = dict(os.environ, LNVIZ_VENV=str(tmp_path / "venv"), LNVIZ_TORCH="torch==0.0.0")
    done = subprocess.run(["python3", str(ROOT / "dev.py"), "export"], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "ERROR: No matching distribution found for torch==0.0.0" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    hint = done.stdout.strip().splitlines()[-1]
    assert hint.startswith("[lnviz] set-up failed: `python -m pip install") and "LNVIZ_TORCH=torch==0.0.0" in hint
    assert not (tmp_path / "venv" / "lnviz-setup.stamp").exists()


def test_a_failing_venv_ends_in_a_hint_about_python3_venv(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(dev, "VENV", tmp_path / "venv")

    def run(*args: str) -> None:
        raise subprocess.CalledProcessError(1, [str(a) for a in args])

    monkeypatch.setattr(dev, "run", run)
    assert dev.main(["export"]) == 1
    hint = capsys.readouterr().out.strip().splitlines()[-1]
    assert hint.startswith("[lnviz] set-up failed: `python") and "-m venv" in hint and "python3-venv" in hint


def test_lab_opens_the_notebooks_with_the_save_hook(fake_venv, monkeypatch):
    started = []
    monkeypatch.setattr(dev.subprocess, "call", lambda command, cwd, env: started.append((command, env)) or 0)
    assert dev.main(["lab", "--port=9999"]) == 0
    [(command, env)] = started
    assert command[1:4] == ["lab", "--notebook-dir", str(ROOT / "notebooks")] and command[-1] == "--port=9999"
    assert "--ContentsManager.pre_save_hook=lnviz.lab_config.strip_outputs" in command
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0] == str(dev.VENV / "lnviz-lab-config")


def test_lab_settings_reach_jupyterlab_and_keep_the_users_config_path(tmp_path):
    """The defaults JupyterLab's settings API serves for the document manager, computed as the server
    computes them, under the environment `dev.lab_command` gives it: a .py opens as a notebook."""
    # An empty user config directory: the user's own overrides must not be what the test sees.
    mine = dict(os.environ, JUPYTER_CONFIG_PATH="/mine", JUPYTER_CONFIG_DIR=str(tmp_path / "user"))
    _, env = dev.lab_command(ROOT / "notebooks", tmp_path / "config", env=mine)
    assert env["JUPYTER_CONFIG_PATH"] == os.pathsep.join([str(tmp_path / "config"), "/mine"])
    code = (
        "import json, sys\n"
        "from jupyterlab.commands import get_app_dir\n"
        "from jupyterlab_server.settings_utils import get_settings\n"
        "app = get_app_dir()\n"
        "result, _ = get_settings(app + '/settings', app + '/schemas', sys.argv[1],\n"
        "                         schema_name='@jupyterlab/docmanager-extension:plugin')\n"
        "print(json.dumps(result['schema']['properties']['defaultViewers']['default']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "user-settings")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout).get("python") == "Jupytext Notebook", result.stdout
