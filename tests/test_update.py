"""`copier update` brings new template-owned patterns into existing nodes, never the user's code.

Every test works on a throwaway git repository made from this checkout's working tree (so it
needs no tags in the real repository and sees uncommitted template changes), in which it builds
releases: 0.1.0 is the template as it is minus a few template-owned patterns, 0.2.0 the template
as it is. A node generated at 0.1.0 is committed, edited the way a user edits one, and updated
with `copier update --defaults --trust --conflict inline`, exactly as docs/ownership.md tells
users to. Then: no conflict markers or .rej files, every user edit intact, the new template
content present, template-owned files equal to a fresh copy at 0.2.0 with the same answers, and
the project's own checks (ruff, mypy --strict, pytest, onex validate) pass.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TEMPLATE_ROOT, copier_choices, load_script, run_checks
from service_redis import RedisServer
from update_helpers import (
    GIT_ENV,
    Updated,
    assert_clean_merge,
    assert_template_files_match_fresh_copy,
    assert_user_edits_intact,
    commit_all,
    copy_at,
    generate_and_edit,
    git,
    is_user_owned,
    snapshot_template,
    update,
    walk,
)

OLD, NEW, MOVED = "0.1.0", "0.2.0", "0.3.0"

# Template-owned content 0.1.0 lacks (the update must bring it) ...
HOOK_CONFIG = ".pre-commit-config.yaml"
HOOK_SCRIPT = "scripts/check_conflict_markers.py"
UPDATING_HEADING = "## Updating"
# ... and a line only 0.1.0 has, in files the update must replace (handler.py) or merge with
# the user's own change to the same file (contract.yaml).
OLD_ONLY_LINE = "# layout of onex-node-template 0.1.0 (replaced by copier update)\n"
OLD_ONLY_IN = (
    "template/src/{{package_name}}/nodes/{{spec.node_name}}/handler.py.jinja",
    "template/src/{{package_name}}/nodes/{{spec.node_name}}/contract.yaml.jinja",
)

# -- the throwaway template repository -------------------------------------------------------


def release_old_and_new(repo: Path) -> None:
    """Tag 0.1.0 on a commit without the patterns above, and 0.2.0 on the template as it is."""
    for name in (HOOK_CONFIG, HOOK_SCRIPT):
        (repo / "template" / name).unlink()
    readme = repo / "template" / "README.md.jinja"
    text = readme.read_text()
    start = text.index(UPDATING_HEADING)
    end = text.find("\n## ", start + 1)
    readme.write_text(text[:start] + (text[end + 1 :] if end != -1 else ""))
    for name in OLD_ONLY_IN:
        path = repo / name
        # After the leading Jinja statements: a `{%-` below the line would eat its line break.
        lines = path.read_text().splitlines(keepends=True)
        first_text = next(i for i, line in enumerate(lines) if not line.startswith(("{%", "{#")))
        path.write_text("".join([*lines[:first_text], OLD_ONLY_LINE, *lines[first_text:]]))
    commit_all(repo, "0.1.0: before the pre-commit hook and the Updating section")
    git(repo, "tag", OLD)
    git(repo, "revert", "--no-edit", "HEAD")
    git(repo, "tag", NEW)


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The throwaway template repository with releases 0.1.0 and 0.2.0 (shared, read-only)."""
    repo = snapshot_template(tmp_path_factory.mktemp("template-repo"))
    release_old_and_new(repo)
    return repo


# -- copier, the way a user runs it ----------------------------------------------------------


def generate_edit_update(
    repo: Path,
    workdir: Path,
    answers: dict[str, Any],
    update_answers: dict[str, Any] | None = None,
) -> Updated:
    """Generate at 0.1.0, commit, edit like a user, commit, `copier update` to the latest tag."""
    project, edits = generate_and_edit(repo, OLD, workdir / "ledger", answers)
    # The old release really lacks the new patterns (else the update would prove nothing).
    assert not (project / HOOK_CONFIG).exists()
    assert UPDATING_HEADING not in (project / "README.md").read_text()
    (handler,) = (project / "src").glob("*/nodes/node_*/handler.py")
    assert handler.read_text().startswith(OLD_ONLY_LINE)
    return update(project, edits, update_answers)


def assert_new_template_content(updated: Updated) -> None:
    project = updated.project
    assert (project / HOOK_CONFIG).is_file(), "the update did not add the pre-commit config"
    assert (project / HOOK_SCRIPT).is_file(), "the update did not add the hook script"
    assert UPDATING_HEADING in (project / "README.md").read_text()
    for name in ("handler.py", "contract.yaml"):
        assert OLD_ONLY_LINE not in (project / updated.edits.node_dir / name).read_text()


def pre_commit(project: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit run --files ...` in `project`, with its own cache (local hooks only)."""
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--color=never", "--files", *files],
        cwd=project,
        capture_output=True,
        text=True,
        env={**GIT_ENV, "PRE_COMMIT_HOME": str(project.parent / "pre-commit-home")},
        timeout=300,
        check=False,
    )


def assert_hook_refuses_conflicts(project: Path) -> None:
    """The project's own pre-commit config refuses a conflicted file and passes clean ones."""
    conflicted = project / "conflicted.py"
    conflicted.write_text(
        "<<<<<<< before updating\na = 1\n=======\na = 2\n>>>>>>> after updating\n"
    )
    try:
        refused = pre_commit(project, "conflicted.py", "README.md")
    finally:
        conflicted.unlink()
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "conflicted.py:1: merge conflict marker" in refused.stdout
    assert "README.md:" not in refused.stdout
    accepted = pre_commit(project, "README.md", "pyproject.toml")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


# -- fast tests: ownership globs, the hook script, the move planner -----------------------------

# What docs/ownership.md says the user owns, per node type (paths of a project named `ledger`).
NODE = "src/ledger/nodes/node_ledger_{}"
USER_OWNED = {
    "models/model_ledger_input.py",
    "models/model_ledger_output.py",
}


@pytest.mark.parametrize("node_type", copier_choices("node_type"))
def test_skip_if_exists_globs_match_the_user_owned_files(
    node_type: str, template_repo: Path, tmp_path: Path
) -> None:
    project = copy_at(template_repo, NEW, tmp_path / "ledger", {"node_type": node_type})
    node = NODE.format(node_type)
    expected = {f"{node}/{name}" for name in USER_OWNED} | {"tests/test_operations.py"}
    # One handler module per operation, and the helpers they share (not for effects).
    operations = yaml.safe_load((project / ".copier-answers.yml").read_text())["operations"]
    expected |= {f"{node}/handlers/handler_{operation}.py" for operation in operations}
    if node_type != "effect":
        expected.add(f"{node}/handlers/shared.py")
    if node_type == "reducer":
        expected.add(f"{node}/models/model_ledger_state.py")
    owned = {f for f in walk(project) if is_user_owned(f, template_repo)}
    assert owned == expected


def test_hook_script_refuses_conflict_markers_and_accepts_clean_files(tmp_path: Path) -> None:
    script = TEMPLATE_ROOT / "template" / HOOK_SCRIPT
    conflicted = tmp_path / "handler.py"
    conflicted.write_text(
        "x = 1\n<<<<<<< before updating\ny = 1\n=======\ny = 2\n>>>>>>> after updating\n"
    )
    clean = tmp_path / "notes.md"
    clean.write_text("Title\n=======\n\nA `<<<<<<<` inside a line is fine.\n")

    def hook(*files: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), *map(str, files)],
            capture_output=True,
            text=True,
            check=False,
        )

    refused = hook(clean, conflicted)
    assert refused.returncode == 1
    assert f"{conflicted}:2:" in refused.stdout
    assert f"{conflicted}:6:" in refused.stdout
    assert str(clean) not in refused.stdout
    accepted = hook(clean)
    assert accepted.returncode == 0, accepted.stdout


def test_pre_commit_config_is_local_and_runs_the_hook_script() -> None:
    """Nothing to download at hook time: a local hook running the project's own script."""
    config = yaml.safe_load((TEMPLATE_ROOT / "template" / HOOK_CONFIG).read_text())
    (repo,) = config["repos"]
    assert repo["repo"] == "local"
    (hook,) = repo["hooks"]
    assert hook["language"] == "system"
    assert hook["entry"].split()[-1] == HOOK_SCRIPT


def test_move_planner_keeps_what_each_wildcard_matched() -> None:
    mover = load_script(TEMPLATE_ROOT / "migrations" / "move_user_files.py")
    files = [
        "src/shop/nodes/node_cart_effect/models/model_cart_input.py",
        "src/shop/nodes/node_cart_effect/models/model_cart_output.py",
        "src/shop/nodes/node_cart_effect/operations.py",
        "tests/test_operations.py",
    ]

    moves = mover.planned_moves(
        files, "src/*/nodes/*/models/model_*_input.py", "src/*/nodes/*/requests/model_*_request.py"
    )

    assert moves == [
        (
            "src/shop/nodes/node_cart_effect/models/model_cart_input.py",
            "src/shop/nodes/node_cart_effect/requests/model_cart_request.py",
        )
    ]
    assert mover.planned_moves(files, "tests/*.py", "tests/unit/*.py") == [
        ("tests/test_operations.py", "tests/unit/test_operations.py")
    ]
    with pytest.raises(ValueError, match="same number"):
        mover.planned_moves(files, "src/*/x.py", "x.py")


ROUTE_MIGRATION = TEMPLATE_ROOT / "migrations" / "route_operations.py"
ENUM_MODULE = (
    "from enum import StrEnum\n\n\n"
    "class EnumCartOperation(StrEnum):\n"
    '    ADD_ITEM = "add_item"\n'
    '    TOTAL = "total"\n'
)


def legacy_node(root: Path, enum_module: str) -> Path:
    """A committed project on the pre-0.2.0 layout: operations.py and the operation enum."""
    node = root / "src" / "shop" / "nodes" / "node_cart_reducer"
    (node / "enums").mkdir(parents=True)
    (node / "enums" / "enum_cart_operation.py").write_text(enum_module)
    (node / "operations.py").write_text("# the team's code, any shape\n")
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "generated before 0.2.0")
    return node


def route_operations(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROUTE_MIGRATION)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def test_route_migration_hands_each_operation_to_the_kept_operations_py(tmp_path: Path) -> None:
    node = legacy_node(tmp_path, ENUM_MODULE)

    done = route_operations(tmp_path)

    assert done.returncode == 0, done.stderr
    assert "src/shop/nodes/node_cart_reducer: 2 operation(s) routed to handlers/" in done.stdout
    handler = (node / "handlers" / "handler_add_item.py").read_text()
    compile(handler, "handler_add_item.py", "exec")
    assert "from shop.nodes.node_cart_reducer.operations import (\n    OPERATIONS,\n)" in handler
    assert "\nhandle_add_item = OPERATIONS[EnumCartOperation.ADD_ITEM]\n" in handler
    assert (
        "handle_total = OPERATIONS[EnumCartOperation.TOTAL]"
        in (node / "handlers" / "handler_total.py").read_text()
    )
    assert (node / "operations.py").read_text() == "# the team's code, any shape\n"
    staged = git(tmp_path, "diff", "--cached", "--name-only").split()
    assert staged == [
        f"src/shop/nodes/node_cart_reducer/handlers/{name}"
        for name in ("handler_add_item.py", "handler_total.py", "shared.py")
    ]
    # Run again (an update retried): nothing changes.
    again = route_operations(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already has handler modules: left as it is" in again.stdout
    assert git(tmp_path, "diff", "--cached", "--name-only").split() == staged


def test_route_migration_refuses_an_unreadable_enum_and_writes_nothing(tmp_path: Path) -> None:
    node = legacy_node(tmp_path, "OPERATIONS_ENUM = None\n")

    done = route_operations(tmp_path)

    assert done.returncode == 1
    assert "cannot route operations to handlers/" in done.stderr
    assert "enum_cart_operation.py: no operation enum with members found" in done.stderr
    assert not (node / "handlers").exists()


# -- updates, start to finish (slow) -----------------------------------------------------------------------------------


# The effect's default operations plus one: `copier update -d operations=[...]` adds it.
ADDED_OPERATIONS = "[create_record, get_record, archive_record]"


def assert_only_the_new_handler_was_added(updated: Updated) -> None:
    """archive_record got its handler module and its route; no existing handler changed."""
    node = updated.project / updated.edits.node_dir
    # Copier leaves what it writes uncommitted: a new file shows as untracked ("??").
    status = git(
        updated.project, "status", "--porcelain", "--untracked-files=all", "--", f"{node}/handlers"
    )
    assert status.splitlines() == [
        f"?? {updated.edits.node_dir}/handlers/handler_archive_record.py"
    ], status
    added = (node / "handlers" / "handler_archive_record.py").read_text()
    assert "async def handle_archive_record(" in added
    contract = yaml.safe_load((node / "contract.yaml").read_text())
    routes = {
        r["operation"]: r["operation_handler"] for r in contract["handler_routing"]["handlers"]
    }
    assert list(routes) == ["create_record", "get_record", "archive_record"]
    assert routes["archive_record"]["name"] == "handle_archive_record"


# The default run updates an effect (adding an operation) and a compute node (checks run on
# update) here (its sample); a reducer and an orchestrator too with `-m update_full`, as
# the default run updates those types from 0.1.0 in the two tests after this one (adding an
# integration, moving a user file: the same assertions, the hook among them) and, sampled,
# from real past commits in tests/test_update_history.py.
PLAIN_UPDATES_ELSEWHERE = ("reducer", "orchestrator")


@pytest.mark.slow
@pytest.mark.update_full
@pytest.mark.parametrize(
    "node_type",
    [
        pytest.param(
            node_type,
            marks=[] if node_type in PLAIN_UPDATES_ELSEWHERE else [pytest.mark.matrix_sample],
        )
        for node_type in copier_choices("node_type")
    ],
)
def test_update_brings_new_patterns_and_keeps_user_code(
    node_type: str, template_repo: Path, tmp_path: Path
) -> None:
    answers = {"node_type": node_type}
    # One update is also asked to run the checks: they must run once, in the project.
    checks_on_update = node_type == "compute"
    # One adds an operation: only its handler module and route may appear (README, 3 steps).
    adds_operation = node_type == "effect"
    update_answers = (
        {"run_checks_on_update": "true"}
        if checks_on_update
        else {"operations": ADDED_OPERATIONS}
        if adds_operation
        else None
    )
    updated = generate_edit_update(template_repo, tmp_path, answers, update_answers)

    assert_clean_merge(updated)
    assert_user_edits_intact(updated, template_repo)
    assert_new_template_content(updated)
    if adds_operation:
        assert_only_the_new_handler_was_added(updated)
        answers = {**answers, "operations": ADDED_OPERATIONS}
    assert_template_files_match_fresh_copy(updated, template_repo, tmp_path, answers)
    assert_hook_refuses_conflicts(updated.project)
    if checks_on_update:
        # Copier's temporary old and new copies never run them; the project runs them once.
        assert updated.output.count("[check] uv sync") == 1, updated.output[-3000:]
        assert updated.output.count("[check] all checks passed") == 1
        assert (updated.project / ".venv").is_dir()
    else:
        assert "[check]" not in updated.output
        run_checks(updated.project)


@pytest.mark.slow
def test_update_that_adds_an_integration(
    template_repo: Path,
    tmp_path: Path,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`-d integrations=["redis"]` on update moves a reducer's state into Redis; the user's
    operations.py (unchanged, written for the in-memory store) keeps working through
    OperationContext.state."""
    answers = {"node_type": "reducer", "integrations": "[]"}
    with_redis = {"integrations": '["redis"]'}
    updated = generate_edit_update(template_repo, tmp_path, answers, with_redis)

    assert_clean_merge(updated)
    assert_user_edits_intact(updated, template_repo)
    assert_new_template_content(updated)
    assert_template_files_match_fresh_copy(
        updated, template_repo, tmp_path, {**answers, **with_redis}
    )
    assert_hook_refuses_conflicts(updated.project)
    (package,) = (updated.project / "src").iterdir()
    assert (package / "integrations" / "redis").is_dir()
    assert (package / "stores" / "redis_state_store.py").is_file()
    recorded = yaml.safe_load((updated.project / ".copier-answers.yml").read_text())
    assert recorded["integrations"] == ["redis"]
    # The project's tests (the generated Redis integration tests among them) meet a real Redis.
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    checked = run_checks(updated.project)
    summary = re.findall(r"^\d+ passed.*$", checked.stdout, re.MULTILINE)
    assert summary, checked.stdout[-3000:]


# -- a release that moves a user-owned file ------------------------------------------------------

MOVE_FROM, MOVE_TO = "tests/test_operations.py", "tests/unit/test_operations.py"


def release_a_move(repo: Path) -> None:
    """Tag 0.3.0 on a commit that moves tests/test_operations.py into tests/unit/.

    This is how a real release moves a user-owned file: move the template file, point
    `_skip_if_exists` at the new path, and add a versioned `before` migration that moves the
    user's file with migrations/move_user_files.py.
    """
    (repo / "template" / MOVE_TO).parent.mkdir(parents=True, exist_ok=True)
    git(repo, "mv", f"template/{MOVE_FROM}.jinja", f"template/{MOVE_TO}.jinja")
    config_path = repo / "copier.yml"
    config = yaml.safe_load(config_path.read_text())
    config["_skip_if_exists"] = [
        MOVE_TO if pattern == MOVE_FROM else pattern for pattern in config["_skip_if_exists"]
    ]
    config["_migrations"].append(
        {
            "version": MOVED,
            "when": "{{ _stage == 'before' }}",
            "command": [
                "{{ _copier_python }}",
                "{{ _copier_conf.src_path }}/migrations/move_user_files.py",
                MOVE_FROM,
                MOVE_TO,
            ],
        }
    )
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    commit_all(repo, f"{MOVED}: user tests live in tests/unit/")
    git(repo, "tag", MOVED)


@pytest.mark.slow
def test_update_across_a_release_that_moves_a_user_file(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    repo = snapshot_template(tmp_path_factory.mktemp("template-repo-moves"))
    release_old_and_new(repo)
    release_a_move(repo)
    answers = {"node_type": "orchestrator"}

    updated = generate_edit_update(repo, tmp_path, answers)

    assert "[migrate] moved tests/test_operations.py -> tests/unit/test_operations.py" in (
        updated.output
    )
    assert not (updated.project / MOVE_FROM).exists()
    updated.edits.moved(MOVE_FROM, MOVE_TO)
    assert_clean_merge(updated)
    assert_user_edits_intact(updated, repo)
    assert_new_template_content(updated)
    assert_template_files_match_fresh_copy(updated, repo, tmp_path, answers)
    assert_hook_refuses_conflicts(updated.project)
    checked = run_checks(updated.project)
    # The user's test still runs, and passes, from its new place.
    assert [t for t in checked.passed if t.startswith("tests.unit.test_operations.")], (
        checked.passed
    )
