"""The lessons exported once per test session, by the command a lecturer runs, for test_export.py and
test_browser.py alike: executing the lessons is the expensive part, so it happens once, and only for
the lessons the selected tests read.

The lessons run with LNVIZ_QUICK=1 (their short training runs), as in continuous integration.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from notebook_utils import ROOT, SOURCES

#: Longest the whole export may take (eight lessons take 1.5 to 5 minutes on two cores, busy or not).
EXPORT_TIMEOUT_S = 900


@dataclass
class Export:
    """The export command's folder of pages and slides, and what it printed."""

    out: Path
    returncode: int
    stdout: str
    stderr: str

    def page(self, lesson: Path) -> Path:
        return self.out / f"{lesson.stem}.html"

    def slides(self, lesson: Path) -> Path:
        return self.out / f"{lesson.stem}.slides.html"


_done: list[Export] = []


def _lessons_wanted(session: pytest.Session) -> list[Path]:
    """The lessons that the session's selected tests read pages of: those a test is parametrized with
    (`lesson`), or all of them if a test that uses the export has no lesson of its own. So that
    `pytest -k 07_convnets` executes one lesson, not eight."""
    wanted = set()
    for item in session.items:
        if "exported" not in getattr(item, "fixturenames", ()):
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is None or "lesson" not in callspec.params:
            return list(SOURCES)
        wanted.add(callspec.params["lesson"])
    return [lesson for lesson in SOURCES if lesson in wanted]


def export_lessons(session: pytest.Session, tmp_path_factory: pytest.TempPathFactory) -> Export:
    """Run `python -m lnviz.export --jobs 2 --out DIR LESSONS...` once per session, on the lessons the
    selected tests need; return its result. Two jobs: the machines that run the tests have two cores."""
    if not _done:
        out = tmp_path_factory.mktemp("lectures")
        names = [lesson.stem for lesson in _lessons_wanted(session)]
        env = dict(os.environ, LNVIZ_QUICK="1")
        result = subprocess.run(
            [sys.executable, "-m", "lnviz.export", "--jobs", "2", "--out", str(out), *names],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=EXPORT_TIMEOUT_S,
        )
        _done.append(Export(out, result.returncode, result.stdout, result.stderr))
    return _done[0]
