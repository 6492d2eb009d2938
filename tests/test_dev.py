"""dev.py, the set-up behind the README's two commands: idempotent, and clear when Chromium is missing."""

from __future__ import annotations

import subprocess

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
