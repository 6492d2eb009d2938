"""The README's table of lessons and its Binder links, and the JupyterHub advice.

The table must list every lesson in notebooks/ once, in order, with what it teaches, a class time and
a Binder link. Each link must open that lesson's .ipynb in JupyterLab from the repository named in
pyproject.toml's [project.urls], so that moving the repository means changing one URL there and
the links (this test says which). The JupyterHub section must name set-up files that exist.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import tomllib
from notebook_utils import ROOT, SOURCES

README = (ROOT / "README.md").read_text()
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def _section(title: str) -> str:
    """The README's text from the '## ' heading starting with `title` to the next '## '."""
    match = re.search(rf"^## {re.escape(title)}.*?(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no section '## {title}...'"
    return match.group(0)


def _table_rows() -> list[list[str]]:
    """The rows of the lessons table, header and rule left out, as lists of cell texts."""
    lines = [line for line in _section("The notebooks").splitlines() if line.startswith("|")]
    assert lines[0].lower().split("|")[1:-1] == [" notebook ", " what it teaches ", " class time ", " binder "], lines[
        0
    ]
    return [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines[2:]]


def _github_repo() -> tuple[str, str]:
    parts = urlsplit(REPOSITORY)
    assert parts.scheme == "https" and parts.netloc == "github.com", REPOSITORY
    owner, repo = parts.path.strip("/").split("/")
    return owner, repo


def test_the_table_lists_every_lesson_once_in_order() -> None:
    assert [row[0].strip("`") for row in _table_rows()] == [p.stem for p in SOURCES]


@pytest.mark.parametrize("row", _table_rows(), ids=lambda row: row[0].strip("`"))
def test_each_row_says_what_it_teaches_and_how_long_it_takes(row: list[str]) -> None:
    name, teaches, minutes, _ = row
    assert len(teaches.split()) >= 15, f"{name}: say what the lesson teaches, got {teaches!r}"
    match = re.fullmatch(r"(\d+) min", minutes)
    assert match and 10 <= int(match.group(1)) <= 90, f"{name}: expected a class time like '40 min', got {minutes!r}"


@pytest.mark.parametrize("row", _table_rows(), ids=lambda row: row[0].strip("`"))
def test_each_binder_link_opens_that_lesson_from_the_repository(row: list[str]) -> None:
    name = row[0].strip("`")
    match = re.fullmatch(r"\[[^\]]+\]\((\S+)\)", row[3])
    assert match, f"{name}: expected a markdown link in the Binder column, got {row[3]!r}"
    url = urlsplit(match.group(1))
    owner, repo = _github_repo()
    assert (url.scheme, url.netloc) == ("https", "mybinder.org")
    # mybinder.org/v2/gh/<owner>/<repo>/<ref>: HEAD is the default branch, whatever its name
    assert url.path == f"/v2/gh/{owner}/{repo}/HEAD", (
        f"{name}: the link must launch {REPOSITORY} (pyproject.toml [project.urls] Repository), got {url.path}"
    )
    (urlpath,) = parse_qs(url.query)["urlpath"]
    prefix = "lab/tree/"
    assert urlpath.startswith(prefix), f"{name}: expected urlpath=lab/tree/... (open in JupyterLab), got {urlpath}"
    target = ROOT / urlpath.removeprefix(prefix)
    assert target == ROOT / "notebooks" / f"{name}.ipynb" and target.is_file(), f"{name}: link opens {target}"


def test_the_badge_launches_the_same_repository() -> None:
    owner, repo = _github_repo()
    badge = re.search(r"\[!\[Binder\]\([^)]*\)\]\((\S+)\)", _section("The notebooks"))
    assert badge and urlsplit(badge.group(1)).path == f"/v2/gh/{owner}/{repo}/HEAD"


def test_the_jupyterhub_section_names_files_that_exist() -> None:
    section = _section("A class of students")
    assert "JupyterHub" in section and "repo2docker" in section
    named = set(re.findall(r"`(environment\.yml|postBuild)`", section))
    assert named == {"environment.yml", "postBuild"}
    for name in named:
        assert (ROOT / name).is_file(), f"README's JupyterHub advice names {name}, which is missing"
