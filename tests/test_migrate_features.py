"""migrations/migrate_features.py: old answers to `features` survive `copier update`.

Before the feature catalogue (docs/features.md) any word was a feature. Copier discards a
recorded answer that no longer validates and falls back to the default, so an old project
recording `[custom_mixins, retries]` would lose custom_mixins, and its base class, on update.
The `before` migration drops the refused words first and says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import TEMPLATE_ROOT

SCRIPT = TEMPLATE_ROOT / "migrations" / "migrate_features.py"
HEADER = "# Changes here will be overwritten by Copier; do not edit manually\n"


def migrate(answers_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(answers_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_script_drops_refused_features_and_says_so(tmp_path: Path) -> None:
    answers_file = tmp_path / ".copier-answers.yml"
    answers = {
        "_commit": "84370f5",
        "_src_path": "/somewhere/onex-node-template",
        "features": ["custom_mixins", "retries", "fail_fast", "stamping"],
        "integrations": ["kafka"],
        "service_name": "orders",
    }
    answers_file.write_text(HEADER + yaml.safe_dump(answers, sort_keys=False))

    first = migrate(answers_file)

    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "[migrate] dropped feature 'retries': unknown to this version",
        "[migrate] dropped feature 'stamping': stamps source files (onex tooling), not node data",
    ]
    text = answers_file.read_text()
    assert text.startswith(HEADER)
    assert yaml.safe_load(text) == {**answers, "features": ["custom_mixins", "fail_fast"]}

    # Runs on every update: a second run finds nothing, prints nothing, changes nothing.
    second = migrate(answers_file)
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
    assert answers_file.read_text() == text


def test_script_leaves_a_clean_answers_file_untouched(tmp_path: Path) -> None:
    answers_file = tmp_path / ".copier-answers.yml"
    # Copier's own layout, which a rewrite would change: flow style and an odd key order.
    original = HEADER + "service_name: orders\nfeatures: [caching]\n_commit: abc\n"
    answers_file.write_text(original)
    completed = migrate(answers_file)
    assert (completed.returncode, completed.stdout) == (0, "")
    assert answers_file.read_text() == original


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def copier(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "copier", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "GIT_AUTHOR_NAME": "test", "GIT_COMMITTER_NAME": "test"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


def releases_around_the_catalogue(repo: Path) -> None:
    """A template repo with 1.0.0, the last commit before the catalogue (it accepted any
    feature word), and 2.0.0, this checkout's working tree."""
    added = git(TEMPLATE_ROOT, "log", "--diff-filter=A", "--format=%H", "--", "docs/features.md")
    assert added, "needs the repository's history (docs/features.md's first commit)"
    before = added.split()[-1] + "^"
    git(repo.parent, "clone", "-q", str(TEMPLATE_ROOT), repo.name)
    git(repo, "checkout", "-q", "--detach", before)
    git(repo, "tag", "1.0.0")
    for name in git(repo, "ls-files", "-z").split("\0"):
        if name:
            (repo / name).unlink()
    listed = git(TEMPLATE_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in listed.split("\0"):
        if name and (TEMPLATE_ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE_ROOT / name, repo / name)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "the working tree")
    git(repo, "tag", "2.0.0")


def test_update_keeps_the_features_that_still_exist(tmp_path: Path) -> None:
    repo = tmp_path / "template"
    releases_around_the_catalogue(repo)
    project = tmp_path / "project"
    features = "features=[custom_mixins, retries, caching, strict]"
    copier(
        "copy", "--trust", "--defaults", "-r", "1.0.0", "-d", "run_checks=false", "-d",
        features, str(repo), str(project), cwd=tmp_path,
    )  # fmt: skip
    handler = next(project.glob("src/*/nodes/*/handler.py"))
    before = handler.read_text()
    assert "    MixinCaching,\n" in before
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "generated at 1.0.0")

    updated = copier("update", "--trust", "--defaults", "-r", "2.0.0", cwd=project)

    assert "[migrate] dropped feature 'retries': unknown to this version" in updated.stdout
    assert "[migrate] dropped feature 'strict': use fail_fast (adds MixinFailFast)" in (
        updated.stdout
    )
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["features"] == ["caching", "custom_mixins"]
    assert recorded["_commit"] == "2.0.0"
    # the node is built from the same classes as before the update, less MixinCaching, which
    # this release refuses (composed, never called: docs/features.md)
    after = handler.read_text()
    assert "MixinCaching" not in after
    for line in before.splitlines():
        if "MixinCaching" in line:
            continue
        if line.startswith(("class ", "    Mixin", "    Node", "from omnibase_core.mixins")):
            assert line in after.splitlines(), line
