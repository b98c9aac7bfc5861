"""What the update tests share: a throwaway template repository, Copier run as a user runs it,
the edits a user makes to a node, and the checks that an update kept them.

tests/test_update.py builds synthetic releases from this checkout; tests/test_update_history.py
marks real past commits as releases. Both generate a node at an older release, commit it, edit
it like a user, and run `copier update --defaults --trust --conflict inline` to the newest, as
docs/ownership.md tells users to.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TEMPLATE_ROOT

# A user's change to a setting of the template-owned contract.yaml (a 3-way merge keeps it).
CONTRACT_SETTING = ("operation_timeout_seconds: 30.0", "operation_timeout_seconds: 45.0")
CONFLICT_MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)

# -- throwaway template repositories -----------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=GIT_ENV, check=False
    )
    assert done.returncode == 0, f"git {' '.join(args)} failed in {cwd}:\n{done.stderr}"
    return done.stdout


GIT_ENV = {
    # Not the template suite's own environment: the project's uv would warn about it.
    **{key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"},
    "GIT_AUTHOR_NAME": "update test",
    "GIT_AUTHOR_EMAIL": "update-test@example.invalid",
    "GIT_COMMITTER_NAME": "update test",
    "GIT_COMMITTER_EMAIL": "update-test@example.invalid",
}


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)


def copy_working_tree(dst: Path) -> None:
    """This checkout's working tree (tracked and new files, as they are now) into `dst`."""
    listed = git(TEMPLATE_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in sorted(set(listed.split("\0"))):
        source = TEMPLATE_ROOT / name
        if name and source.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dst / name)


def snapshot_template(dst: Path) -> Path:
    """This checkout's working tree as a fresh repository with one commit."""
    copy_working_tree(dst)
    git(dst, "init", "-q", "-b", "main")
    commit_all(dst, "template as it is in the working tree")
    return dst


def require_commits(repo: Path, commits: list[str]) -> None:
    """Fail (never skip) when `repo` lacks history the tests need, saying how to get it."""
    shallow = git(repo, "rev-parse", "--is-shallow-repository").strip() == "true"
    missing = [
        commit
        for commit in commits
        if subprocess.run(
            ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=repo, capture_output=True
        ).returncode
    ]
    problem = "is a shallow clone" if shallow else f"has no commit {' '.join(missing)}"
    if shallow or missing:
        pytest.fail(
            f"{repo} {problem}: these tests update from real past commits, so they need the "
            "repository's full history (CI: `git fetch --unshallow`, or actions/checkout "
            "with fetch-depth: 0)"
        )


def export_commit(commit: str, dst: Path) -> Path:
    """The template's files at `commit` (of this checkout's history) in `dst`, without git."""
    require_commits(TEMPLATE_ROOT, [commit])
    dst.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(dst)], input=archive.stdout, check=True)
    return dst


# -- copier, the way a user runs it ----------------------------------------------------------


def copier(*args: str, cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "copier", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=GIT_ENV,
        timeout=900,
        check=False,
    )
    assert done.returncode == expect, (
        f"copier {' '.join(args)} exited {done.returncode}, not {expect}:\n"
        f"{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
    )
    return done


def data_args(answers: dict[str, Any]) -> list[str]:
    return [arg for key, value in answers.items() for arg in ("-d", f"{key}={value}")]


def copy_at(repo: Path, version: str, dst: Path, answers: dict[str, Any]) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    copier(
        "copy",
        "--trust",
        "--defaults",
        "--quiet",
        f"--vcs-ref={version}",
        *data_args({"run_checks": "false", **answers}),
        str(repo),
        str(dst),
        cwd=dst.parent,
    )
    return dst


def is_user_owned(relative: str, repo: Path) -> bool:
    """Whether `relative` matches `_skip_if_exists` of the template's latest release."""
    patterns = yaml.safe_load((repo / "copier.yml").read_text())["_skip_if_exists"]
    # Copier matches these like .gitignore lines: `*` stays within one path segment.
    return any(re.fullmatch(re.escape(p).replace(r"\*", "[^/]*"), relative) for p in patterns)


def project_files(project: Path) -> set[str]:
    """Every file of the project git would see: tracked, plus new files not ignored."""
    listed = git(project, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return {name for name in listed.split("\0") if name and (project / name).is_file()}


# -- what a user does to a node ----------------------------------------------------------------


# -- what a user does to a node ----------------------------------------------------------------


@dataclass
class UserEdits:
    """The edits made to a node, and the text each edited file must still contain."""

    node_dir: str
    expected: dict[str, list[str]] = field(default_factory=dict)
    new_files: set[str] = field(default_factory=set)

    def moved(self, old: str, new: str) -> None:
        """A release moved `old` to `new`: expect the edits there."""
        self.expected[new] = self.expected.pop(old)


def edit_like_a_user(project: Path) -> UserEdits:
    """Business logic, a model field, a test, a brand-new file and a changed contract setting."""
    (node,) = (project / "src").glob("*/nodes/node_*")
    package, node_dir = node.parent.parent.name, node.relative_to(project).as_posix()
    module = f"{package}.nodes.{node.name}"
    (input_model,) = node.glob("models/model_*_input.py")
    (input_class,) = re.findall(r"^class (Model\w+Input)\(", input_model.read_text(), re.M)
    edits = UserEdits(node_dir)

    def append(relative: str, text: str) -> None:
        path = project / relative
        path.write_text(path.read_text() + text)
        edits.expected.setdefault(relative, []).append(text)

    # Business logic lives in handlers/ (0.2.0 on); a project of an earlier release keeps its
    # operations.py, which the update must leave as it is (migrations/route_operations.py).
    legacy = node / "operations.py"
    logic = legacy if legacy.is_file() else sorted(node.glob("handlers/handler_*.py"))[0]
    logic_module = ".".join(logic.relative_to(project / "src").with_suffix("").parts)
    if legacy.is_file():
        edits.new_files.add(legacy.relative_to(project).as_posix())
    append(
        logic.relative_to(project).as_posix(),
        "\n\n# Business rule added by the node's team.\n"
        'RETENTION_DAYS: dict[str, int] = {"gold": 365, "silver": 90}\n\n\n'
        "def retention_days(tier: str) -> int:\n"
        '    """How long records of a customer tier are kept; unknown tiers get 30 days."""\n'
        "    return RETENTION_DAYS.get(tier, 30)\n",
    )
    # The input class is the last statement of its module: this line joins its fields.
    append(
        input_model.relative_to(project).as_posix(),
        '    tenant: str = Field(default="acme", min_length=1, description="Owning tenant")\n',
    )
    append(
        "tests/test_operations.py",
        "\n\ndef test_team_rules_survive_template_updates() -> None:\n"
        "    from pathlib import Path\n\n"
        f"    import {logic_module} as logic\n"
        f"    from {module}.models.{input_model.stem} import {input_class}\n"
        f"    from {package}.runtime.contract_config import load_contract_config\n\n"
        '    assert logic.retention_days("gold") == 365\n'
        '    assert logic.retention_days("bronze") == 30\n'
        f'    assert {input_class}.model_fields["tenant"].default == "acme"\n'
        f'    contract = Path(logic.__file__).parents[{len(logic.relative_to(node).parts) - 1}] / "contract.yaml"\n'
        '    assert load_contract_config(contract)["operation_timeout_seconds"] == 45.0\n',
    )
    runbook = "docs/runbook.md"
    (project / "docs").mkdir()
    (project / runbook).write_text("# Runbook\n\nPage the team when /health is unhealthy.\n")
    edits.expected[runbook] = ["Page the team"]
    edits.new_files.add(runbook)

    contract = project / node_dir / "contract.yaml"
    before, after = CONTRACT_SETTING
    assert contract.read_text().count(before) == 1, f"{contract} has no `{before}` line"
    contract.write_text(contract.read_text().replace(before, after))
    edits.expected[f"{node_dir}/contract.yaml"] = [after]
    return edits


# -- one update, start to finish -----------------------------------------------------------------


# -- one update, start to finish -----------------------------------------------------------------


@dataclass
class Updated:
    project: Path
    edits: UserEdits
    output: str
    seconds: float


def generate_and_edit(
    repo: Path, version: str, dst: Path, answers: dict[str, Any]
) -> tuple[Path, UserEdits]:
    """Generate at `version`, commit, edit like a user, commit: a project ready to update."""
    project = copy_at(repo, version, dst, answers)
    git(project, "init", "-q", "-b", "main")
    commit_all(project, f"node generated at {version}")
    edits = edit_like_a_user(project)
    commit_all(project, "our business logic")
    return project, edits


def update(
    project: Path, edits: UserEdits, update_answers: dict[str, Any] | None = None
) -> Updated:
    """`copier update` to the latest release, as docs/ownership.md says; then none is newer."""
    # `copier check-update --quiet` exits 2 when a newer release exists.
    copier("check-update", "--quiet", cwd=project, expect=2)
    started = time.perf_counter()
    done = copier(
        "update",
        "--defaults",
        "--trust",
        "--conflict=inline",
        *data_args(update_answers or {}),
        cwd=project,
    )
    seconds = time.perf_counter() - started
    print(f"copier update of {project.name} {update_answers or ''}: {seconds:.1f} s")
    copier("check-update", "--quiet", cwd=project)
    return Updated(project, edits, done.stdout + done.stderr, seconds)


def assert_clean_merge(updated: Updated) -> None:
    project = updated.project
    files = project_files(project)
    assert not [f for f in files if f.endswith(".rej")], "copier left .rej files"
    marked = [f for f in files if CONFLICT_MARKER.search((project / f).read_text(errors="ignore"))]
    assert not marked, f"conflict markers in {marked}"
    status = git(project, "status", "--porcelain")
    assert not [line for line in status.splitlines() if line[:2] in {"UU", "AA", "DU", "UD"}]


def assert_user_edits_intact(updated: Updated, repo: Path) -> None:
    # name-status lines: "M\tpath", "A\tpath", "D\tpath", or "R100\told\tnew" for a pure move.
    status = git(updated.project, "diff", "-M", "--name-status", "HEAD").splitlines()
    untouchable = [
        line
        for line in status
        # A pure move, or a user-owned file the update created (a new operation's handler, or
        # one the 0.2.0 migration wrote): neither touches what the user wrote.
        if not line.startswith(("R100\t", "A\t"))
        and any(
            is_user_owned(f, repo) or f in updated.edits.new_files for f in line.split("\t")[1:]
        )
    ]
    assert not untouchable, f"the update changed files the user owns: {untouchable}"
    for relative, texts in updated.edits.expected.items():
        content = (updated.project / relative).read_text()
        for text in texts:
            assert text in content, f"the user's edit to {relative} is gone:\n{text}"


def assert_template_files_match_fresh_copy(
    updated: Updated, repo: Path, workdir: Path, answers: dict[str, Any]
) -> None:
    """Template-owned files equal a fresh copy of the latest release (bar the contract setting)."""
    latest = git(repo, "describe", "--tags", "--abbrev=0").strip()
    fresh = copy_at(repo, latest, workdir / "fresh" / "ledger", answers)
    fresh_files = set(walk(fresh))
    # uv.lock is written by the checks (when the update ran them), not by the template.
    project_side = project_files(updated.project) - {"uv.lock"}
    assert project_side - fresh_files == updated.edits.new_files, "stale or missing files"
    assert fresh_files - project_side == set(), "files of the new version are missing"
    contract = f"{updated.edits.node_dir}/contract.yaml"
    for relative in sorted(fresh_files):
        if is_user_owned(relative, repo):
            continue
        expected = (fresh / relative).read_bytes()
        if relative == contract:
            expected = expected.replace(*(s.encode() for s in CONTRACT_SETTING))
        assert (updated.project / relative).read_bytes() == expected, (
            f"{relative} differs from a fresh copy at {latest}"
        )


def walk(root: Path) -> Iterator[str]:
    """Every file under `root`, as a path relative to it."""
    for path in root.rglob("*"):
        if path.is_file():
            yield path.relative_to(root).as_posix()
