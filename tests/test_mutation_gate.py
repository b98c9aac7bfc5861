"""Mutation gate: the generated tests must fail when the generated operations do nothing.

For each node type (copier.yml's choices) the default project is generated and its environment
created once; then each operation's handler (`handle_<operation>` in its user-owned
handlers/handler_<operation>.py) is replaced, in turn, by a mutant, and the project's own pytest run must end with a failed test. The mutants are
derived from the module with `ast`, never from per-type strings:

- hollow: the operation's body becomes one `return` of a well-typed response fabricated from
  the request alone. Fields the request shares by name are echoed (operation, correlation_id,
  key, data, subject...), nested models are fabricated the same way, everything else gets its
  default or an empty value. No store call, no step, no state change, no event beyond what the
  runtime publishes itself: a response that looks right and did nothing.
- silent: the operation as generated, except that every statement awaiting a call on the
  context and discarding its result (`await context.transition(...)`, and the same in the
  handler module's functions the operation reaches) is gone. Only built where such a statement exists.

A mutant only counts as killed when it is a valid module (it compiles and imports) and pytest
exits 1 with at least one failed test: a collection error or a crash is not a kill.

Budget (default run): the four default projects, one environment each, one sampled mutant
each, every pytest run stopping at its first failure (`-x`, test_operations.py first): about
100 s on one core. `pytest -m mutation_full` runs every mutant of every project of
tests/test_generated_projects.py's matrix (more operations per node, custom compositions),
plus effect + PostgreSQL and reducer + Redis, where the stores differ.
"""

from __future__ import annotations

import ast
import copy
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from conftest import (
    copier_choices,
    generate,
    nested_pytest_summary,
    project_python,
    project_spec,
    sync_environment,
)
from test_generated_projects import MATRIX

pytestmark = pytest.mark.slow

# The generic fabricator the hollow mutants call; appended to the mutated module. It builds
# the response through the model's own validation, so the mutant's answer is well typed.
FABRICATOR = """

def _mutant_response(model: Any, request: Any) -> Any:
    return model.model_validate(_mutant_fields(model, request))


def _mutant_fields(model: Any, request: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name in type(request).model_fields:
            fields[name] = getattr(request, name)
        elif field.is_required():
            fields[name] = _mutant_value(field.annotation, request)
    return fields


def _mutant_value(annotation: Any, request: Any) -> Any:
    import datetime
    import enum
    import types
    import typing
    import uuid

    import pydantic

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return _mutant_fields(annotation, request)
    if origin in (list, tuple, set, frozenset):
        item = args[0] if args else None
        if isinstance(item, type) and issubclass(item, pydantic.BaseModel):
            return [_mutant_fields(item, request)]
        return []
    if origin in (typing.Union, types.UnionType):
        if type(None) in args:
            return None
        return _mutant_value(args[0], request)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation))
    empty = {
        uuid.UUID: uuid.uuid4,
        datetime.datetime: lambda: datetime.datetime.now(datetime.UTC),
        str: lambda: "mutant",
        bool: lambda: False,
        int: lambda: 0,
        float: lambda: 0.0,
        dict: dict,
    }
    if origin is dict or annotation in empty:
        return empty[dict if origin is dict else annotation]()
    return None
"""


@dataclass(frozen=True)
class Mutant:
    name: str  # e.g. "hollow create_record"
    path: Path  # the handler module it replaces
    source: str  # the whole mutated module


def module_functions(tree: ast.Module) -> dict[str, ast.AsyncFunctionDef | ast.FunctionDef]:
    return {
        statement.name: statement
        for statement in tree.body
        if isinstance(statement, ast.AsyncFunctionDef | ast.FunctionDef)
    }


def hollow(tree: ast.Module, operation: str) -> ast.Module:
    """`operation` answers with a response fabricated from its request, and does nothing else."""
    mutated = copy.deepcopy(tree)
    function = module_functions(mutated)[operation]
    assert function.returns is not None, f"{operation} has no return annotation"
    request = function.args.args[0].arg
    call = ast.Call(
        func=ast.Name("_mutant_response"),
        args=[copy.deepcopy(function.returns), ast.Name(request)],
        keywords=[],
    )
    function.body = [ast.Return(call)]
    mutated.body.extend(ast.parse("from typing import Any\n" + FABRICATOR).body)
    return mutated


class _DropContextEffects(ast.NodeTransformer):
    """Removes `await <context>.<...>(...)` statements whose result is discarded."""

    def __init__(self, context: str) -> None:
        self.context = context
        self.dropped = 0

    def visit_Expr(self, node: ast.Expr) -> ast.AST | None:
        value = node.value
        if isinstance(value, ast.Await) and isinstance(value.value, ast.Call):
            root = value.value.func
            while isinstance(root, ast.Attribute):
                root = root.value
            if (
                root is not value.value.func
                and isinstance(root, ast.Name)
                and root.id == self.context
            ):
                self.dropped += 1
                return ast.Pass()
        return node


def silent(tree: ast.Module, operation: str) -> ast.Module | None:
    """`operation`, and the module functions it reaches, without their context effects; the
    other operations keep the originals. None when there is no such effect to drop."""
    mutated = copy.deepcopy(tree)
    functions = module_functions(mutated)
    reached, pending = set(), [operation]
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        for node in ast.walk(functions[name]):
            if isinstance(node, ast.Name) and node.id in functions:
                pending.append(node.id)
    dropped = 0
    copies: list[ast.stmt] = []
    for name in sorted(reached - {operation}):
        clone = copy.deepcopy(functions[name])
        clone.name = f"_silent_{name.lstrip('_')}"
        copies.append(clone)
    for function in [functions[operation], *copies]:
        args = function.args.args
        if len(args) < 2:
            continue
        dropper = _DropContextEffects(args[1].arg)
        dropper.visit(function)
        dropped += dropper.dropped
    if not dropped:
        return None
    # Point the mutated operation and the copies at the copies.
    for function in [functions[operation], *copies]:
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and node.id in reached - {operation}:
                node.id = f"_silent_{node.id.lstrip('_')}"
    index = mutated.body.index(functions[operation])
    mutated.body[index:index] = copies
    return mutated


def mutants_of(path: Path, source: str, operation: str) -> Iterator[Mutant]:
    """The mutants of `handle_<operation>` in `source`, its handler module at `path`."""
    tree = ast.parse(source)
    function = f"handle_{operation}"
    mutant = hollow(tree, function)
    yield Mutant(f"hollow {operation}", path, ast.unparse(ast.fix_missing_locations(mutant)))
    quiet = silent(tree, function)
    if quiet is not None:
        yield Mutant(f"silent {operation}", path, ast.unparse(ast.fix_missing_locations(quiet)))


def handler_modules(project: Path) -> dict[str, Path]:
    """Each operation's handler module (contract.yaml routes it there), in answer order."""
    spec = project_spec(project)
    handlers = project / "src" / spec.package_name / "nodes" / spec.node_name / "handlers"
    return {operation: handlers / f"handler_{operation}.py" for operation in spec.operations}


def run_generated_tests(project: Path, selection: str) -> subprocess.CompletedProcess[str]:
    """The project's own pytest on `selection`, stopping at the first failure."""
    return subprocess.run(
        [
            str(project_python(project)),
            *("-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", selection),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def assert_failed(completed: subprocess.CompletedProcess[str], mutant: Mutant) -> None:
    """pytest exited 1 with a failed test. A mutant that does not import shows as a collection
    error instead, which is no kill."""
    counts = nested_pytest_summary(completed.stdout)
    survived = (
        f"{mutant.name} survived (exit {completed.returncode}, {counts}):\n"
        f"{completed.stdout[-3000:]}\n{completed.stderr[-2000:]}"
    )
    assert completed.returncode == 1, survived
    assert counts.get("failed", 0) >= 1, survived
    assert "error" not in counts, survived


def sample(mutants: list[Mutant]) -> list[Mutant]:
    """The default run's one mutant per project: the first silent one (an operation that
    answers right but announces nothing), else the first hollow one."""
    silent_ones = [mutant for mutant in mutants if mutant.name.startswith("silent ")]
    return (silent_ones or mutants)[:1]


def assert_mutants_killed(project: Path, *, sampled: bool) -> list[str]:
    """Every mutant of the project's handler modules (or the sample of them) is killed; the
    names of those it ran, each a kill.

    A mutant runs test_operations.py first, where it is expected to fail, and the whole suite
    only if that passed; each selection's baseline (the unmutated project passes it) runs
    before a failure on it counts, so every kill is its mutant's doing."""
    modules = handler_modules(project)
    originals = {path: path.read_text() for path in modules.values()}
    mutants = [
        mutant
        for operation, path in modules.items()
        for mutant in mutants_of(path, originals[path], operation)
    ]
    # One hollow mutant per operation, so the gate cannot pass by building none.
    assert [m.name for m in mutants if m.name.startswith("hollow ")] == [
        f"hollow {operation}" for operation in project_spec(project).operations
    ]
    chosen = sample(mutants) if sampled else mutants
    passed_unmutated: set[str] = set()
    try:
        for mutant in chosen:
            compile(mutant.source, str(mutant.path), "exec")  # a mutant is valid Python
            for selection in ("tests/test_operations.py", "tests"):
                if selection not in passed_unmutated:
                    restore(originals)
                    baseline = run_generated_tests(project, selection)
                    assert baseline.returncode == 0, baseline.stdout[-3000:]
                    if selection == "tests/test_operations.py":
                        # The gate gives the operations every service they use: none skipped.
                        counts = nested_pytest_summary(baseline.stdout)
                        assert "skipped" not in counts, baseline.stdout[-3000:]
                    passed_unmutated.add(selection)
                mutant.path.write_text(mutant.source)
                completed = run_generated_tests(project, selection)
                if completed.returncode != 0 or selection == "tests":
                    assert_failed(completed, mutant)
                    break
    finally:
        restore(originals)
    return [mutant.name for mutant in chosen]


def restore(originals: dict[Path, str]) -> None:
    for path, text in originals.items():
        path.write_text(text)


def check_gate(copie: Any, answers: dict[str, Any], *, sampled: bool) -> None:
    began = time.perf_counter()
    project = generate(copie, **answers)
    sync_environment(project)
    ready = time.perf_counter()
    killed = assert_mutants_killed(project, sampled=sampled)
    print(
        f"\n{answers}: project and environment {ready - began:.1f} s, "
        f"{len(killed)} mutants killed in {time.perf_counter() - ready:.1f} s: {', '.join(killed)}"
    )


@pytest.mark.parametrize("node_type", copier_choices("node_type"))
def test_generated_tests_kill_a_do_nothing_operation(copie: Any, node_type: str) -> None:
    """Default run: each node type's default project against its sampled mutant."""
    check_gate(copie, {"node_type": node_type}, sampled=True)


@pytest.mark.mutation_full
@pytest.mark.parametrize("answers", MATRIX)
def test_generated_tests_kill_every_do_nothing_operation(
    copie: Any,
    answers: dict[str, Any],
    postgres_server: Any,
    redis_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every mutant of every project of the generated-project matrix (more operations per node,
    custom compositions), with PostgreSQL and Redis there for the nodes that use them."""
    monkeypatch.setenv("DATABASE_URL", postgres_server.create_database(f"gate_{uuid4().hex}"))
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    check_gate(copie, answers, sampled=False)


@pytest.mark.mutation_full
def test_generated_tests_kill_every_mutant_with_records_in_postgres(
    copie: Any, postgres_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Effect + PostgreSQL: the records live in PostgresRecordStore, not the JSONL journal."""
    monkeypatch.setenv("DATABASE_URL", postgres_server.create_database(f"gate_{uuid4().hex}"))
    check_gate(copie, {"node_type": "effect", "integrations": ["postgres"]}, sampled=False)


@pytest.mark.mutation_full
def test_generated_tests_kill_every_mutant_with_state_in_redis(
    copie: Any, redis_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reducer + Redis: the aggregates live in the Redis state store, not in memory."""
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    check_gate(copie, {"node_type": "reducer", "integrations": ["redis"]}, sampled=False)


def test_mutants_are_derived_from_the_module() -> None:
    """The derivation itself, on a module of this test: hollow answers from the request,
    silent drops the discarded awaits on the context (also in the helper it reaches) and keeps
    the rest, and an operation without such an await has no silent mutant."""
    source = (
        "async def _helper(request: In, context: Ctx) -> int:\n"
        "    await context.transition('a', 'b', reason='r')\n"
        "    saved = await context.state.update('k', str)\n"
        "    await step(request, context)\n"
        "    return saved\n"
        "async def handle_first(request: In, context: Ctx) -> Out:\n"
        "    return Out(n=await _helper(request, context))\n"
        "async def handle_second(request: In, context: Ctx) -> Out:\n"
        "    return Out(n=1)\n"
    )
    module = Path("handler.py")
    mutants = {
        mutant.name: mutant.source
        for operation in ("first", "second")
        for mutant in mutants_of(module, source, operation)
    }
    assert list(mutants) == ["hollow first", "silent first", "hollow second"]
    hollow_first = ast.parse(mutants["hollow first"])
    body = module_functions(hollow_first)["handle_first"].body
    assert ast.unparse(body[0]) == "return _mutant_response(Out, request)"
    silent_first = module_functions(ast.parse(mutants["silent first"]))
    assert "transition" not in ast.unparse(silent_first["_silent_helper"])
    assert "context.state.update" in ast.unparse(silent_first["_silent_helper"])
    assert "await step(request, context)" in ast.unparse(silent_first["_silent_helper"])
    assert "_silent_helper(request, context)" in ast.unparse(silent_first["handle_first"])
    # The other operation and the original helper are untouched.
    assert ast.unparse(silent_first["_helper"]) == ast.unparse(
        module_functions(ast.parse(source))["_helper"]
    )
