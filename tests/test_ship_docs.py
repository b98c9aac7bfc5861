"""The template's docs site: mkdocs-material over docs/, built with --strict.

A broken link, a page missing from the nav or a nav entry without its page fails the build
(mkdocs.yml's `validation` turns each into a warning, and --strict makes warnings errors).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import TEMPLATE_ROOT

MKDOCS = Path(sys.executable).parent / "mkdocs"


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(MKDOCS),
            "build",
            "--strict",
            "--config-file",
            str(root / "mkdocs.yml"),
            "-d",
            str(site),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )


def test_docs_site_builds_strict_with_every_page_in_the_nav(tmp_path: Path) -> None:
    result = build(TEMPLATE_ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stderr[-4000:]
    nav = yaml.safe_load((TEMPLATE_ROOT / "mkdocs.yml").read_text())["nav"]
    pages = {page for entry in nav for page in entry.values()}
    assert pages == {p.name for p in (TEMPLATE_ROOT / "docs").glob("*.md")}
    for page in pages:
        assert (tmp_path / "site" / Path(page).stem).exists() or page == "index.md", page


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(TEMPLATE_ROOT / "docs", copy / "docs")
    shutil.copy(TEMPLATE_ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    page = copy / "docs" / "shipping.md"
    page.write_text(page.read_text() + "\nSee [nowhere](no-such-page.md).\n")
    result = build(copy, tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-page.md" in result.stderr
