#!/usr/bin/env python3
"""Set up lnviz's environment and open the notebooks, or run every test. Needs only Python 3.10+.

    python3 dev.py lab  [JupyterLab options]   set up, then open JupyterLab on notebooks/
    python3 dev.py test [pytest options]       set up, then run the whole test suite, browser tests included
    python3 dev.py export [NAMES] [--out DIR]  set up, then render every notebook, executed, to a
                                               self-contained HTML page and to reveal.js slides
                                               (build/lectures/ by default; --help for the options)
    python3 dev.py export --student [--out DIR]
                                               set up, then write every lesson without its solutions,
                                               as .ipynb and .py, for a course (build/student/ by default)
    python3 dev.py present NN [Voila options]  set up, then serve lesson NN with Voila on 127.0.0.1:
                                               prose, equations and live panels, code hidden

Set-up makes a virtual environment in .venv (LNVIZ_VENV to put it elsewhere; a relative path is
taken from the repository's root) and installs lnviz with its dependencies into it. It remembers what
it installed, so a second run takes a second; a second set-up started meanwhile waits for the first.
torch is pinned (LNVIZ_TORCH to change the pin) because an unpinned torch pulls a multi-GB CUDA build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

ROOT = Path(__file__).resolve().parent


def venv_dir(setting: str | None) -> Path:
    """The virtual environment's directory: LNVIZ_VENV's value, relative to the repository's root
    (every command runs there), or ROOT/.venv when it is unset or empty."""
    return ROOT / Path(setting).expanduser() if setting else ROOT / ".venv"


VENV = venv_dir(os.environ.get("LNVIZ_VENV"))
TORCH = os.environ.get("LNVIZ_TORCH", "torch==2.13.0")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Using a lesson leaves the checkout clean: saving writes a lesson's .ipynb without the outputs and the
# kernel metadata a run adds (lnviz.lab_config), and jupytext, pinned in pyproject.toml, writes the
# same `jupytext_version` into the .py header that the committed lessons carry.
LAB_OPTIONS = ("--ContentsManager.pre_save_hook=lnviz.lab_config.strip_outputs",)
# JupyterLab setting defaults, {plugin id: {setting: value}}.
LAB_SETTINGS: dict[str, dict[str, object]] = {
    # A double click on a lesson's .py (jupytext percent format) opens the notebook, not its text.
    "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}},
}


def say(message: str) -> None:
    print(f"[lnviz] {message}", flush=True)


def venv_bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def run(*args: str | os.PathLike) -> None:
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT)


def _stamp(project: bytes, extras: str) -> str:
    """What a set-up installed: the project file, the torch pin and the extras."""
    return hashlib.sha256(project + f"{TORCH}|{extras}".encode()).hexdigest()


def _try_lock(f: BinaryIO) -> bool:
    """Take the lock on the open file f without waiting; False if another process holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


@contextmanager
def setup_lock() -> Iterator[None]:
    """Hold VENV/lnviz-setup.lock for the block, waiting (and saying so) while another set-up holds it.

    Two pip runs into one environment at once can leave it broken; the operating system drops the
    lock when its process ends, however it ends.
    """
    VENV.mkdir(parents=True, exist_ok=True)
    with open(VENV / "lnviz-setup.lock", "a+b") as f:
        if not _try_lock(f):
            say(f"another set-up is running in {VENV}: waiting for it to finish")
            while not _try_lock(f):
                time.sleep(1.0)
        yield


def setup(extras: str) -> Path:
    """Create .venv and install lnviz[extras] into it, unless the same set-up is already there."""
    if sys.version_info < (3, 10):
        sys.exit(f"lnviz needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    python = venv_bin("python")
    stamp_file = VENV / "lnviz-setup.stamp"
    project = (ROOT / "pyproject.toml").read_bytes()
    stamp = _stamp(project, extras)
    wanted = {stamp, _stamp(project, "test")}  # a test set-up also serves the lab; the reverse is not true

    def done() -> bool:
        return python.exists() and stamp_file.exists() and stamp_file.read_text().strip() in wanted

    if done():
        return python
    with setup_lock():
        if not done():  # a set-up we waited for may have done it all
            _install(python, extras, stamp_file, stamp)
    return python


def _install(python: Path, extras: str, stamp_file: Path, stamp: str) -> None:
    """Create the venv if needed, install the torch pin and lnviz[extras], then write the stamp."""
    if not python.exists():
        say(f"creating a virtual environment in {VENV}")
        run(sys.executable, "-m", "venv", VENV)
    say(f"installing {TORCH} (CPU build where one is at hand), then lnviz[{extras}]")
    run(python, "-m", "pip", "install", "--disable-pip-version-check", "-q", TORCH)
    target = f".[{extras}]" if extras else "."
    run(python, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target)
    stamp_file.write_text(stamp)
    say("set-up done")


def find_chromium() -> str | None:
    """The Chromium the browser tests drive: $LNVIZ_CHROMIUM, or the first one on PATH."""
    if os.environ.get("LNVIZ_CHROMIUM"):
        return os.environ["LNVIZ_CHROMIUM"]
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def ensure_chromium() -> str:
    """Find a Chromium, install Debian's where we are root with apt-get, or stop and say how to get one."""
    found = find_chromium()
    if found:
        return found
    if sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("apt-get"):
        say("no Chromium found: installing Debian's chromium package with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
        found = find_chromium()
        if found:
            return found
    sys.exit(
        "The browser tests need Chromium and none was found.\n"
        "Install one (Debian/Ubuntu: `sudo apt-get install chromium`; macOS: install Google Chrome),\n"
        "or point LNVIZ_CHROMIUM at a Chromium or Chrome executable, then run this command again."
    )


def lab_command(
    notebook_dir: Path, config_dir: Path, env: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The command that opens JupyterLab on notebook_dir as `dev.py lab` does, and its environment (env,
    os.environ by default, with config_dir put first on JUPYTER_CONFIG_PATH).

    Writes LAB_SETTINGS into config_dir as JupyterLab's default setting overrides. Nothing goes into
    the user's own Jupyter configuration: a setting the user chose still wins over these defaults.
    """
    overrides = config_dir / "labconfig" / "default_setting_overrides.json"
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(json.dumps(LAB_SETTINGS, indent=2) + "\n")
    env = dict(os.environ if env is None else env)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(config_dir), env.get("JUPYTER_CONFIG_PATH")]))
    options = ["--notebook-dir", str(notebook_dir), *LAB_OPTIONS]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.append("--ServerApp.allow_root=True")  # JupyterLab refuses root otherwise (containers, CI)
    return [str(venv_bin("jupyter")), "lab", *options], env


def lab(args: list[str]) -> int:
    setup("")
    command, env = lab_command(ROOT / "notebooks", VENV / "lnviz-lab-config")
    return subprocess.call([*command, *args], cwd=ROOT, env=env)


def lint() -> int:
    """ruff's lint rules and its formatting (configured in pyproject.toml); 0 when both are clean."""
    ruff = str(venv_bin("ruff"))
    checked = subprocess.call([ruff, "check", "."], cwd=ROOT)
    formatted = subprocess.call([ruff, "format", "--check", "."], cwd=ROOT)
    if checked or formatted:
        say("lint failed: `.venv/bin/ruff check --fix . && .venv/bin/ruff format .` fixes most of it")
    return checked or formatted


def test(args: list[str]) -> int:
    python = setup("test")
    env = dict(os.environ, LNVIZ_CHROMIUM=ensure_chromium())
    tested = subprocess.call([str(python), "-m", "pytest", *args], cwd=ROOT, env=env)
    return lint() or tested


def export(args: list[str]) -> int:
    python = setup("")
    if "--student" in args:  # the lessons without their solutions, for a course (lnviz.student)
        rest = [a for a in args if a != "--student"]
        return subprocess.call([str(python), "-m", "lnviz.student", *rest], cwd=ROOT)
    return subprocess.call([str(python), "-m", "lnviz.export", *args], cwd=ROOT)


def present(args: list[str]) -> int:
    python = setup("present")
    process = subprocess.Popen([str(python), "-m", "lnviz.present", *args], cwd=ROOT)
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            pass  # Ctrl-C reached lnviz.present too: it stops Voila and removes its temporary files


def main(argv: list[str]) -> int:
    commands = {"lab": lab, "test": test, "export": export, "present": present}
    if not argv or argv[0] not in commands:
        print(__doc__.strip())
        return 2
    try:
        return commands[argv[0]](argv[1:])
    except subprocess.CalledProcessError as err:
        # The failed command (pip, venv, apt-get) has printed its own message above this line.
        failed = " ".join(Path(str(a)).name if i == 0 else str(a) for i, a in enumerate(err.cmd))
        if "pip" in err.cmd:
            fix = f"check the network and the torch pin LNVIZ_TORCH={TORCH}"
        elif "venv" in err.cmd:
            fix = "on Debian or Ubuntu, `sudo apt-get install python3-venv` provides venv"
        else:
            fix = "fix what its message says"
        say(f"set-up failed: `{failed}` exited with status {err.returncode} (its message is above); {fix}, then retry")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
