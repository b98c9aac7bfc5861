"""Unit tests of extensions/node_spec.py, the pure logic behind the questionnaire.

Most tests call the functions directly. The ones marked `xdist_group("default_project")`
check the derived names against the pinned omnibase_core itself, with the python of one
generated project's .venv (the template's dev environment does not install omnibase_core).
"""

from __future__ import annotations

import builtins
import json
import keyword
import re
import sys
from pathlib import Path
from typing import Any

import node_spec
import pytest
import yaml
from conftest import TEMPLATE_ROOT, copier_choices, run_python
from node_spec import Decision, SpecError, build_spec

ANSWERS: dict[str, Any] = {
    "service_name": "orders",
    "node_type": "effect",
    "operations": ["create_order", "get_order"],
    "features": [],
    "dependencies": {},
    "integrations": [],
}


def spec_for(**overrides: Any) -> node_spec.NodeSpec:
    return build_spec({**ANSWERS, **overrides})


# ---------------------------------------------------------------------------------------------
# The questionnaire and node_spec agree
# ---------------------------------------------------------------------------------------------
def test_copier_choices_match_node_spec() -> None:
    assert tuple(copier_choices("node_type")) == node_spec.NODE_TYPES
    assert tuple(copier_choices("integrations")) == node_spec.INTEGRATIONS
    assert set(node_spec.DEFAULT_OPERATIONS) == set(node_spec.NODE_TYPES)


def test_copier_features_are_the_catalogue() -> None:
    """Accepted features are plain choices; refused ones disabled choices whose reason is
    node_spec's own message (the choice's validator calls the features check)."""
    config = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    choices = config["features"]["choices"]
    assert config["features"]["multiselect"] is True
    assert list(choices) == [*node_spec.FEATURES, *node_spec.REFUSED_FEATURES]
    assert {name: choices[name] for name in node_spec.FEATURES} == {
        name: name for name in node_spec.FEATURES
    }
    for name in node_spec.REFUSED_FEATURES:
        assert choices[name] == {
            "value": name,
            "validator": f"{{{{ ['{name}'] | onex_check('features') }}}}",
        }


# ---------------------------------------------------------------------------------------------
# The feature catalogue
# ---------------------------------------------------------------------------------------------
# Every feature word of the seeds (the CodeGenerationService's mixin selection, integration
# detection and convenience-wrapper switch in codegen-upgrade-plan.md), and the template's own.
SEED_FEATURE_WORDS = (
    "no_service_mode", "custom_mixins", "persistence", "database", "http_client", "api_client",
    "event_driven", "kafka", "caching", "redis", "service_discovery", "discovery", "strict",
    "fail_fast", "retry", "resilience", "circuit_breaker", "fault_tolerance", "cli",
    "command_line", "state_machine", "canonical_yaml", "stamping", "hybrid_execution",
    "workflow", "strict_validation",
    # the template's own: issue 11 item 6 (tests/test_mixins.py)
    "redaction",
)  # fmt: skip


def test_every_seed_feature_word_is_accepted_or_refused_with_a_reason() -> None:
    assert not set(node_spec.FEATURES) & set(node_spec.REFUSED_FEATURES)
    for word in SEED_FEATURE_WORDS:
        assert word in node_spec.FEATURES or node_spec.REFUSED_FEATURES[word], word
    # and nothing is catalogued that the seeds (or this template) never named
    assert set(node_spec.FEATURES) | set(node_spec.REFUSED_FEATURES) == set(SEED_FEATURE_WORDS)


def generated_node(node_type: str, features: list[str]) -> tuple[set[str], set[str]]:
    """What the features decide for a node: the classes it is built from, and the
    integrations its questionnaire defaults to."""
    base = node_spec.select_base(node_type, features)
    detected, _ = node_spec.detect_integrations("", [], features, {})
    return {name for _, name in base.imports}, set(detected)


@pytest.mark.parametrize("feature", node_spec.FEATURES)
def test_every_accepted_feature_changes_the_generated_node(feature: str) -> None:
    """The documented effect, checked for every node type: compared with the same answers
    without it, the feature adds what its catalogue entry says (fail_fast and
    strict_validation are measured on top of custom_mixins, which they need)."""
    effect = node_spec.FEATURES[feature]
    if feature in node_spec.RESILIENCE_FEATURES:
        # No class or default integration: the spec's resilience (the contract's
        # error_handling section and runtime/resilience.py follow it) and its decision log.
        for node_type in node_spec.NODE_TYPES:
            answers = {"service_name": "orders", "node_type": node_type, "operations": ["get_x"]}
            spec = node_spec.build_spec({**answers, "integrations": ["postgres", "http"]})
            assert (spec.resilience, spec.guarded) == ((), ("postgres", "http"))
            spec = node_spec.build_spec(
                {**answers, "features": [feature], "integrations": ["http", "postgres"]}
            )
            assert (spec.resilience, spec.guarded) == ((feature,), ("postgres", "http"))
            assert [d.choice for d in spec.decisions if d.topic == "resilience"] == [feature]
        assert "outbound" in effect
        return
    if feature == "redaction":
        # No class or integration: the spec's flag (runtime/payload_redaction.py and its
        # generated test follow it) and the decision log's mixin.
        for node_type in node_spec.NODE_TYPES:
            answers = {"service_name": "orders", "node_type": node_type, "operations": ["get_x"]}
            assert not node_spec.build_spec(answers).redaction
            spec = node_spec.build_spec({**answers, "features": [feature]})
            assert spec.redaction
            used = [d.choice for d in spec.decisions if d.topic == "mixin used"]
            assert used == ["MixinSensitiveFieldRedaction"]
        assert "MixinSensitiveFieldRedaction" in effect
        return
    if feature == "state_machine":
        # No class or integration: a reducer gets the default lifecycle (contract + runtime).
        answers = {"service_name": "orders", "node_type": "reducer", "features": [feature]}
        operations = node_spec.default_operations("reducer", {}, [feature])
        spec = node_spec.build_spec({**answers, "operations": operations})
        assert spec.state_machine is not None
        assert "default lifecycle" in effect
        without = {**answers, "features": [], "operations": operations}
        assert node_spec.build_spec(without).state_machine is None
        return
    partners = ["custom_mixins"] if feature in ("fail_fast", "strict_validation") else []
    for node_type in node_spec.NODE_TYPES:
        classes, integrations = generated_node(node_type, [*partners, feature])
        classes_without, integrations_without = generated_node(node_type, partners)
        assert (classes, integrations) != (classes_without, integrations_without)
        for integration in integrations - integrations_without:
            assert f"include {integration}" in effect
        added = classes - classes_without
        if f"Node{node_type.capitalize()}" in added:
            assert "Node<Type>" in effect
        # beyond the health and metrics mixins every custom composition carries
        for mixin in added - {f"Node{node_type.capitalize()}", "MixinHealthCheck", "MixinMetrics"}:
            assert mixin in effect or effect == "same as fail_fast", (feature, mixin)
    assert node_spec.features_error([*partners, feature]) == ""


@pytest.mark.parametrize("feature", node_spec.REFUSED_FEATURES)
def test_every_refused_feature_says_why(feature: str) -> None:
    message = node_spec.features_error([feature])
    assert message == f"{feature}: {node_spec.REFUSED_FEATURES[feature]}"
    assert message == node_spec.feature_error(feature)
    # the questionnaire shows it as a disabled choice: "   - retry (retry: not yet ...)"
    assert len(f"   - {feature} ({message})") <= node_spec.MAX_MESSAGE


def test_features_page_documents_the_catalogue() -> None:
    page = (TEMPLATE_ROOT / "docs" / "features.md").read_text()
    for name, effect in node_spec.FEATURES.items():
        assert f"| `{name}` | {effect} |" in page, name
    for name, reason in node_spec.REFUSED_FEATURES.items():
        assert f"| `{name}` | {reason} |" in page, name


@pytest.mark.parametrize(
    ("recorded", "kept", "notes"),
    [
        ([], [], []),
        (None, [], []),
        (["custom_mixins", "fail_fast", "caching"], ["custom_mixins", "fail_fast", "caching"], []),
        (
            ["event_driven", "retries", "caching"],
            ["event_driven", "caching"],
            ["dropped feature 'retries': unknown to this version"],
        ),
        (
            ["custom_mixins", "stamping", "strict"],
            ["custom_mixins"],
            [
                f"dropped feature 'stamping': {node_spec.REFUSED_FEATURES['stamping']}",
                "dropped feature 'strict': use fail_fast (adds MixinFailFast)",
            ],
        ),
        # fail_fast alone never added a mixin: dropping it changes nothing
        (
            ["fail_fast", "caching"],
            ["caching"],
            ["dropped feature 'fail_fast': no effect without custom_mixins"],
        ),
        ("caching", ["caching"], []),
        (["caching", "caching"], ["caching"], []),
    ],
)
def test_migrate_features(recorded: Any, kept: list[str], notes: list[str]) -> None:
    assert node_spec.migrate_features(recorded) == (kept, notes)
    assert node_spec.features_error(kept) == ""


def test_migrated_features_keep_the_node_as_it_was() -> None:
    """Whatever old answers recorded, the migrated features give the same base and mixins as
    the old rule gave them (the old rule: mixins only with a custom composition)."""
    for recorded in (
        ["custom_mixins", "strict_validation", "streaming", "caching"],
        ["no_service_mode", "stamping", "fail_fast"],
        ["fail_fast", "strict_validation", "webhooks"],
    ):
        kept, _ = node_spec.migrate_features(recorded)
        for node_type in node_spec.NODE_TYPES:
            assert node_spec.select_base(node_type, kept).imports == (
                node_spec.select_base(node_type, recorded).imports
            )


@pytest.mark.parametrize("node_type", node_spec.NODE_TYPES)
def test_default_operations_are_valid(node_type: str) -> None:
    operations = node_spec.DEFAULT_OPERATIONS[node_type]
    assert node_spec.operations_error(operations) == ""
    assert spec_for(node_type=node_type, operations=operations).operations == tuple(operations)


# ---------------------------------------------------------------------------------------------
# Node-type classification
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("description", "expected", "hits"),
    [
        (
            "Stores customer orders in the database and reads them back",
            "effect",
            {"stores", "database", "reads"},
        ),
        (
            "Calculates a risk score and normalizes the inputs",
            "compute",
            {"calculates", "score", "normalizes"},
        ),
        ("Aggregates daily sales into running totals", "reducer", {"aggregates", "totals"}),
        (
            "Coordinates the checkout workflow across payment and shipping steps",
            "orchestrator",
            {"coordinates", "workflow", "steps"},
        ),
        # Case and underscores do not hide a keyword.
        ("TRANSFORM_payload and PARSE it", "compute", {"transform", "parse"}),
    ],
)
def test_classify_picks_the_type_whose_keywords_dominate(
    description: str, expected: str, hits: set[str]
) -> None:
    node_type, decision = node_spec.classify_node_type(description)
    assert node_type == expected
    assert decision.topic == "node_type"
    assert decision.choice == expected
    mentioned = set(decision.reason.removeprefix("description mentions ").split(", "))
    assert mentioned == hits


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        # one keyword each: ties go to the earlier type in NODE_TYPES order
        ("store and calculate", "effect"),
        ("calculate and aggregate", "compute"),
        ("aggregate and coordinate", "reducer"),
        ("persist, transform, aggregate, orchestrate", "effect"),
        # two compute keywords beat one effect keyword
        ("send, parse and score", "compute"),
    ],
)
def test_classify_ties_follow_node_type_order(description: str, expected: str) -> None:
    assert node_spec.classify_node_type(description)[0] == expected


@pytest.mark.parametrize("description", ["", "Makes customers happy", "42"])
def test_classify_without_keyword_defaults_to_effect(description: str) -> None:
    node_type, decision = node_spec.classify_node_type(description)
    assert node_type == "effect"
    assert decision == Decision(
        "node_type", "effect", "no node-type keyword in the description; effect is the default"
    )


# ---------------------------------------------------------------------------------------------
# Integration detection
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "value", "expected", "reason"),
    [
        ("domain", "order database", "postgres", "domain 'database'"),
        ("domain", "PostgreSQL ledger", "postgres", "domain 'postgresql'"),
        ("operations", ["persist_order"], "postgres", "operations 'persist'"),
        ("dependencies", {"postgres": ">=15"}, "postgres", "dependencies 'postgres'"),
        ("domain", "event streaming", "kafka", "domain 'event'; domain 'streaming'"),
        ("operations", ["publish_invoice"], "kafka", "operations 'publish'"),
        ("features", ["event_driven"], "kafka", "features 'event_driven'; features 'event'"),
        ("features", ["caching"], "redis", "features 'caching'"),
        ("dependencies", {"Redis": "7"}, "redis", "dependencies 'redis'"),
        ("operations", ["call_partner_api"], "http", "operations 'api'"),
        ("domain", "REST webhooks", "http", "domain 'rest'"),
        (
            "features",
            ["service_discovery"],
            "consul",
            "features 'service_discovery'; features 'discovery'",
        ),
        ("dependencies", {"consul": "1.17"}, "consul", "dependencies 'consul'"),
    ],
)
def test_detect_each_integration_from_each_source(
    source: str, value: Any, expected: str, reason: str
) -> None:
    inputs: dict[str, Any] = {"domain": "", "operations": [], "features": [], "dependencies": {}}
    inputs[source] = value
    chosen, decisions = node_spec.detect_integrations(**inputs)
    assert chosen == [expected]
    assert decisions == (Decision("integration", expected, reason),)


def test_detect_nothing_when_no_keyword() -> None:
    chosen, decisions = node_spec.detect_integrations(
        "general", ["normalize_values", "restore_defaults"], ["dbx_mode"], {"numpy": "2"}
    )
    # whole tokens only: 'restore' is not 'store', 'dbx' is not 'db'
    assert chosen == []
    assert decisions == ()


def test_detect_returns_integrations_in_choice_order() -> None:
    chosen, _ = node_spec.detect_integrations(
        "consul registry",
        ["call_api", "cache_result", "publish_event"],
        [],
        {"postgres": ">=15"},
    )
    assert chosen == list(node_spec.INTEGRATIONS)


def test_detect_ignores_dependency_versions() -> None:
    chosen, _ = node_spec.detect_integrations("", [], [], {"numpy": "redis kafka"})
    assert chosen == []


# ---------------------------------------------------------------------------------------------
# Base class and mixins
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("node_type", node_spec.NODE_TYPES)
@pytest.mark.parametrize("features", [[], ["fail_fast", "caching"], ["event_driven"]])
def test_convenience_wrapper_by_default(node_type: str, features: list[str]) -> None:
    base = node_spec.select_base(node_type, features)
    kind = node_type.capitalize()
    assert base.base_class == f"ModelService{kind}"
    assert base.base_module == f"omnibase_core.nodes.node_service_{node_type}"
    assert base.mixins == ()
    assert base.convenience_wrapper is True
    assert base.imports == ((base.base_module, base.base_class),)


@pytest.mark.parametrize("node_type", node_spec.NODE_TYPES)
@pytest.mark.parametrize(
    ("features", "mixins"),
    [
        (["custom_mixins"], ("MixinHealthCheck", "MixinMetrics")),
        (["no_service_mode"], ("MixinHealthCheck", "MixinMetrics")),
        (["custom_mixins", "fail_fast"], ("MixinHealthCheck", "MixinMetrics", "MixinFailFast")),
        # caching adds no mixin (MixinCaching is refused: tests/test_mixins.py)
        (["no_service_mode", "caching"], ("MixinHealthCheck", "MixinMetrics")),
        # strict_validation and fail_fast give one mixin
        (
            ["caching", "strict_validation", "fail_fast", "custom_mixins"],
            ("MixinHealthCheck", "MixinMetrics", "MixinFailFast"),
        ),
    ],
)
def test_custom_composition(node_type: str, features: list[str], mixins: tuple[str, ...]) -> None:
    base = node_spec.select_base(node_type, features)
    kind = node_type.capitalize()
    assert base.base_class == f"Node{kind}"
    assert base.base_module == f"omnibase_core.nodes.node_{node_type}"
    assert base.mixins == mixins
    assert base.convenience_wrapper is False
    assert base.imports == (
        (f"omnibase_core.nodes.node_{node_type}", f"Node{kind}"),
        *((node_spec.MIXIN_MODULES[m], m) for m in mixins),
    )


def test_base_decisions_explain_each_choice() -> None:
    default = node_spec.select_base("effect", [])
    assert [(d.topic, d.choice) for d in default.decisions] == [
        ("base_class", "ModelServiceEffect")
    ]
    assert "no feature asked for custom composition" in default.decisions[0].reason

    custom = node_spec.select_base(
        "reducer", ["no_service_mode", "custom_mixins", "caching", "strict_validation"]
    )
    assert custom.decisions == (
        Decision(
            "base_class",
            "NodeReducer",
            "features no_service_mode, custom_mixins ask for custom composition",
        ),
        Decision(
            "mixin", "MixinHealthCheck, MixinMetrics", "the node's health and metrics use them"
        ),
        Decision(
            "mixin used",
            "MixinFailFast",
            "feature 'strict_validation': "
            + node_spec.MIXIN_CATALOGUE.BY_NAME["MixinFailFast"].how,
        ),
    )


# ---------------------------------------------------------------------------------------------
# Naming
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("service_name", "node_type", "stem", "class_name"),
    [
        ("orders", "effect", "orders", "NodeOrdersEffect"),
        ("orders_effect", "effect", "orders", "NodeOrdersEffect"),
        ("price_rules_compute", "compute", "price_rules", "NodePriceRulesCompute"),
        ("daily_totals_reducer", "reducer", "daily_totals", "NodeDailyTotalsReducer"),
        ("checkout_orchestrator", "orchestrator", "checkout", "NodeCheckoutOrchestrator"),
        # only the node's own type is stripped, and never the whole name
        ("orders_effect", "compute", "orders_effect", "NodeOrdersEffectCompute"),
        ("effect", "effect", "effect", "NodeEffectEffect"),
        ("v2_api", "effect", "v2_api", "NodeV2ApiEffect"),
    ],
)
def test_names(service_name: str, node_type: str, stem: str, class_name: str) -> None:
    ops = node_spec.DEFAULT_OPERATIONS[node_type]
    spec = spec_for(service_name=service_name, node_type=node_type, operations=ops)
    assert spec.stem == stem
    assert spec.class_name == class_name
    assert spec.node_name == f"node_{stem}_{node_type}"
    assert spec.model_prefix == "Model" + class_name.removeprefix("Node").removesuffix(
        node_type.capitalize()
    )
    assert spec.onex_node_type == f"{node_type.upper()}_GENERIC"
    assert spec.env_prefix == f"{service_name.upper()}_"


def test_package_name_names_producer_and_env_prefix() -> None:
    spec = spec_for(service_name="order_store", package_name="acme_orders")
    assert spec.package_name == "acme_orders"
    assert spec.producer == "acme-orders"
    assert spec.env_prefix == "ACME_ORDERS_"
    assert spec.command_topic == "onex.cmd.acme-orders.order-store-requested.v1"
    assert spec.terminal_topic == "onex.evt.acme-orders.order-store-completed.v1"
    assert spec.dlq_topic == "onex.dlq.acme-orders.events.v1"


def test_case_helpers() -> None:
    assert node_spec.snake_case("My Node-Name") == "my_node_name"
    assert node_spec.snake_case("OrderService v2") == "order_service_v2"
    assert node_spec.pascal_case("order_store_v2") == "OrderStoreV2"
    assert node_spec.kebab_case("order_store_v2") == "order-store-v2"


# ---------------------------------------------------------------------------------------------
# Event catalog
# ---------------------------------------------------------------------------------------------
def test_event_catalog() -> None:
    spec = spec_for(service_name="order_store", operations=["create_order", "get_order"])
    assert [(e.event_type, e.topic, e.constant, e.category) for e in spec.events] == [
        (
            "effect.create_order.started",
            "onex.evt.order-store.create-order-started.v1",
            "TOPIC_CREATE_ORDER_STARTED",
            "operation",
        ),
        (
            "effect.create_order.completed",
            "onex.evt.order-store.create-order-completed.v1",
            "TOPIC_CREATE_ORDER_COMPLETED",
            "operation",
        ),
        (
            "effect.create_order.failed",
            "onex.evt.order-store.create-order-failed.v1",
            "TOPIC_CREATE_ORDER_FAILED",
            "operation",
        ),
        (
            "effect.get_order.started",
            "onex.evt.order-store.get-order-started.v1",
            "TOPIC_GET_ORDER_STARTED",
            "operation",
        ),
        (
            "effect.get_order.completed",
            "onex.evt.order-store.get-order-completed.v1",
            "TOPIC_GET_ORDER_COMPLETED",
            "operation",
        ),
        (
            "effect.get_order.failed",
            "onex.evt.order-store.get-order-failed.v1",
            "TOPIC_GET_ORDER_FAILED",
            "operation",
        ),
        (
            "effect.state.changed",
            "onex.evt.order-store.state-changed.v1",
            "TOPIC_STATE_CHANGED",
            "state",
        ),
        (
            "effect.metric.recorded",
            "onex.evt.order-store.metric-recorded.v1",
            "TOPIC_METRIC_RECORDED",
            "metric",
        ),
    ]
    assert spec.topic_for("effect.get_order.failed") == "onex.evt.order-store.get-order-failed.v1"
    with pytest.raises(KeyError):
        spec.topic_for("effect.delete_order.failed")


@pytest.mark.parametrize("node_type", node_spec.NODE_TYPES)
def test_event_catalog_is_unique_per_type(node_type: str) -> None:
    ops = ["sum_values", "count_values", "state", "metric"]
    spec = spec_for(node_type=node_type, operations=ops)
    assert len(spec.events) == 3 * len(ops) + 2
    for field in ("event_type", "topic", "constant"):
        values = [getattr(e, field) for e in spec.events]
        assert len(values) == len(set(values)), field
    assert all(e.event_type.startswith(f"{node_type}.") for e in spec.events)


# Answers whose every topic must pass omnibase_core's strict topic rule.
TOPIC_CASES: list[dict[str, Any]] = [
    {},
    {"service_name": "a", "operations": ["b"]},
    {"service_name": "order_store_v2", "operations": ["get_v2_order", "x1"]},
    {
        "service_name": "customer_subscription_lifecycle_handling",
        "operations": [
            "lookup_customer_subscription_entitlement",
            "persist_customer_subscription_changes",
        ],
    },
    *({"service_name": f"totals_{t}", "node_type": t} for t in node_spec.NODE_TYPES),
    {"service_name": "totals", "package_name": "acme_totals_pkg"},
]


def all_topics(spec: node_spec.NodeSpec) -> list[str]:
    return [
        *(e.topic for e in spec.events),
        spec.command_topic,
        spec.terminal_topic,
        spec.dlq_topic,
    ]


@pytest.mark.slow
@pytest.mark.xdist_group("default_project")
def test_topics_pass_omnibase_core_topic_checker(default_project: Path) -> None:
    topics = sorted({t for case in TOPIC_CASES for t in all_topics(spec_for(**case))})
    # Control values: the checker must reject what the strict rule forbids.
    bad = [
        "onex.evt.order_store.create-order-started.v1",
        "onex.evt.orders.Get-order.v1",
        "onex.event.orders.get-order.v1",
        "dev.onex.evt.orders.get-order.v1",
    ]
    probe = run_python(
        default_project,
        "import json, sys\n"
        "from omnibase_core.utils.util_topic_suffix import check_topic_suffix\n"
        f"topics = json.loads({json.dumps(json.dumps(topics + bad))})\n"
        "print(json.dumps({t: check_topic_suffix(t).error for t in topics}))\n",
    )
    assert probe.returncode == 0, probe.stderr
    errors = json.loads(probe.stdout.strip().splitlines()[-1])
    assert all(errors[t] for t in bad), "the checker accepted a control topic"
    assert {t: e for t, e in errors.items() if t not in bad and e} == {}
    assert len(topics) > 60


@pytest.mark.slow
@pytest.mark.xdist_group("default_project")
def test_every_base_and_mixin_exists_in_pinned_core(default_project: Path) -> None:
    names: set[tuple[str, str]] = {
        (module, name) for name, module in node_spec.MIXIN_MODULES.items()
    }
    for node_type in node_spec.NODE_TYPES:
        for features in ([], ["custom_mixins", "fail_fast", "caching", "strict_validation"]):
            names.update(node_spec.select_base(node_type, features).imports)
    probe = run_python(
        default_project,
        "import importlib, json\n"
        "from importlib.metadata import version\n"
        f"names = json.loads({json.dumps(json.dumps(sorted(names)))})\n"
        "missing = [f'{m}.{n}' for m, n in names\n"
        "           if not isinstance(getattr(importlib.import_module(m), n, None), type)]\n"
        "print(json.dumps({'core': version('omnibase-core'), 'missing': missing}))\n",
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["core"] == "0.47.57"
    assert result["missing"] == []
    assert len(names) == 4 * 2 + len(node_spec.MIXIN_MODULES)


@pytest.mark.slow
@pytest.mark.xdist_group("default_project")
def test_reserved_names_cover_what_a_project_installs(default_project: Path) -> None:
    """A package named like any top-level module of a generated project's environment would
    shadow it (or be shadowed): node_spec must refuse every one a snake_case name can hit."""
    probe = run_python(
        default_project,
        "import importlib.metadata as md, json\n"
        "names = set()\n"
        "for dist in md.distributions():\n"
        "    top = dist.read_text('top_level.txt')\n"
        "    if top:\n"
        "        names.update(top.split())\n"
        "    else:\n"
        "        for file in dist.files or []:\n"
        "            head = file.parts[0]\n"
        "            if not head.endswith(('.dist-info', '.data', '.pth')) and head != '..':\n"
        "                names.add(head.removesuffix('.py'))\n"
        "print(json.dumps(sorted(names)))\n",
    )
    assert probe.returncode == 0, probe.stderr
    installed = json.loads(probe.stdout.strip().splitlines()[-1])
    assert {"omnibase_core", "pydantic", "yaml"} <= set(installed)
    nameable = [name for name in installed if node_spec.identifier_error(name, "x") == ""]
    assert len(nameable) > 30
    assert [n for n in nameable if node_spec.package_name_error(n) == ""] == []


# ---------------------------------------------------------------------------------------------
# build_spec validation: every message
# ---------------------------------------------------------------------------------------------
BAD_ANSWERS: list[tuple[dict[str, Any], str]] = [
    ({"service_name": ""}, "service_name must be a snake_case name; got ''"),
    ({"service_name": None}, "service_name must be a snake_case name; got None"),
    (
        {"service_name": "Order-Service"},
        "service_name 'Order-Service' is not snake_case, e.g. order_events",
    ),
    ({"service_name": "9lives"}, "service_name '9lives' is not snake_case"),
    ({"service_name": "order__store"}, "service_name 'order__store' is not snake_case"),
    ({"service_name": "orders_"}, "service_name 'orders_' is not snake_case"),
    ({"service_name": "a" * 41}, "service_name 'aaaaaaaaaaaa... is longer than 40 characters"),
    ({"service_name": "class"}, "service_name 'class' is a Python keyword"),
    ({"service_name": "match"}, "service_name 'match' is a Python keyword"),
    ({"service_name": "json"}, "service_name 'json' would shadow the standard library module"),
    # any module of the standard library, not only the well-known ones
    ({"service_name": "graphlib"}, "'graphlib' would shadow the standard library module"),
    ({"service_name": "this"}, "'this' would shadow the standard library module"),
    (
        {"service_name": "omnibase_core"},
        "service_name 'omnibase_core' would shadow a package the node installs",
    ),
    ({"service_name": "omnibase_extra"}, "'omnibase_extra' would shadow a package the node"),
    ({"service_name": "pydantic"}, "'pydantic' would shadow a package the node installs"),
    # dependencies of the node's dependencies clash too
    ({"service_name": "anyio"}, "'anyio' would shadow a package the node installs"),
    ({"service_name": "yarl"}, "'yarl' would shadow a package the node installs"),
    ({"service_name": "tenacity"}, "'tenacity' would shadow a package the node installs"),
    ({"package_name": "Acme"}, "package_name 'Acme' is not snake_case"),
    (
        {"package_name": "asyncio"},
        "package_name 'asyncio' would shadow the standard library module",
    ),
    ({"package_name": "redis"}, "package_name 'redis' would shadow a package the node installs"),
    ({"package_name": "tests"}, "package_name 'tests' is the name of a folder of the generated"),
    (
        {"node_type": "sink"},
        "node_type must be effect, compute, reducer or orchestrator; got 'sink'",
    ),
    ({"node_type": None}, "node_type must be effect, compute, reducer or orchestrator; got None"),
    ({"operations": []}, "operations must be a non-empty YAML list, e.g. [get_order]; got []"),
    (
        {"operations": "create_order"},
        "operations must be a non-empty YAML list, e.g. [get_order]; got 'create_order'",
    ),
    (
        {"operations": None},
        "operations must be a non-empty YAML list, e.g. [get_order]; got None",
    ),
    ({"operations": {"create_order": 1}}, "operations must be a non-empty YAML list"),
    ({"operations": ["Get-Order"]}, "operation 'Get-Order' is not snake_case"),
    ({"operations": [7]}, "operation must be a snake_case name; got 7"),
    ({"operations": ["b" * 41]}, "is longer than 40 characters"),
    ({"operations": ["import"]}, "operation 'import' is a Python keyword"),
    (
        {"operations": ["run"]},
        "operation 'run' is banned by onex validate; try e.g. run_order",
    ),
    ({"operations": ["get_order", "process"]}, "operation 'process' is banned by onex validate"),
    ({"operations": ["handle"]}, "operation 'handle' would shadow a name the generated code uses"),
    ({"operations": ["print"]}, "operation 'print' would shadow a name the generated code uses"),
    ({"operations": ["get_order", "get_order"]}, "operation 'get_order' is listed twice"),
    ({"features": "caching"}, "features must be a YAML list, e.g. [caching]; got 'caching'"),
    ({"features": {"caching": True}}, "features must be a YAML list, e.g. [caching]; got {"),
    (
        {"features": ["caching", " "]},
        "unknown feature ' '; the known ones are in docs/features.md",
    ),
    ({"features": [{"caching": True}]}, "unknown feature {'caching': T..."),
    (
        {"features": ["retries"]},
        "unknown feature 'retries'; the known ones are in docs/features.md",
    ),
    ({"features": ["caching", "stamping"]}, "stamping: stamps source files (onex tooling)"),
    ({"features": ["strict"]}, "strict: use fail_fast (adds MixinFailFast)"),
    ({"features": ["kafka"]}, "kafka: choose kafka in the integrations question"),
    (
        {"features": ["fail_fast"]},
        "fail_fast needs custom_mixins or no_service_mode (adds MixinFailFast)",
    ),
    ({"features": ["caching", "strict_validation"]}, "strict_validation needs custom_mixins"),
    (
        {"dependencies": ["postgres"]},
        "dependencies must be a YAML mapping, e.g. {redis: '>=7'}; got ['postgres']",
    ),
    (
        {"dependencies": "postgres"},
        "dependencies must be a YAML mapping, e.g. {redis: '>=7'}; got 'postgres'",
    ),
    ({"dependencies": {"postgres": {"version": 15}}}, "dependencies must be a YAML mapping"),
    (
        {"integrations": "kafka"},
        "integrations must be a YAML list, e.g. [kafka]; got 'kafka'",
    ),
    (
        {"integrations": ["kafka", "mongo", "s3"]},
        "integration 'mongo' is not one of postgres, kafka, redis, http, consul",
    ),
    # the operation named like the service gives its completed topic twice
    (
        {"service_name": "orders_effect", "operations": ["orders"]},
        "operation 'orders' gives the node's completed topic twice; rename it",
    ),
    # retry and circuit_breaker guard outbound calls: without an integration making them,
    # there is nothing to guard (kafka and consul have their own reconnect logic)
    (
        {"features": ["circuit_breaker"], "integrations": ["kafka", "consul"]},
        "circuit_breaker needs an outbound integration: postgres, redis or http",
    ),
    ({"features": ["retry"]}, "retry needs an outbound integration: postgres, redis or http"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_ANSWERS)
def test_build_spec_rejects_bad_answers(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as raised:
        spec_for(**overrides)
    assert message in str(raised.value)


def test_build_spec_reports_the_first_bad_answer() -> None:
    with pytest.raises(SpecError, match="service_name"):
        spec_for(service_name="json", node_type="sink", operations=[])


@pytest.mark.parametrize(
    ("port", "ok"),
    [
        (1024, True),
        (8080, True),
        (65535, True),
        (80, False),
        (65536, False),
        (0, False),
        (True, False),
        ("8080", True),  # the question's own type: digits
        ("80", False),
        ("abc", False),
        (" 8080", False),
        ("8080.0", False),
        (8080.0, False),
    ],
)
def test_port_error(port: object, ok: bool) -> None:
    message = node_spec.port_error(port)
    if ok:
        assert message == ""
    else:
        assert message == f"http_port must be a whole number from 1024 to 65535; got {port!r}"


def test_build_spec_normalises_integrations_order_and_defaults() -> None:
    spec = build_spec(
        {
            "service_name": "orders",
            "node_type": "reducer",
            "operations": ["sum_values"],
            "integrations": ["consul", "postgres"],
        }
    )
    assert spec.integrations == ("postgres", "consul")
    assert spec.package_name == "orders"
    assert spec.base.base_class == "ModelServiceReducer"


@pytest.mark.parametrize(
    ("operation", "is_read"),
    [
        ("get_order", True),
        ("list_orders", True),
        ("lookup_customer", True),
        ("count", True),
        ("create_order", False),
        ("getaway", False),
        ("persist_changes", False),
    ],
)
def test_is_read_operation(operation: str, is_read: bool) -> None:
    assert node_spec.is_read_operation(operation) is is_read


# ---------------------------------------------------------------------------------------------
# Decision log
# ---------------------------------------------------------------------------------------------
def test_decision_log_when_answers_follow_the_requirements() -> None:
    answers = {
        **ANSWERS,
        "service_name": "order_store_effect",
        "business_description": "Stores orders and reads them back",
        "domain": "order database",
        "features": ["caching"],
        "integrations": ["postgres", "redis"],
    }
    log = node_spec.decision_log(build_spec(answers), answers)
    assert log == (
        Decision("node_type", "effect", "description mentions reads, stores"),
        Decision(
            "base_class",
            "ModelServiceEffect",
            "convenience wrapper (service, health, metrics mixins pre-composed); "
            "no feature asked for custom composition",
        ),
        # MixinCaching is refused (tests/test_mixins.py checks the reason against core)
        Decision(
            "mixin refused",
            "MixinCaching",
            "feature 'caching': " + node_spec.MIXIN_CATALOGUE.BY_NAME["MixinCaching"].how,
        ),
        Decision(
            "naming",
            "NodeOrderStoreEffect",
            "Node<Name><Type> from service_name 'order_store_effect'",
        ),
        Decision("integration", "postgres", "domain 'database'"),
        Decision("integration", "redis", "features 'caching'"),
    )


def test_decision_log_when_answers_override_the_requirements() -> None:
    answers = {
        **ANSWERS,
        "node_type": "compute",
        "operations": ["score_order"],
        "business_description": "Aggregates order totals",
        "domain": "order database",
        "features": ["custom_mixins", "fail_fast"],
        "integrations": ["http"],
    }
    log = node_spec.decision_log(build_spec(answers), answers)
    assert log[0] == Decision(
        "node_type",
        "compute",
        "answered explicitly; the description suggested reducer "
        "(description mentions aggregates, totals)",
    )
    assert [(d.topic, d.choice) for d in log[1:]] == [
        ("base_class", "NodeCompute"),
        ("mixin", "MixinHealthCheck, MixinMetrics"),
        ("mixin used", "MixinFailFast"),
        ("naming", "NodeOrdersCompute"),
        ("integration", "postgres not generated"),
        ("integration", "http"),
    ]
    assert log[-2].reason == "deselected in the answers, although asked for by domain 'database'"
    assert log[-1].reason == "answered explicitly; no keyword asked for it"


def test_decision_log_without_integrations() -> None:
    answers = {**ANSWERS, "business_description": "Makes customers happy", "domain": "general"}
    log = node_spec.decision_log(build_spec(answers), answers)
    assert log[0].reason == "no node-type keyword in the description; effect is the default"
    assert log[-1] == Decision(
        "integration",
        "none",
        "no keyword in the domain, operations, features or dependencies asks for one",
    )


# ---------------------------------------------------------------------------------------------
# Every message fits one 80-column line (Copier's prompt shows one line of a validator's text)
# ---------------------------------------------------------------------------------------------
LONG = "x" * 200
ODD_VALUES: list[Any] = [
    None, "", " ", LONG, "Order-Service", "a" * 41, "9" * 100, 7, 3.5, True, [], [LONG],
    {LONG: LONG}, ["x"] * 50, "é" * 60, "line\nbreak", "'\"" * 30, object(),
]  # fmt: skip


def every_message() -> list[str]:
    """The message of every validator for every kind of bad input: odd values of every type,
    each keyword, standard-library and framework name, banned or shadowing operation, refused
    or unknown feature, and the answers only build_spec can refuse."""
    names = [
        *ODD_VALUES,
        *keyword.kwlist,
        *keyword.softkwlist,
        *sorted(sys.stdlib_module_names),
        *sorted(node_spec._FRAMEWORK_NAMES),
        *sorted(node_spec._PROJECT_FOLDERS),
        "omnibase_" + "x" * 31,
    ]
    messages = [
        *(node_spec.service_name_error(name) for name in names),
        *(node_spec.package_name_error(name) for name in names),
        *(node_spec.node_type_error(value) for value in ODD_VALUES),
        *(node_spec.port_error(value) for value in [*ODD_VALUES, 80, 70000, "80", "0" * 90]),
        *(node_spec.dependencies_error(value) for value in [*ODD_VALUES, {"a": {"b": LONG}}]),
    ]
    operations = [
        *([op] for op in names),
        *([op] for op in sorted(node_spec._BANNED_FUNCTION_NAMES | node_spec._GENERATED_NAMES)),
        *([op] for op in dir(builtins) if op.islower()),
        ["a" * 40, "a" * 40],
        *ODD_VALUES,
    ]
    messages += [node_spec.operations_error(ops) for ops in operations]
    features = [
        *([f] for f in [*ODD_VALUES, *node_spec.REFUSED_FEATURES, *node_spec.FEATURES]),
        *ODD_VALUES,
    ]
    messages += [node_spec.features_error(value) for value in features]
    messages += [node_spec.integrations_error(v) for v in [*ODD_VALUES, *([v] for v in names)]]
    # build_spec's own check: an operation named like a 40-character service
    for name in ("a" * 40, "b" * 33 + "_effect"):
        with pytest.raises(SpecError) as raised:
            spec_for(service_name=name, operations=[name.removesuffix("_effect")])
        messages.append(str(raised.value))
    for feature in node_spec.RESILIENCE_FEATURES:  # and a resilience feature with no target
        with pytest.raises(SpecError) as raised:
            spec_for(features=[feature], integrations=["kafka", "consul"])
    messages += [node_spec.state_machine_error(raw) for raw in odd_state_machines(names)]
    for raw in ({"node_type": "effect", "features": ["state_machine"]},
                {"node_type": "reducer", "features": ["state_machine"], "operations": ["b" * 40]}):  # fmt: skip
        with pytest.raises(SpecError) as raised:
            spec_for(**raw)
        messages.append(str(raised.value))
    return [message for message in messages if message]


def odd_state_machines(names: list[Any]) -> list[Any]:
    """Bad `state_machine` answers of every kind, with the longest names that pass."""
    a, b = "a" * 40, "b" * 40
    go = "g" * 40

    def edge(source: Any = a, target: Any = b, trigger: Any = go, **extra: Any) -> Any:
        return {"from_state": source, "to_state": target, "trigger": trigger, **extra}

    machines: list[Any] = [*ODD_VALUES, [edge()], {"x" * 90: 1}]
    machines += [{"states": [name], "transitions": [edge()]} for name in names]
    machines += [{"states": [a, b], "transitions": [edge(trigger=name)]} for name in names]
    machines += [
        {"states": value, "transitions": [edge()]} for value in [*ODD_VALUES, [{"x" * 90: 1}]]
    ]
    machines += [{"states": [a, b], "transitions": value} for value in [*ODD_VALUES, [5]]]
    machines += [
        {"states": [a, a], "transitions": [edge()]},
        {"states": [a, b], "initial_state": "c" * 90, "transitions": [edge()]},
        {"states": [a, b], "transitions": [edge(target="c" * 90)]},
        {"states": [a, b], "transitions": [edge(source="c" * 90)]},
        {"states": [a, b], "transitions": [edge(), edge(target=a)]},
        {"states": [a, b], "transitions": [edge(trigger=a)]},
        {"states": [a, b], "transitions": [edge(x=1)]},
        {"states": [a, b], "transitions": [edge(description="\n")]},
        {"states": [a, b, "c" * 40], "transitions": [edge()]},
        {"states": [{"state_name": a, "description": ""}, b], "transitions": [edge()]},
        {"states": [{"state_name": a, "x": 1}, b], "transitions": [edge()]},
        {"states": [a, b], "transitions": [edge()], "state_machine_name": "X"},
        {"states": [a, b], "transitions": [edge()], "description": 5},
    ]
    return machines


def test_every_message_fits_an_80_column_line() -> None:
    messages = every_message()
    too_long = sorted({m for m in messages if len(m) > node_spec.MAX_MESSAGE or "\n" in m})
    assert too_long == []
    # the walk really produced the messages it claims: one of every kind at least
    assert len(set(messages)) > 500
    for fragment in (
        "is not snake_case",
        "is longer than 40",
        "is a Python keyword",
        "would shadow the standard library",
        "would shadow a package",
        "is the name of a folder",
        "must be effect, compute",
        "is banned by onex validate",
        "would shadow a name the generated code uses",
        "is listed twice",
        "unknown feature",
        "is not in core",
        "needs custom_mixins",
        "is not one of postgres",
        "must be a YAML list",
        "must be a YAML mapping",
        "must be a whole number",
        "completed topic twice",
        "state_machine must be a mapping",
        "is not a state",
        "cannot be reached from",
        "leaves state",
        "is also a state name",
        "is not in operations",
        "is for reducers",
        "description must be one line",
    ):
        assert any(fragment in m for m in messages), fragment


# ---------------------------------------------------------------------------------------------
# Orchestrator workflow graphs (issue 11 item 3)
# ---------------------------------------------------------------------------------------------
SAGA: dict[str, Any] = {
    "steps": [
        {"name": "ship_order", "depends_on": ["reserve_stock", "charge_card"]},
        {"name": "reserve_stock", "compensate": "release_stock"},
        {"name": "charge_card", "compensate": "refund_card", "timeout_ms": 5000},
    ],
    "max_retries": 2,
    "timeout_ms": 60000,
}
SAGA_OPERATIONS = ["reserve_stock", "charge_card", "ship_order", "release_stock", "refund_card"]


def orchestrator(**overrides: Any) -> node_spec.NodeSpec:
    return spec_for(node_type="orchestrator", **overrides)


def test_workflow_defaults_to_the_operations_in_order() -> None:
    spec = orchestrator(operations=["check_order", "ship_order", "bill_order"])
    assert [(s.name, s.depends_on) for s in spec.workflow] == [
        ("check_order", ()),
        ("ship_order", ("check_order",)),
        ("bill_order", ("ship_order",)),
    ]
    assert spec.workflow_compensations == ()
    assert spec.workflow_parallel_pair is None
    assert spec.decisions[-1].reason == "no workflow answer: the operations, in order"


def test_workflow_answer_gives_the_graph_in_dependency_order() -> None:
    assert node_spec.workflow_error(SAGA) == ""
    assert node_spec.workflow_operations(SAGA) == SAGA_OPERATIONS
    spec = orchestrator(workflow=SAGA, operations=SAGA_OPERATIONS)
    assert [s.name for s in spec.workflow] == ["reserve_stock", "charge_card", "ship_order"]
    assert spec.workflow[1].timeout_ms == 5000
    assert spec.workflow[0].timeout_ms == node_spec.WorkflowStep.timeout_ms
    assert spec.workflow_compensations == ("release_stock", "refund_card")
    assert spec.workflow_parallel_pair == ("reserve_stock", "charge_card")
    assert spec.workflow_ancestors("ship_order") == ("reserve_stock", "charge_card")
    assert (spec.workflow_max_retries, spec.workflow_timeout_ms) == (2, 60000)
    assert spec.decisions[-1].choice == (
        "reserve_stock, charge_card, ship_order after reserve_stock and charge_card"
    )


def test_other_node_types_have_no_workflow() -> None:
    assert spec_for(node_type="effect").workflow == ()


@pytest.mark.parametrize(
    ("workflow", "message"),
    [
        ({"steps": "a"}, "workflow must be a mapping with a list of steps; got {'steps': 'a'}"),
        ({"steps": []}, "workflow needs at least one step"),
        ({"steps": [{"name": "a"}], "retries": 1}, "workflow: unknown key 'retries'"),
        ({"steps": ["a"]}, "a workflow step must be a mapping with a name; got 'a'"),
        ({"steps": [{"name": "a", "after": ["b"]}]}, "workflow step 'a': unknown key 'after'"),
        ({"steps": [{"name": "a", "depends_on": "b"}]}, "depends_on must be a list of step"),
        ({"steps": [{"name": "Ship"}]}, "workflow step 'Ship' is not snake_case"),
        ({"steps": [{"name": "a"}, {"name": "a"}]}, "workflow step 'a' is listed twice"),
        ({"steps": [{"name": "a", "depends_on": ["b"]}]}, "depends on 'b', which is not a step"),
        ({"steps": [{"name": "a", "depends_on": ["a"]}]}, "form a cycle: a -> a"),
        (
            {
                "steps": [
                    {"name": "a", "depends_on": ["c"]},
                    {"name": "b", "depends_on": ["a"]},
                    {"name": "c", "depends_on": ["b"]},
                ]
            },
            "workflow steps form a cycle: a -> b -> c -> a",
        ),
        ({"steps": [{"name": "a", "compensate": "a"}]}, "'a' cannot be its own compensation"),
        ({"steps": [{"name": "a", "compensate": "do"}]}, "compensation 'do' is banned"),
        ({"steps": [{"name": "a", "timeout_ms": 0}]}, "step 'a' timeout_ms must be 1 to 3600000"),
        ({"steps": [{"name": "a"}], "max_retries": 11}, "workflow max_retries must be 0 to 10"),
        ({"steps": [{"name": "a"}], "timeout_ms": True}, "workflow timeout_ms must be 1000 to"),
    ],
)
def test_workflow_error(workflow: Any, message: str) -> None:
    assert message in node_spec.workflow_error(workflow)
    with pytest.raises(SpecError, match=re.escape(message)):
        orchestrator(workflow=workflow, operations=["a"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"node_type": "effect", "workflow": SAGA},
            "workflow is for orchestrators; node_type is 'effect'",
        ),
        (
            {"node_type": "orchestrator", "workflow": SAGA, "operations": SAGA_OPERATIONS[:-1]},
            "workflow names 'refund_card', which is not in operations",
        ),
        (
            {
                "node_type": "orchestrator",
                "workflow": SAGA,
                "operations": [*SAGA_OPERATIONS, "audit_order"],
            },
            "operation 'audit_order' is neither a step nor a compensation of workflow",
        ),
    ],
)
def test_workflow_must_agree_with_node_type_and_operations(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        spec_for(**overrides)


def test_every_workflow_message_fits_an_80_column_line() -> None:
    long_names = [f"{letter * 38}_x" for letter in "abcd"]
    cycle = {
        "steps": [
            {"name": name, "depends_on": [long_names[i - 1]]} for i, name in enumerate(long_names)
        ]
    }
    workflows: list[Any] = [
        *ODD_VALUES,
        *({"steps": [value]} for value in ODD_VALUES),
        *({"steps": [{"name": value}]} for value in ODD_VALUES),
        *({"steps": [{"name": "a", "compensate": value}]} for value in ODD_VALUES),
        *({"steps": [{"name": "a", "depends_on": [value]}]} for value in ODD_VALUES),
        *({"steps": [{"name": "a", "timeout_ms": value}]} for value in ODD_VALUES),
        *({"steps": [{"name": "a"}], "max_retries": value} for value in ODD_VALUES),
        *({"steps": [{"name": "a"}], LONG: 1} for _ in range(1)),
        {"steps": [{"name": long_names[0], LONG: 1}]},
        {"steps": [{"name": long_names[0], "depends_on": [long_names[1]]}]},
        cycle,
    ]
    messages = [node_spec.workflow_error(w) for w in workflows]
    messages += [
        node_spec.workflow_operations_error(ops, {"steps": [{"name": long_names[0]}]})
        for ops in (["a" * 40], [long_names[0], "b" * 40])
    ]
    messages = [m for m in messages if m]
    assert len(messages) > 60
    assert [m for m in messages if len(m) > node_spec.MAX_MESSAGE or "\n" in m] == []
    assert node_spec.workflow_error(cycle).startswith("workflow steps form a cycle: ")


# State machine (reducers)
# ---------------------------------------------------------------------------------------------
REDUCER = {"service_name": "orders", "node_type": "reducer"}


def test_state_machine_feature_alone_is_the_default_lifecycle() -> None:
    operations = node_spec.default_operations("reducer", {}, ["state_machine"])
    assert operations == ["activate", "suspend", "resume", "complete", "cancel"]
    machine = spec_for(**REDUCER, features=["state_machine"], operations=operations).state_machine
    assert machine is not None
    assert machine.name == "orders_state_machine"
    assert machine.initial_state == "pending"
    assert machine.terminal_states == ("completed", "cancelled")
    assert [t.trigger for t in machine.path_to("suspended")] == ["activate", "suspend"]
    assert machine.path_to("pending") == ()
    # a fresh key can run activate and cancel only
    assert [op for op in operations if machine.runs_from_initial(op)] == ["activate", "cancel"]


def test_state_machine_answer_wins_and_keeps_its_descriptions() -> None:
    raw = {
        "states": ["open", {"state_name": "closed", "description": "Day closed."}],
        "transitions": [
            {"from_state": "open", "to_state": "open", "trigger": "add_receipts"},
            {"from_state": "open", "to_state": "closed", "trigger": "close_day"},
            {"from_state": "closed", "to_state": "open", "trigger": "reset_totals"},
        ],
    }
    assert node_spec.default_operations("reducer", raw, ["state_machine"]) == [
        "add_receipts", "close_day", "reset_totals"
    ]  # fmt: skip
    spec = spec_for(**REDUCER, state_machine=raw, operations=["add_receipts", "close_day",
                                                             "reset_totals", "get_totals"])  # fmt: skip
    machine = spec.state_machine
    assert machine is not None
    assert machine.initial_state == "open"  # the first state
    assert machine.states == (("open", "The open state."), ("closed", "Day closed."))
    assert machine.terminal_states == ()
    assert machine.runs_from_initial("get_totals")  # not a trigger
    assert not machine.runs_from_initial("reset_totals")
    assert machine.first_runnable(["reset_totals", "close_day"]) == "close_day"
    decision = [d for d in spec.decisions if d.topic == "state_machine"]
    assert decision == [
        node_spec.Decision(
            "state_machine", "orders_state_machine: 2 states, 3 transitions",
            "the state_machine answer",
        )
    ]  # fmt: skip


@pytest.mark.parametrize("node_type", node_spec.NODE_TYPES)
def test_no_state_machine_unless_asked(node_type: str) -> None:
    operations = node_spec.default_operations(node_type, {}, [])
    assert operations == node_spec.DEFAULT_OPERATIONS[node_type]
    assert spec_for(node_type=node_type, operations=operations).state_machine is None
    assert node_spec.state_machine_error({}) == ""
    assert node_spec.state_machine_error(None) == ""


# ---------------------------------------------------------------------------------------------
# Facts the templates read instead of recomputing them (issue 11 item 8)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("node_type", "integrations", "record_store", "state_store"),
    [
        ("effect", [], "jsonl", None),
        ("effect", ["postgres", "redis"], "postgres", None),
        ("reducer", [], None, "memory"),
        ("reducer", ["postgres", "redis"], None, "redis"),
        ("compute", ["postgres", "redis"], None, None),
        ("orchestrator", ["postgres", "redis"], None, None),
    ],
)
def test_store_backends(
    node_type: str, integrations: list[str], record_store: str | None, state_store: str | None
) -> None:
    spec = spec_for(
        node_type=node_type,
        operations=list(node_spec.DEFAULT_OPERATIONS[node_type]),
        integrations=integrations,
    )
    assert (spec.record_store, spec.state_store) == (record_store, state_store)


def test_integration_flags_follow_the_answer() -> None:
    for chosen in ([], ["kafka"], ["redis", "consul"], list(node_spec.INTEGRATIONS)):
        spec = spec_for(integrations=chosen)
        flags = {name: getattr(spec, name) for name in node_spec.INTEGRATIONS}
        assert flags == {name: name in chosen for name in node_spec.INTEGRATIONS}


def test_operation_enum_is_named_from_the_stem() -> None:
    assert spec_for().operation_enum == "EnumOrdersOperation"
    spec = spec_for(service_name="order_book_reducer", node_type="reducer", operations=["fold"])
    assert spec.operation_enum == "EnumOrderBookOperation"


def _renders_partial(spec: node_spec.NodeSpec, name: str) -> bool:
    """Whether the file including `name` renders it for this spec (see its condition)."""
    if name == "test_idempotency.py.jinja":  # tests/test_operations.py's include condition
        return bool(spec.record_store or spec.state_store)
    if name == "shared.py.jinja":  # handlers/shared.py exists for the non-effect types only
        return spec.node_type != "effect"
    return True


def test_every_partial_a_template_includes_exists_for_every_node_type() -> None:
    """A template names a per-type body with spec.partial('<name>'); each node type that
    renders it has it."""
    names = {
        match
        for path in (TEMPLATE_ROOT / "template").rglob("*.jinja")
        for match in re.findall(r"spec\.partial\('([^']+)'\)", path.read_text())
    }
    assert "handler_body.py.jinja" in names
    for node_type in node_spec.NODE_TYPES:
        spec = spec_for(
            node_type=node_type, operations=list(node_spec.DEFAULT_OPERATIONS[node_type])
        )
        for name in sorted(names):
            if not _renders_partial(spec, name):
                continue
            assert any((TEMPLATE_ROOT / candidate).is_file() for candidate in spec.partial(name)), (
                f"{node_type}: no {spec.partial(name)}"
            )


@pytest.mark.parametrize(
    ("node_type", "integrations", "names"),
    [
        ("effect", [], ["log_publisher", "jsonl_records"]),
        ("effect", ["postgres", "kafka"], ["postgres", "kafka", "postgres_records"]),
        ("reducer", ["redis", "consul"], ["redis", "consul", "log_publisher", "redis_state"]),
        ("reducer", ["http"], ["http", "log_publisher", "memory_state"]),
        ("compute", list(node_spec.INTEGRATIONS), ["postgres", "redis", "http", "consul", "kafka"]),
    ],
)
def test_resources_table_follows_the_answers(
    node_type: str, integrations: list[str], names: list[str]
) -> None:
    spec = spec_for(
        node_type=node_type,
        operations=list(node_spec.DEFAULT_OPERATIONS[node_type]),
        integrations=integrations,
    )
    assert [resource.name for resource in spec.resources] == names
    modules = [module for module, _ in spec.resource_imports]
    assert modules == sorted(set(modules))


@pytest.mark.parametrize("resource", node_spec.RESOURCES, ids=lambda r: r.name)
def test_each_resource_imports_what_it_builds(resource: node_spec.NodeResource) -> None:
    """Every class or function a resource's __init__ statements name is imported."""
    imported = {
        name
        for _, names in (*resource.imports, *node_spec.NODE_RESOURCES_IMPORTS)
        for name in names
    }
    code = re.sub(r"#.*", "", resource.init)
    called = set(re.findall(r"(?<![.\w])([A-Za-z_]\w*)\(", code)) | set(
        re.findall(r"\b[A-Z][A-Z_]+\b", code)
    )
    assert called - {"self"} <= imported, sorted(called - imported)
    assert resource.start in (None, "local", "external", "optional")
    assert resource.health in (None, "local", "external", "optional")
    assert f"self.{resource.attribute}" in resource.init


@pytest.mark.parametrize("word", node_spec._GENERIC_CLASS_WORDS)
def test_a_service_name_holding_a_generic_class_word_is_refused(word: str) -> None:
    """onex validate --strict refuses these words anywhere in a class name, in any case; the
    service name names the node, model and enum classes (NodeBillingServiceEffect would fail
    the generated project's own checks)."""
    for name in (f"billing_{word.lower()}", f"{word.lower()}_log", f"x{word.lower()}y"):
        assert f"refuses {word!r}" in node_spec.service_name_error(name) or (
            word == "Util" and "refuses 'Utility'" in node_spec.service_name_error(name)
        ), name
    assert node_spec.service_name_error("billing_events") == ""
