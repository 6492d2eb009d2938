"""Start and stop an isolated JupyterLab server for the browser tests, and find a Chromium to drive it.

Isolation: the server serves a temporary directory, reads settings, workspaces and runtime files from
temporary directories, and resolves the `python3` kernelspec to this interpreter, so a test run never
touches the user's Jupyter state or the repository's notebooks (JupyterLab autosaves).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from dev_module import dev
from playwright.sync_api import Browser, sync_playwright

CHROMIUM_ENV = "LNVIZ_CHROMIUM"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Tests never reach the internet: every host name but loopback fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)

# User settings written into an isolated JUPYTERLAB_SETTINGS_DIR, as `<plugin dir>/<file>`.
LAB_SETTINGS: dict[str, dict[str, object]] = {
    # The default windowing mode skips rendering cells far off screen, so their widgets never appear.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # The news and update checks reach the internet and pop up a toast over the notebook.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # The extension manager queries PyPI.
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
}

STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 10.0


def find_chromium() -> str:
    """Return the path of a Chromium executable: $LNVIZ_CHROMIUM, else the first on PATH (`dev.find_chromium`).

    Raises FileNotFoundError (never skips) with instructions when there is none, because a browser
    test that silently skips proves nothing.
    """
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise FileNotFoundError(
                f"{CHROMIUM_ENV}={configured!r} is not an executable file; expected the path of a "
                "Chromium or Chrome binary"
            )
        return configured
    found = dev.find_chromium()
    if found:
        return found
    raise FileNotFoundError(
        f"no Chromium found: expected ${CHROMIUM_ENV} or one of {', '.join(dev.CHROMIUM_NAMES)} on PATH, "
        "found none. Install one (Debian/Ubuntu: `apt-get install chromium`) or set "
        f"{CHROMIUM_ENV}=/path/to/chrome. Playwright's own browser download is not used."
    )


#: The window the browser tests open JupyterLab in, unless a test says otherwise.
LAB_VIEWPORT = {"width": 1280, "height": 900}


def copy_lessons(source: Path, destination: Path) -> None:
    """Copy the lessons' .ipynb (and everything but their .py twins) from `source` to `destination`.

    jupytext would read a paired notebook's inputs from its .py whenever that is newer, and a git
    checkout leaves modification times arbitrary: leaving the twins out tests the .ipynb as committed.
    """

    def paired_text_files(directory: str, names: list[str]) -> list[str]:
        return [name for name in names if name.endswith(".py") and name[:-3] + ".ipynb" in names]

    shutil.copytree(source, destination, ignore=paired_text_files)


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """The Chromium of `find_chromium` under playwright, with CHROMIUM_ARGS; a missing browser fails the
    test with instructions (never skips it)."""
    try:
        executable = find_chromium()
    except FileNotFoundError as error:
        pytest.fail(str(error))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LabServer:
    """A running JupyterLab server.

    root: the directory it serves; base_url: `http://127.0.0.1:<port>/`; token: its auth token;
    log_path: where its stdout and stderr go.
    """

    process: subprocess.Popen[bytes]
    root: Path
    base_url: str
    token: str
    log_path: Path

    def url(self, path: str) -> str:
        """Absolute URL of `path` (relative to the server's base URL), authenticated by the token."""
        separator = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{separator}token={self.token}"

    def api(self, method: str, path: str, timeout: float = 5.0) -> object:
        """Call the REST API (`path` relative to `api/`); return the decoded JSON body, or None if empty."""
        request = urllib.request.Request(
            f"{self.base_url}api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, chars: int = 4000) -> str:
        """The last `chars` characters of the server log, for failure messages."""
        return self.log_path.read_text(errors="replace")[-chars:]


def _write_settings(settings_dir: Path) -> None:
    for relative, values in LAB_SETTINGS.items():
        path = settings_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


def _server_env(state_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        {
            # The kernelspec `python3` runs "python": resolve it to this venv's interpreter, and read
            # kernelspecs from this venv before any system-wide ones.
            "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
            "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
            "JUPYTER_CONFIG_DIR": str(state_dir / "config"),
            "JUPYTER_DATA_DIR": str(state_dir / "data"),
            "JUPYTER_RUNTIME_DIR": str(state_dir / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(state_dir / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(state_dir / "workspaces"),
            "IPYTHONDIR": str(state_dir / "ipython"),
        }
    )
    return env


def start_lab(root: Path, state_dir: Path) -> LabServer:
    """Start JupyterLab serving `root`, keeping all of its state under `state_dir`; wait until it answers.

    The caller must call `stop_lab` (also on failure). Raises RuntimeError with the server log if it
    exits or does not answer /api/status within STARTUP_TIMEOUT_S.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    _write_settings(state_dir / "settings")
    port = free_port()
    token = secrets.token_hex(24)
    log_path = state_dir / "server.log"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.open_browser=False",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        # CI runs as root; JupyterLab refuses to start as root without this.
        "--ServerApp.allow_root=True",
        "--ServerApp.terminals_enabled=False",
        # Lets the test reach the application object (`window.jupyterapp`) to run cells and wait on kernels.
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log_path.open("wb") as log:
        # A new session gives the server its own process group, so stop_lab can end it and its children.
        process = subprocess.Popen(
            command,
            cwd=root,
            env=_server_env(state_dir),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LabServer(process, root, f"http://127.0.0.1:{port}/", token, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode} during startup:\n{server.log_tail()}")
        try:
            server.api("GET", "status", timeout=2.0)
            return server
        except OSError:  # not listening yet (URLError, connection reset, timeout)
            time.sleep(0.25)
    stop_lab(server)
    raise RuntimeError(
        f"JupyterLab did not answer {server.base_url}api/status within {STARTUP_TIMEOUT_S:.0f} s:\n{server.log_tail()}"
    )


def shutdown_kernels(server: LabServer) -> None:
    """Shut down every kernel the server runs (each notebook starts one; they would pile up)."""
    for kernel in server.api("GET", "kernels"):  # type: ignore[union-attr]
        server.api("DELETE", f"kernels/{kernel['id']}", timeout=SHUTDOWN_TIMEOUT_S)


def stop_lab(server: LabServer) -> None:
    """Shut down the server's kernels, then the server and its process group; idempotent."""
    if server.process.poll() is None:
        # Kernels run in sessions of their own, out of reach of the server's process group: ask first.
        try:
            shutdown_kernels(server)
        except OSError:
            pass  # the server is going down anyway; on SIGTERM it shuts down its kernels itself
        _signal_group(server.process, signal.SIGTERM)
        try:
            server.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
    # Whatever of the group survived SIGTERM (or outlived a server that died) is killed.
    _signal_group(server.process, signal.SIGKILL)
    server.process.wait(timeout=SHUTDOWN_TIMEOUT_S)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
