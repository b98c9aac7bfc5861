"""`copier update` from real past versions of this template to the working tree.

tests/test_update.py builds synthetic releases that all share today's extensions, so it cannot
see what breaks when old extension code, old questions and old recorded answers meet the new
template (an update from 48499a6 stopped on its http_port answer). Here a temporary clone of
this repository marks real past commits as releases and the working tree, committed on top, as
the newest. A node of each type is generated at a past release, committed, edited the way a
user edits one (business logic, a model field, a test, a contract setting, a new file) and
updated with `copier update --defaults --trust --conflict inline`, as docs/ownership.md says.
Then: exit 0, no conflict markers or .rej files, every user edit kept, template-owned files
equal to a fresh copy of the newest, the node class's bases kept (less MixinCaching, refused
since the late samples' custom composition with caching composed it), and the project's own
checks (ruff, mypy --strict, pytest, onex validate) green.

The past releases are the earliest commit whose generated nodes pass their checks and every
commit since that changed copier.yml or extensions/ (the code and questions an update runs).
SAMPLED names one commit per node type, two early and two late ones; the default run updates
from one early and one late sample, rotating with HEAD's commit (tests/conftest.py
matrix_sample), so two successive CI runs cover all four more often than not. The whole commits
x types matrix, SAMPLED with it, runs with `-m history_full` (tests/conftest.py leaves it out
unless `-m` names it).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import TEMPLATE_ROOT, copier_choices, matrix_sample, run_checks
from packaging.version import Version
from update_helpers import (
    assert_clean_merge,
    assert_template_files_match_fresh_copy,
    assert_user_edits_intact,
    copy_working_tree,
    generate_and_edit,
    git,
    require_commits,
    update,
)

# The earliest commit whose generated output passes its checks: the first commit. Measured by
# generating each node type at it and running its scripts/check_project.py: 4 of 4 green.
EARLIEST_WORKING = "23f5b01"
# What updates run of a past version: its questions and extensions (and the template, which
# every sampled commit also has a version of).
HISTORY_PATHS = ("copier.yml", "extensions")


@dataclass(frozen=True)
class Sample:
    commit: str
    node_type: str
    why: str
    # Answers beyond node_type the node is generated with at `commit`.
    answers: tuple[tuple[str, str], ...] = ()


# A custom composition with `caching`: before MixinCaching was refused, its class carried
# MixinCaching (never called); the update must drop it from the template-owned handler.py
# and keep everything else. integrations=[] keeps the node as the other samples are (caching
# alone would add redis, whose integration tests need a server these updates do not start).
CACHING_COMPOSITION = (("features", "[custom_mixins, caching]"), ("integrations", "[]"))


# One node type from each of four past commits, all four types covered: two early commits,
# then two late ones (the default run updates from one of each, SAMPLE_ERAS).
SAMPLED = (
    Sample(
        "23f5b01",
        "reducer",
        "the earliest working commit: http_port an int question, node_spec under a fixed "
        "module name, and the reducer's state model still template-owned",
    ),
    Sample(
        "0567db2",
        "compute",
        "the first _migrations (checks on update) and the never-asked run_checks_on_update "
        "question",
    ),
    Sample(
        "4b1f533",
        "effect",
        "onex_jinja.py keeps per-module state (the spec and decisions cached per answers); "
        "a custom composition with caching, so MixinCaching in the class",
        CACHING_COMPOSITION,
    ),
    Sample(
        "3972528",
        "orchestrator",
        "the latest question change (http_port became a str) and the import-collapsing "
        "extension (7480451), still with the fixed-name loader; a custom composition with "
        "caching, so MixinCaching in the class",
        CACHING_COMPOSITION,
    ),
)


SAMPLE_ERAS = ("early", "early", "late", "late")  # of each SAMPLED entry, in order


def history_commits() -> list[str]:
    """EARLIEST_WORKING and every later commit of HEAD's first-parent line that changed
    HISTORY_PATHS or is a release (a PEP 440 tag), oldest first."""

    def lines(*args: str) -> list[str]:
        done = subprocess.run(
            ["git", *args], cwd=TEMPLATE_ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout.split()

    # The first-parent line: the commits a user could have generated from (main's own, merges
    # of branches as one step), in order, so their versions grow with it.
    since = ["--first-parent", f"{EARLIEST_WORKING}..HEAD"]
    changed = set(lines("log", "--format=%h", *since, "--", *HISTORY_PATHS))
    released = {
        commit
        for tag in lines("tag", "--merged", "HEAD", "--list", "[0-9]*.[0-9]*")
        for commit in lines("rev-parse", "--short", f"{tag}^{{commit}}")
    }
    # Without the history (a shallow clone) the list is short; `history` then fails the run.
    ordered = lines("log", "--reverse", "--format=%h", *since)
    return [EARLIEST_WORKING, *(c for c in ordered if c in changed or c in released)]


@dataclass(frozen=True)
class History:
    repo: Path
    versions: dict[str, str]  # past commit -> the release it is marked as
    newest: str


def release_of(commit: str) -> str:
    """The PEP 440 version of a commit: its release tag, else the last one plus `.postN`.

    Before the first release tag, `0.0.0.postN` with N the number of commits it contains
    (what Copier itself shows for an untagged template). Along the first-parent line the
    versions grow with the commits, and `_migrations` entries versioned by real releases run
    for exactly the updates that cross them.
    """
    described = subprocess.run(
        ["git", "describe", "--tags", "--long", "--match", "[0-9]*.[0-9]*", commit],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if described.returncode != 0:
        count = git(TEMPLATE_ROOT, "rev-list", "--count", commit).strip()
        return f"0.0.0.post{count}"
    tag, distance, _ = described.stdout.strip().rsplit("-", 2)
    return tag if distance == "0" else f"{Version(tag).base_version}.post{distance}"


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """A temporary clone with the past commits tagged, and the working tree as the newest tag."""
    commits = history_commits()
    require_commits(TEMPLATE_ROOT, [*commits, *(sample.commit for sample in SAMPLED)])
    repo = tmp_path_factory.mktemp("template-history") / "onex-node-template"
    git(TEMPLATE_ROOT, "clone", "-q", "--no-checkout", str(TEMPLATE_ROOT), str(repo))
    head = git(TEMPLATE_ROOT, "rev-parse", "HEAD").strip()
    versions = {commit: release_of(commit) for commit in commits}
    # One more commit than HEAD, and at least every `_migrations` version of the working tree
    # (a migration for the coming release must run when updating to it).
    after_head = Version(release_of(head))
    candidates = [Version(f"{after_head.base_version}.post{(after_head.post or 0) + 1}")]
    migrations = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text()).get("_migrations", [])
    candidates += [Version(str(entry["version"])) for entry in migrations if "version" in entry]
    newest = max(candidates)
    newest_text = str(newest)
    # The clone copies the real tags; only the versions marked here may exist, or Copier would
    # update to a real tag instead of the working tree.
    for tag in git(repo, "tag", "--list").split():
        git(repo, "tag", "-d", tag)
    for commit, version in versions.items():
        git(repo, "tag", version, commit)
    # The working tree (uncommitted changes too) as a commit on HEAD, tagged newest.
    git(repo, "checkout", "-q", "-b", "newest", head)
    git(repo, "rm", "-q", "-r", "--", ".")
    copy_working_tree(repo)
    git(repo, "add", "-A")
    # Empty when the checkout is clean (as in CI): the newest is then HEAD's tree.
    git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", "the working tree")
    git(repo, "tag", newest_text)
    return History(repo, versions, newest_text)


def assert_updates(
    history: History,
    commit: str,
    node_type: str,
    workdir: Path,
    extra: tuple[tuple[str, str], ...] = (),
) -> None:
    """A node of `node_type` generated at `commit`, edited, updated to the newest: all kept."""
    answers = {"node_type": node_type, **dict(extra)}
    project, edits = generate_and_edit(
        history.repo, history.versions[commit], workdir / "ledger", answers
    )
    legacy = sorted(project.glob("src/*/nodes/*/operations.py"))
    (handler,) = project.glob("src/*/nodes/*/handler.py")
    bases_before = class_bases(handler)
    updated = update(project, edits)
    if extra == CACHING_COMPOSITION:
        assert "MixinCaching" in bases_before, bases_before  # composed, never called
    # The node keeps its class bases, less MixinCaching (refused since): the update drops it.
    assert class_bases(handler) == [base for base in bases_before if base != "MixinCaching"]

    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["_commit"] == history.newest
    for operations in legacy:
        # Before 0.2.0: the migration kept operations.py and handed each operation to it.
        assert f"{operations.parent.relative_to(project)}: " in updated.output, updated.output
        handlers = sorted(operations.parent.glob("handlers/handler_*.py"))
        assert len(handlers) == len(recorded["operations"]), handlers
        assert all("OPERATIONS[" in handler.read_text() for handler in handlers)
    assert_clean_merge(updated)
    assert_user_edits_intact(updated, history.repo)
    assert_template_files_match_fresh_copy(updated, history.repo, workdir, answers)
    run_checks(project)


def class_bases(handler: Path) -> list[str]:
    """The bases of the node class handler.py declares, in order (one a line, as every
    release writes them: `class Node<Name><Type>(` then `    <base>,` lines then `):`)."""
    (bases,) = re.findall(r"^class Node\w+\(\n(.*?)^\):", handler.read_text(), re.M | re.S)
    return [line.strip().removesuffix(",") for line in bases.splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("commit", "node_type", "extra"),
    matrix_sample(
        [
            pytest.param(s.commit, s.node_type, s.answers, id=f"{s.node_type}-from-{s.commit}")
            for s in SAMPLED
        ],
        group=lambda case: SAMPLE_ERAS[[s.commit for s in SAMPLED].index(case.values[0])],
        marker="history_full",
    ),
)
def test_update_from_a_past_release(
    history: History,
    commit: str,
    node_type: str,
    extra: tuple[tuple[str, str], ...],
    tmp_path: Path,
) -> None:
    assert_updates(history, commit, node_type, tmp_path, extra)


@pytest.mark.slow
@pytest.mark.history_full
@pytest.mark.parametrize(
    ("commit", "node_type"),
    [
        pytest.param(commit, node_type, id=f"{node_type}-from-{commit}")
        for commit in history_commits()
        for node_type in copier_choices("node_type")
        if (commit, node_type) not in {(s.commit, s.node_type) for s in SAMPLED}
    ],
)
def test_update_from_every_past_release(
    history: History, commit: str, node_type: str, tmp_path: Path
) -> None:
    assert_updates(history, commit, node_type, tmp_path)


def test_the_sample_covers_every_node_type_from_a_different_past_release() -> None:
    commits = history_commits()
    assert sorted(s.node_type for s in SAMPLED) == sorted(copier_choices("node_type"))
    assert len({s.commit for s in SAMPLED}) == len(SAMPLED)
    unknown = [s.commit for s in SAMPLED if s.commit not in commits]
    assert not unknown, f"sampled commits not among the past releases {commits}: {unknown}"
    assert all(s.why for s in SAMPLED)
    assert len(SAMPLE_ERAS) == len(SAMPLED)
    # The eras follow the commits: every early sample is older than every late one.
    position = {commit: i for i, commit in enumerate(commits)}
    ages = {
        era: [position[s.commit] for s, e in zip(SAMPLED, SAMPLE_ERAS, strict=True) if e == era]
        for era in SAMPLE_ERAS
    }
    assert max(ages["early"]) < min(ages["late"]), ages


def test_history_marks_releases_in_commit_order(history: History) -> None:
    """Copier updates to the highest version and runs migrations by version: order matters."""
    versions = [Version(history.versions[commit]) for commit in history_commits()]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)
    assert max(versions) < Version(history.newest)
    described = git(history.repo, "describe", "--tags", "--abbrev=0", "newest").strip()
    assert described == history.newest
