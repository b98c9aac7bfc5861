"""Generate real projects and prove each one: its own checks, its class, its CLI.

Every project runs its own scripts/check_project.py (uv sync, ruff, ruff format --check,
mypy --strict, pytest, onex validate --strict, onex compliance check), exactly what a user's
first generation runs. On top of that: no placeholder anywhere, no double quote in a path,
the node class derives from what node_spec chose (read by importing it), and the service CLI
handles the first operation.

Budget (default run): the copier CLI run (its post-generation task checks the default effect
project, the matrix's effect-defaults case), one checked project per node type sampled from the
rest of the matrix (rotating with HEAD's commit, tests/conftest.py matrix_sample), every other
case generated and scanned without its checks (~2 s each), and one deliberately broken
project. `-m projects_full` checks every case.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import node_spec
import pytest
from conftest import (
    TEMPLATE_ROOT,
    assert_nested_pytest_passed,
    copier_choices,
    generate,
    integration_tests,
    junit_tests,
    matrix_sample,
    node_class_path,
    project_python,
    project_spec,
    run_checks,
    run_python,
)

pytestmark = pytest.mark.slow

LONG_SERVICE = "customer_subscription_lifecycle_handling"
LONG_OPERATION = "lookup_customer_subscription_entitlement"
assert len(LONG_SERVICE) == len(LONG_OPERATION) == 40

# Every node type with the defaults, then custom compositions with other operation sets.
MATRIX: list[Any] = [
    *(pytest.param({"node_type": t}, id=f"{t}-defaults") for t in copier_choices("node_type")),
    pytest.param(
        {
            "service_name": LONG_SERVICE,
            "node_type": "effect",
            "features": ["custom_mixins", "fail_fast", "redaction"],  # redaction: test_mixins.py
            "operations": [LONG_OPERATION, "list_orders"],  # read-only
            "integrations": ["postgres", "redis"],
        },
        id="effect-custom-mixins-read-only-40-chars",
    ),
    pytest.param(
        {
            "service_name": "price_rules_compute",
            "node_type": "compute",
            # Free text that broke pyproject.toml, the docstrings and README.md before
            # extensions/free_text.py (tests/test_free_text.py): here through every check.
            "business_description": (
                'Scores orders: "quoted", C:\\new\\table, """triple""", {{ jinja }} {% x %},\n'
                "\ttabs, caf\u00e9 \u2013 \u2018curly\u2019 \U0001f44d \u200fRTL, # *not* _markup_ "
                "<b>&amp;</b> $5"
            ),
            "features": ["no_service_mode", "caching"],
            "operations": ["score_order", "normalize_prices", "convert_currency"],
        },
        id="compute-no-service-mode-caching",
    ),
    pytest.param(
        {
            "service_name": "daily_sales_reducer",
            "node_type": "reducer",
            "features": ["custom_mixins", "strict_validation", "caching"],
            "operations": ["add_receipts", "close_day", "reset_totals"],
            "integrations": ["kafka"],
            # a state machine with a self-loop, a terminal-free cycle and state descriptions
            "state_machine": {
                "initial_state": "open",
                "states": ["open", {"state_name": "closed", "description": "Day closed."}],
                "transitions": [
                    {"from_state": "open", "to_state": "open", "trigger": "add_receipts"},
                    {"from_state": "open", "to_state": "closed", "trigger": "close_day"},
                    {"from_state": "closed", "to_state": "open", "trigger": "reset_totals"},
                ],
            },
        },
        id="reducer-custom-mixins-three-ops-state-machine",
    ),
    pytest.param(
        {
            "service_name": "checkout",
            "node_type": "orchestrator",
            "features": ["no_service_mode"],
            # A workflow graph: two independent steps with compensations, then the 40-char
            # step after both; operations default to its steps and compensations.
            "workflow": {
                "steps": [
                    {"name": "reserve_stock", "compensate": "release_stock"},
                    {"name": "charge_card", "compensate": "cancel_order", "timeout_ms": 5000},
                    {
                        "name": "coordinate_customer_subscription_renewal",
                        "depends_on": ["reserve_stock", "charge_card"],
                    },
                ],
                "max_retries": 1,
            },
            "integrations": ["http", "consul"],
        },
        id="orchestrator-no-service-mode-40-char-op",
    ),
]

# The copier CLI test checks this case (the defaults of `copier copy --defaults`).
CHECKED_BY_THE_CLI = "effect-defaults"
# The checked cases: every case of MATRIX but the CLI's, one per node type sampled.
CHECKED = matrix_sample(
    [case for case in MATRIX if case.id != CHECKED_BY_THE_CLI],
    group=lambda case: case.values[0]["node_type"],
    marker="projects_full",
)
# What the default run only generates: the cases it does not check.
UNCHECKED = [
    pytest.param(*case.values, id=case.id)
    for case in CHECKED
    if not any(mark.name == "matrix_sample" for mark in case.marks)
]

# No service is configured for the CLI run, whatever the machine's environment says.
SERVICE_VARIABLES = {"DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "CONSUL_HTTP_ADDR"}

# Files the checks create: not generated, not scanned.
TOOL_OUTPUT = {
    ".venv",
    ".ruff_cache",
    ".mypy_cache",
    ".pytest_cache",
    ".onex_state",
    "__pycache__",
    "uv.lock",
}
PLACEHOLDER = re.compile(r"\bTODO\b|\bFIXME\b|NotImplementedError|^\s*pass\s*(#.*)?$", re.M)


def generated_files(project: Path) -> list[Path]:
    return [
        path
        for path in sorted(project.rglob("*"))
        if path.is_file() and not TOOL_OUTPUT.intersection(path.relative_to(project).parts)
    ]


def assert_no_placeholders_or_quoted_paths(project: Path) -> None:
    files = generated_files(project)
    assert len(files) > 30
    quoted = [str(p.relative_to(project)) for p in files if '"' in str(p.relative_to(project))]
    assert quoted == []
    found = {
        str(path.relative_to(project)): match.group(0).strip()
        for path in files
        if (match := PLACEHOLDER.search(path.read_text()))
    }
    assert found == {}


def assert_node_derives_from_spec(project: Path, spec: node_spec.NodeSpec) -> None:
    module, name = node_class_path(project)
    probe = run_python(
        project,
        "import importlib, json\n"
        f"cls = getattr(importlib.import_module({module!r}), {name!r})\n"
        "print(json.dumps([f'{b.__module__}.{b.__name__}' for b in cls.__bases__]))\n",
    )
    assert probe.returncode == 0, probe.stderr
    bases = json.loads(probe.stdout.strip().splitlines()[-1])
    assert bases == [f"{module}.{cls}" for module, cls in spec.base.imports]


def assert_cli_handles_first_operation(project: Path, spec: node_spec.NodeSpec) -> None:
    operation = spec.operations[0]
    command = project_python(project).parent / node_spec.kebab_case(spec.package_name)
    completed = subprocess.run(
        [str(command), "--input", json.dumps({"operation": operation})],
        cwd=project,
        env={k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = json.loads(completed.stdout.strip().splitlines()[-1])
    expected_error = None
    if spec.node_type == "effect" and "postgres" in spec.integrations:
        # Records live in PostgreSQL, which this run does not configure: a clear JSON error.
        expected_error = ("CONFIGURATION_ERROR", "DATABASE_URL")
    elif spec.node_type == "effect" and all(map(node_spec.is_read_operation, spec.operations)):
        # A read-only effect node has nothing stored yet.
        expected_error = ("NOT_FOUND", "no record stored")
    if expected_error:
        assert completed.returncode == 1, completed.stderr[-3000:]
        assert expected_error[0] in output["error_code"]
        assert expected_error[1] in output["message"]
        return
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert output["operation"] == operation


def assert_state_machine_walked(passed: list[str], machine: node_spec.StateMachine) -> None:
    """The project's tests/test_state_machine.py took every transition and, from every state
    that refuses a trigger, tried one."""
    module = "tests.test_state_machine."
    walked = [t for t in passed if t.startswith(module + "test_every_transition_")]
    refused = [t for t in passed if t.startswith(module + "test_a_trigger_without_a_transition")]
    assert len(walked) == len(machine.transitions), passed
    refusing = [
        state
        for state in machine.state_names
        if {t.trigger for t in machine.transitions if t.from_state == state}
        != set(machine.triggers)
    ]
    assert len(refused) == len(refusing) > 0, passed


def assert_checked_project(project: Path, passed: list[str]) -> None:
    """What every checked project proves once its checks passed (`passed`: its tests)."""
    spec = project_spec(project)
    if spec.state_machine is not None:
        assert_state_machine_walked(passed, spec.state_machine)
    if spec.redaction:  # the generated proof of MixinSensitiveFieldRedaction ran (test_mixins.py)
        redaction = [t for t in passed if t.startswith("tests.test_payload_redaction.")]
        assert len(redaction) == (2 if spec.node_type == "effect" else 1), passed
    if "MixinFailFast" in spec.base.mixins:  # and MixinFailFast's (tests/test_mixins.py)
        fail_fast = [t for t in passed if t.startswith("tests.test_fail_fast.")]
        assert len(fail_fast) == (3 if "postgres" in spec.integrations else 2), passed
    assert_node_derives_from_spec(project, spec)
    assert_cli_handles_first_operation(project, spec)


@pytest.mark.parametrize("answers", CHECKED)
def test_generated_project(copie: Any, answers: dict[str, Any]) -> None:
    project = generate(copie, **answers)
    assert project_spec(project).node_type == answers["node_type"]
    assert_no_placeholders_or_quoted_paths(project)
    # No service runs here: exactly the tests marked `integration` skip (the integration
    # tests run against real servers in tests/test_integration_*.py).
    checks = run_checks(project, expected_skips=integration_tests(project))
    assert_checked_project(project, checks.passed)


@pytest.mark.parametrize("answers", UNCHECKED)
def test_unchecked_case_generates(copie: Any, answers: dict[str, Any]) -> None:
    """A case the default run does not check still renders, without a placeholder: a template
    error in any case of the matrix fails every run."""
    project = generate(copie, **answers)
    assert project_spec(project).node_type == answers["node_type"]
    assert_no_placeholders_or_quoted_paths(project)


def test_the_sample_checks_one_case_per_node_type() -> None:
    sampled = [c for c in CHECKED if any(m.name == "matrix_sample" for m in c.marks)]
    node_types = sorted(c.values[0]["node_type"] for c in sampled)
    assert node_types == sorted(copier_choices("node_type")), node_types
    # Each case of MATRIX is checked by the CLI test, or in CHECKED (sampled or -m projects_full).
    assert sorted([CHECKED_BY_THE_CLI, *(c.id for c in CHECKED)]) == sorted(c.id for c in MATRIX)
    assert {c.id for c in UNCHECKED} == {c.id for c in CHECKED} - {c.id for c in sampled}


@pytest.mark.projects_full
@pytest.mark.matrix_sample  # always: the only check of the effect-defaults case
def test_copier_cli_runs_the_checks_after_generation(tmp_path: Path) -> None:
    """The real post-generation task: `copier copy --trust --defaults`, run_checks left true."""
    report = tmp_path / "pytest-report.xml"
    addopts = f"{os.environ.get('PYTEST_ADDOPTS', '')} --junitxml={report}".strip()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",  # this checkout as it is, not its latest release tag
            str(TEMPLATE_ROOT),
            str(tmp_path / "orders"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTEST_ADDOPTS": addopts},
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    assert "[check] all checks passed" in completed.stdout
    # The task's pytest ran the project's tests: all passed, none skipped.
    assert_nested_pytest_passed(completed.stdout, report)
    project = tmp_path / "orders"
    assert (project / ".venv").is_dir()
    # The matrix's effect-defaults case: what test_generated_project proves of the others.
    (case,) = [case for case in MATRIX if case.id == CHECKED_BY_THE_CLI]
    assert project_spec(project).node_type == case.values[0]["node_type"]
    assert_no_placeholders_or_quoted_paths(project)
    assert_checked_project(project, junit_tests(report, "passed"))


def test_check_script_names_the_failing_step(copie: Any) -> None:
    project = generate(copie)
    spec = project_spec(project)
    operations = (
        project / "src" / spec.package_name / "nodes" / spec.node_name / "operation_routes.py"
    )
    # ruff-clean and formatted, but a type error: only the mypy step can catch it.
    operations.write_text(
        operations.read_text() + '\n\ndef _broken() -> int:\n    return "not a number"\n'
    )
    completed = subprocess.run(
        [sys.executable, "scripts/check_project.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 1
    assert "[check] FAILED: mypy --strict" in completed.stderr
    assert f"rerun it with:  cd {project} && uv run mypy src tests" in completed.stderr
    assert f"cd {project} && python scripts/check_project.py" in completed.stderr
    assert "[check] all checks passed" not in completed.stdout
