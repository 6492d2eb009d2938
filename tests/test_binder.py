"""Binder builds the pip set-up's environment from conda-forge, and stays in step with it.

environment.yml must list pyproject.toml's dependencies with the same version constraints (torch by
its conda-forge CPU name), plus what postBuild needs to install lnviz (the build-system's
requirements and pip), from conda-forge only, with python pinned to a version the pip set-up
supports. postBuild installs lnviz without touching those packages, and makes JupyterLab open a
lesson's .py as a notebook: the last test runs its command and asks JupyterLab's settings API.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import tomllib
import yaml  # PyYAML: a dependency of jupytext, so always there
from notebook_utils import ROOT
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

#: PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"torch": "pytorch-cpu"}

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
ENVIRONMENT = yaml.safe_load((ROOT / "environment.yml").read_text())
POSTBUILD = ROOT / "postBuild"


def _conda_specs() -> dict[str, str]:
    """environment.yml's dependencies as {name: version constraint}, python left out."""
    specs = {}
    for entry in ENVIRONMENT["dependencies"]:
        assert isinstance(entry, str), f"expected conda-forge packages only, found a nested list {entry!r}"
        name, spec = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", entry).groups()
        specs[canonicalize_name(name)] = spec.replace(" ", "")
    specs.pop("python")
    return specs


def _pip_specs(requirements: list[str]) -> dict[str, str]:
    """Requirements as {conda-forge name: version constraint}."""
    specs = {}
    for line in requirements:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        specs[CONDA_NAMES.get(name, name)] = str(requirement.specifier)
    return specs


def _postbuild_commands() -> list[list[str]]:
    lines = [line.strip() for line in POSTBUILD.read_text().splitlines()]
    return [shlex.split(line) for line in lines if line and not line.startswith("#") and not line.startswith("set ")]


def test_channels_are_conda_forge_only() -> None:
    # `nodefaults` is no channel: it stops conda from adding the defaults channel behind conda-forge.
    assert [c for c in ENVIRONMENT["channels"] if c != "nodefaults"] == ["conda-forge"]
    assert "nodefaults" in ENVIRONMENT["channels"]


def test_python_is_pinned_to_a_version_the_pip_set_up_supports() -> None:
    pins = [d for d in ENVIRONMENT["dependencies"] if isinstance(d, str) and re.match(r"python\b", d)]
    assert len(pins) == 1, f"expected one python entry, found {pins}"
    match = re.fullmatch(r"python\s*=\s*(\d+\.\d+)(\.\d+)?", pins[0])
    assert match, f"expected python pinned as python=X.Y, found {pins[0]!r}"
    assert Version(match.group(1)) in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_same_packages_and_versions_as_pyproject() -> None:
    conda = _conda_specs()
    wanted = _pip_specs(PYPROJECT["project"]["dependencies"])
    # postBuild installs lnviz with --no-build-isolation: the build backend must be in the environment
    wanted |= _pip_specs(PYPROJECT["build-system"]["requires"])
    assert conda.pop("pip") == "", "pip is there for postBuild, at any version"
    assert set(conda) == set(wanted), (
        f"only in environment.yml: {sorted(set(conda) - set(wanted))}; "
        f"only in pyproject.toml: {sorted(set(wanted) - set(conda))}"
    )
    differ = {
        name: (conda[name], wanted[name]) for name in conda if SpecifierSet(conda[name]) != SpecifierSet(wanted[name])
    }
    assert not differ, f"version constraints differ (environment.yml, pyproject.toml): {differ}"


def test_torch_is_a_cpu_build() -> None:
    names = {canonicalize_name(re.match(r"[A-Za-z0-9_.\-]+", d).group()) for d in ENVIRONMENT["dependencies"]}
    assert "pytorch-cpu" in names and not names & {"pytorch", "pytorch-gpu", "torch"}


def test_lnviz_is_installed_by_postbuild_not_by_the_environment() -> None:
    # An environment that installs the repository (`pip: [-e .]`) is rebuilt on every commit.
    assert "-e ." not in (ROOT / "environment.yml").read_text()
    assert os.access(POSTBUILD, os.X_OK), "Binder runs postBuild only when it is executable"
    installs = [c for c in _postbuild_commands() if c[:4] == ["python", "-m", "pip", "install"]]
    assert len(installs) == 1, _postbuild_commands()
    # --no-deps: pip must not replace conda-forge's packages (a CUDA torch from PyPI, say)
    assert {"--no-deps", "-e", "."} <= set(installs[0])


def test_postbuild_makes_jupyterlab_open_a_py_lesson_as_a_notebook(tmp_path: Path) -> None:
    viewer = [c for c in _postbuild_commands() if c[0] == "jupytext-config"]
    assert len(viewer) == 1, _postbuild_commands()
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
    )
    subprocess.run(viewer[0], check=True, env=env, capture_output=True)
    # The defaults JupyterLab's settings API serves for the document manager, computed as the server
    # computes them: its schema, updated by the overrides found in the config path.
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
        [sys.executable, "-c", code, str(tmp_path / "settings")], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout).get("python") == "Jupytext Notebook", result.stdout
