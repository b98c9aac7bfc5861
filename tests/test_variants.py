"""Template variants (extensions/variants.py): the selection table, the refusals, and projects.

The table and the refusals are pure and fast. Every variant is generated in the default run
and its example tests (its generated tests/test_operations.py) run against the real service
it needs; one checked project per variant runs behind the `variants_full` marker
(`-m variants_full`), and the default run checks ONE of them, rotating with the commit so that
every variant is checked over a few commits (tests/conftest.py matrix_sample).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
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
    matrix_sample,
    project_python,
    project_spec,
    run_checks,
    sync_environment,
)
from node_spec import SpecError, build_spec

variants = node_spec.variants

# One project per variant: the answers that pick it, as a user would give them.
VARIANT_ANSWERS: dict[str, dict[str, Any]] = {
    "general": {"node_type": "effect"},
    "database": {"node_type": "effect", "domain": "order database"},
    "api": {"node_type": "effect", "domain": "weather api"},
    "kafka": {"node_type": "effect", "domain": "order events stream"},
    "ml": {"node_type": "compute", "domain": "churn model inference"},
    "analytics": {"node_type": "reducer", "domain": "sales analytics"},
    "workflow": {"node_type": "orchestrator", "domain": "order workflow"},
}


def test_every_choice_is_a_variant_and_has_a_project() -> None:
    assert copier_choices("variant") == list(variants.VARIANTS)
    assert list(VARIANT_ANSWERS) == list(variants.VARIANTS)


# (node_type, domain, integrations) -> the default variant
@pytest.mark.parametrize(
    ("node_type", "domain", "integrations", "expected"),
    [
        ("effect", "general", [], "general"),
        ("effect", "", ["postgres"], "database"),
        ("effect", "", ["http"], "api"),
        ("effect", "", ["kafka"], "kafka"),
        # the seeds' priority: database before api before kafka
        ("effect", "", ["kafka", "http", "postgres"], "database"),
        ("effect", "", ["http", "kafka"], "api"),
        # integrations before domain words; domain words only where the node type fits
        ("effect", "ml inference", [], "general"),
        ("compute", "ml inference", ["postgres"], "ml"),
        ("compute", "churn_model", [], "ml"),
        ("compute", "pricing", [], "general"),
        ("reducer", "sales analytics", ["redis"], "analytics"),
        ("reducer", "Aggregation of orders", [], "analytics"),
        ("reducer", "workflow", [], "general"),
        ("orchestrator", "order workflow", [], "workflow"),
        ("orchestrator", "saga orchestration", ["kafka"], "workflow"),
        ("orchestrator", "analytics", [], "general"),
    ],
)
def test_selection_table(
    node_type: str, domain: str, integrations: list[str], expected: str
) -> None:
    chosen, why = variants.select_variant(node_type, domain, integrations)
    assert chosen == expected
    assert why  # the decision log shows it


@pytest.mark.parametrize(
    ("node_type", "domain", "integrations", "operations", "expected"),
    [
        # recorded before variants existed (copier update replays them): examples kept
        ("reducer", "sales analytics", [], ["aggregate_values"], "general"),
        ("orchestrator", "order workflow", [], ["fulfil_request"], "general"),
        ("compute", "churn model", [], ["normalize_values"], "general"),
        ("effect", "", ["http"], ["create_record", "get_record"], "general"),
        # ... an effect on PostgreSQL from before the CRUD examples keeps its two operations
        ("effect", "", ["postgres"], ["create_record", "get_record"], "general"),
        (
            "effect",
            "",
            ["postgres"],
            ["create_record", "get_record", "update_record", "delete_record"],
            "database",
        ),
        # operations holding the variant's examples keep it
        ("reducer", "analytics", [], ["ingest_amount", "get_daily_total", "x"], "analytics"),
    ],
)
def test_given_operations_without_the_examples_pass_a_variant_over(
    node_type: str, domain: str, integrations: list[str], operations: list[str], expected: str
) -> None:
    assert variants.select_variant(node_type, domain, integrations, operations)[0] == expected


def test_a_reducer_with_a_state_machine_keeps_general() -> None:
    assert variants.select_variant("reducer", "analytics", [], None, True)[0] == "general"


def test_each_variant_fits_exactly_its_node_type() -> None:
    for node_type in node_spec.NODE_TYPES:
        fitting = variants.variants_for(node_type)
        assert fitting[0] == "general"
        for name in variants.VARIANTS:
            error = variants.variant_error(name, node_type)
            assert (error == "") == (name in fitting), (name, node_type, error)


@pytest.mark.parametrize(
    ("variant", "node_type", "integrations", "message"),
    [
        (
            "ml",
            "effect",
            None,
            "variant 'ml' is for compute nodes; node_type effect takes general, ",
        ),
        ("analytics", "compute", None, "variant 'analytics' is for reducer nodes"),
        ("nonsense", "effect", None, "variant must be one of general, database, api, kafka"),
        ("database", "effect", ["http"], "variant 'database' needs the postgres integration"),
    ],
)
def test_a_misfit_is_refused_in_one_line(
    variant: str, node_type: str, integrations: list[str] | None, message: str
) -> None:
    error = variants.variant_error(variant, node_type, integrations)
    assert error.startswith(message)
    assert "\n" not in error
    assert len(error) <= 120


def _answers(**overrides: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "service_name": "sales",
        "node_type": "reducer",
        "operations": ["ingest_amount", "get_daily_total"],
        "integrations": [],
        "variant": "analytics",
    }
    answers.update(overrides)
    return answers


def test_spec_carries_the_variant_and_the_log_says_why() -> None:
    answers = _answers(domain="sales analytics")
    spec = build_spec(answers)
    assert spec.variant == "analytics"
    log = {d.topic: d for d in node_spec.decision_log(spec, answers)}
    assert log["variant"].choice == "analytics"
    assert log["variant"].reason.startswith("domain 'analytics' on a reducer node")


def test_an_explicit_variant_says_so_in_the_log() -> None:
    answers = _answers(domain="billing")
    log = {d.topic: d for d in node_spec.decision_log(build_spec(answers), answers)}
    assert log["variant"].reason.startswith("answered explicitly")
    assert "suggested general" in log["variant"].reason


def test_no_variant_answer_is_general() -> None:
    answers = _answers(variant=None, operations=["aggregate_values"])
    assert build_spec(answers).variant == "general"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"node_type": "effect"}, "variant 'analytics' is for reducer nodes"),
        ({"operations": ["ingest_amount"]}, "variant 'analytics' needs its operations"),
        (
            {
                "features": ["state_machine"],
                "operations": [
                    "ingest_amount",
                    "get_daily_total",
                    *node_spec.default_operations("reducer", {}, ["state_machine"]),
                ],
            },
            "variant 'analytics' keeps its own state",
        ),
        (
            {"node_type": "effect", "variant": "database", "operations": ["create_record"]},
            "variant 'database' needs the postgres integration",
        ),
    ],
)
def test_build_spec_refuses_a_variant_that_cannot_fit(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        build_spec(_answers(**overrides))


def test_operations_and_workflow_default_from_the_variant() -> None:
    assert node_spec.default_operations("reducer", {}, [], "analytics") == [
        "ingest_amount",
        "get_daily_total",
    ]
    assert node_spec.default_operations("reducer", {}, [], "general") == ["aggregate_values"]
    graph = variants.variant_workflow("workflow")
    assert node_spec.workflow_error(graph) == ""
    assert node_spec.workflow_operations(graph) == list(variants.variant_operations("workflow"))
    assert variants.variant_workflow("general") == {}


def test_the_variant_adds_the_integration_it_needs() -> None:
    order = node_spec.INTEGRATIONS
    assert variants.variant_integrations(["redis"], "database", order) == ["postgres", "redis"]
    assert variants.variant_integrations(["redis"], "general", order) == ["redis"]


def test_every_partial_a_variant_names_exists_and_is_included() -> None:
    """Each body a variant replaces is in partials/variants/<variant>/, and some template file
    includes it through spec.variant_partial('<file>')."""
    hooks = "\n".join(
        path.read_text()
        for path in (TEMPLATE_ROOT / "template").rglob("*.jinja")
        if "variant_partial" in path.read_text()
    )
    named = 0
    for name, variant in variants.VARIANTS.items():
        for template_file in variant.partials:
            assert (TEMPLATE_ROOT / variants.partial(name, template_file)).is_file()
            assert f"spec.variant_partial('{template_file}')" in hooks, template_file
            named += 1
    assert named >= 10  # analytics and ml bring their own bodies
    # ... and each part a variant replaces (the rest of the file is the node type's) has its
    # own partial beside the node type's, which spec.partial() names after it.
    for name, variant in variants.VARIANTS.items():
        for part in variant.parts:
            own, general = variants.part_candidates(name, variant.node_type, part)
            assert (TEMPLATE_ROOT / own).is_file(), own
            assert (TEMPLATE_ROOT / general).is_file(), general
    assert variants.part_candidates("general", "effect", "handler_body.py.jinja") == [
        "partials/effect/handler_body.py.jinja"
    ]
    shipped = {p.parent.name for p in (TEMPLATE_ROOT / "partials" / "variants").glob("*/*")}
    assert shipped == {n for n, v in variants.VARIANTS.items() if v.partials or v.parts}


@pytest.mark.parametrize(
    ("variant", "operation", "expected"),
    [
        ("database", "create_record", "create"),
        ("database", "get_record", "read"),
        ("database", "update_record", "update"),
        ("database", "rename_customer", "update"),
        ("database", "delete_record", "delete"),
        ("database", "remove_order", "delete"),
        ("database", "archive_record", "create"),  # any other write stores a new record
        # only the database variant updates and deletes: elsewhere every write creates
        ("general", "update_record", "create"),
        ("kafka", "delete_record", "create"),
    ],
)
def test_record_action_of_an_operation(variant: str, operation: str, expected: str) -> None:
    reads = node_spec.is_read_operation(operation)
    assert variants.record_action(variant, operation, reads) == expected


def test_stream_operations_route_or_enrich() -> None:
    """The kafka variant's examples: route_/filter_/dispatch_ operations route, others enrich."""
    spec = build_spec(
        {
            "service_name": "stream",
            "node_type": "effect",
            "integrations": ["kafka"],
            "variant": "kafka",
            "operations": ["enrich_event", "route_event", "filter_spam", "tag_event"],
        }
    )
    assert spec.stream_operations(True) == ["route_event", "filter_spam"]
    assert spec.stream_operations(False) == ["enrich_event", "tag_event"]


# ---------------------------------------------------------------------------------------------
# Generated projects
# ---------------------------------------------------------------------------------------------
# One checked project per variant behind `-m variants_full`; the default run checks one of
# them, rotating with the commit (tests/conftest.py matrix_sample, the suite's one sampler).
CHECKED_VARIANTS = matrix_sample(
    [pytest.param(name, id=name) for name in VARIANT_ANSWERS],
    group=lambda case: "variant",
    marker="variants_full",
)
SAMPLED = next(
    case.values[0]
    for case in CHECKED_VARIANTS
    if any(mark.name == "matrix_sample" for mark in case.marks)
)


def test_a_misfit_answer_stops_the_copy_in_one_line(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref=HEAD"),
            *("-d", "run_checks=false", "-d", "node_type=effect", "-d", "variant=ml"),
            *(str(TEMPLATE_ROOT), str(tmp_path / "misfit")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode != 0
    assert "variant 'ml' is for compute nodes" in completed.stderr
    assert not (tmp_path / "misfit").exists() or not any((tmp_path / "misfit").iterdir())


def _service_environment(
    request: pytest.FixtureRequest, name: str, project: Path, *, broker: bool = True
) -> dict[str, str]:
    """The variables that point `project` at the real service its variant needs (PostgreSQL,
    the HTTP upstream, tansu Kafka unless not `broker`); {} when it needs none."""
    prefix = project_spec(project).env_prefix
    environment: dict[str, str] = {}
    if name == "database":
        postgres = request.getfixturevalue("postgres_server")
        environment["DATABASE_URL"] = postgres.create_database(f"variant_{project.name}")
    elif name == "api":
        upstream = request.getfixturevalue("http_upstream")
        environment[f"{prefix}HTTP_CLIENT_BASE_URL"] = upstream.base_url
        environment[f"{prefix}HTTP_CLIENT_HEALTH_URL"] = "/health"
    elif name == "kafka" and broker:
        kafka = request.getfixturevalue("kafka_service")
        environment["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap
        environment[f"{prefix}KAFKA_ENABLE_IDEMPOTENCE"] = "false"  # see service_kafka.py
    return environment


def _check_variant(copie: Any, request: pytest.FixtureRequest, name: str) -> None:
    """Generate the variant's project and run its checks, its integration tests against the
    real service its variant needs (PostgreSQL, the HTTP upstream, tansu Kafka)."""
    project = generate(copie, service_name=f"checked_{name}", **VARIANT_ANSWERS[name])
    environment = _service_environment(request, name, project)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in environment.items():
            patch.setenv(key, value)
        skips = [] if environment else integration_tests(project)
        run_checks(project, expected_skips=skips)


@pytest.mark.slow
@pytest.mark.parametrize("name", CHECKED_VARIANTS)
def test_variant_passes_every_check(copie: Any, request: pytest.FixtureRequest, name: str) -> None:
    _check_variant(copie, request, name)


# Every variant's example tests (its generated tests/test_operations.py), in the default run:
# the variants' behaviour (CRUD, stream routing, the saga's compensations, ...) is proven on
# every commit, against the real service each needs, while the full checks above rotate. The
# sampled variant is left out: its full checks run these tests too.
EXAMPLE_TESTED = [name for name in VARIANT_ANSWERS if name not in ("general", SAMPLED)]


@pytest.mark.parametrize("name", EXAMPLE_TESTED)
def test_variant_examples_pass_their_own_tests(
    copie: Any, request: pytest.FixtureRequest, name: str
) -> None:
    """The variant copies, records its answer, says so in its decision log, and its example
    tests pass (general is any project of the rest of the suite)."""
    project = generate(copie, service_name=f"examples_{name}", **VARIANT_ANSWERS[name])
    assert f"variant: {name}\n" in (project / ".copier-answers.yml").read_text()
    assert f"**variant: {name}**" in (project / "README.md").read_text()
    sync_environment(project)
    # The stream examples run through handle(): no broker needed for this file.
    environment = _service_environment(request, name, project, broker=False)
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.xml"
        completed = subprocess.run(
            [
                *(str(project_python(project)), "-m", "pytest", "-q", "-p", "no:cacheprovider"),
                *(f"--junitxml={report}", "tests/test_operations.py"),
            ],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **environment},
            check=False,
        )
        assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
        # With its service there nothing may be skipped: every example test ran and passed.
        counts = assert_nested_pytest_passed(completed.stdout, report)
    assert counts["passed"] >= 5, counts
