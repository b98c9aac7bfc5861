"""Template variants: which set of example operations, models and tests a node starts with.

The seeds' list (codegen upgrade plan, section 6.1): database, api and kafka effects, an ml
compute, an analytics reducer and a workflow orchestrator, plus `general`, the node type's
own examples. Each variant fits one node type. The default follows the seeds' priority:
an integration first (postgres -> database, http -> api, kafka -> kafka), then the domain's
words (ml, analytics, workflow), restricted to the node type; nothing pointing elsewhere
gives `general`.

Pure and deterministic like node_spec.py, which loads this file from beside it (Copier loads
the extensions by path, so neither is an installed package) and wires it into NodeSpec.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

GENERAL = "general"


@dataclass(frozen=True)
class Variant:
    """One variant: the node type it fits, what points at it, and the examples it brings."""

    name: str
    node_type: str | None  # None: every node type (general only)
    summary: str  # one line for the README and the decision log
    integration: str | None = None  # the integration it needs and is chosen by
    words: tuple[str, ...] = ()  # domain words that choose it
    operations: tuple[str, ...] = ()  # the `operations` default; () keeps the type's
    workflow: Mapping[str, object] = field(default_factory=dict)  # orchestrators' default
    # The template files whose body the variant replaces with its own partial,
    # partials/variants/<name>/<file>.jinja (see partial()).
    partials: tuple[str, ...] = ()
    # The node type's parts (partials/<node_type>/<part>) the variant replaces with its own,
    # partials/variants/<name>/<part>, keeping the rest of the file (see part_candidates()).
    parts: tuple[str, ...] = ()


# fmt: off
# In the seeds' priority order: the integration variants first, then the domain ones.
VARIANTS: dict[str, Variant] = {
    GENERAL: Variant(GENERAL, None, "the node type's general examples"),
    "database": Variant(
        "database", "effect",
        "CRUD on records in PostgreSQL: create, read, update, delete, each command applied once",
        integration="postgres",
        operations=("create_record", "get_record", "update_record", "delete_record"),
        parts=("handler_imports.py.jinja", "handler_body.py.jinja", "model_input_fields.py.jinja",
               "test_operations.py.jinja"),
        partials=("README.md",),
    ),
    "api": Variant(
        "api", "effect", "calls the upstream HTTP API through the generated client",
        integration="http", operations=("fetch_resource", "submit_resource"),
        partials=("handler.py", "model_input.py", "model_output.py", "test_operations.py"),
    ),
    "kafka": Variant(
        "kafka", "effect",
        "stream processing: each consumed event enriched, then dropped or routed to a lane",
        integration="kafka", operations=("enrich_event", "route_event"),
        partials=("handler.py", "model_input.py", "model_output.py", "shared.py",
                  "test_operations.py", "README.md"),
    ),
    "ml": Variant(
        "ml", "compute", "inference from a small model file shipped in the package",
        words=("ml", "inference", "model", "models", "predict", "prediction", "classifier"),
        operations=("predict_score",),
        partials=("handler.py", "model_input.py", "model_output.py", "shared.py",
                  "test_operations.py"),
    ),
    "analytics": Variant(
        "analytics", "reducer", "windowed aggregation: ingest amounts, read daily totals",
        words=("analytics", "aggregation", "aggregations", "metrics", "reporting"),
        operations=("ingest_amount", "get_daily_total"),
        partials=("handler.py", "model_input.py", "model_output.py", "shared.py",
                  "test_operations.py"),
    ),
    "workflow": Variant(
        "workflow", "orchestrator",
        "an order saga: reserve stock, charge, ship, confirm; a failure undoes what ran",
        words=("workflow", "workflows", "orchestration", "saga"),
        operations=("reserve_stock", "charge_payment", "ship_order", "send_confirmation",
                    "release_stock", "refund_payment"),
        workflow={
            "steps": [
                {"name": "reserve_stock", "compensate": "release_stock"},
                {"name": "charge_payment", "depends_on": ["reserve_stock"],
                 "compensate": "refund_payment"},
                {"name": "ship_order", "depends_on": ["charge_payment"]},
                # after shipping: the confirmation names the tracking number
                {"name": "send_confirmation", "depends_on": ["ship_order"]},
            ],
        },
        parts=("handler_imports.py.jinja", "handler_body.py.jinja", "model_input_fields.py.jinja",
               "model_output_fields.py.jinja", "shared.py.jinja"),
        partials=("test_operations.py", "README.md"),
    ),
}
# fmt: on


def _words(texts: Iterable[object]) -> list[str]:
    """Lower-case words and their underscore parts: 'ml_inference' -> ml_inference, ml, ..."""
    words: list[str] = []
    for text in texts:
        if isinstance(text, str):
            for word in re.findall(r"[a-z0-9_]+", text.lower()):
                words.append(word)
                words.extend(part for part in word.split("_") if part and part != word)
    return words


def partial(variant: str, template_file: str) -> str:
    """The partial (path from the repository root) replacing `template_file`'s body for
    `variant`, or "" when the variant keeps the node type's own body."""
    if template_file in VARIANTS[variant].partials:
        return f"partials/variants/{variant}/{template_file}.jinja"
    return ""


def part_candidates(variant: str, node_type: str, part: str) -> list[str]:
    """Where a template file's part `part` lives, for `{% include %}` (the first that exists
    renders): the variant's own when it replaces that part, then the node type's."""
    own = [f"partials/variants/{variant}/{part}"] if part in VARIANTS[variant].parts else []
    return [*own, f"partials/{node_type}/{part}"]


# The database variant's CRUD actions by an operation's first word; reads are node_spec's
# READ_VERBS, and any other write creates a record.
UPDATE_VERBS = ("update", "replace", "modify", "change", "edit", "set", "patch", "rename")
DELETE_VERBS = ("delete", "remove", "purge", "drop", "erase", "destroy")


def record_action(variant: str, operation: str, reads: bool) -> str:
    """What an effect operation does to records: read, create, or (the database variant's
    CRUD only) update or delete. `reads`: whether the operation's name reads."""
    verb = operation.split("_", 1)[0]
    if reads:
        return "read"
    if variant == "database" and verb in UPDATE_VERBS:
        return "update"
    if variant == "database" and verb in DELETE_VERBS:
        return "delete"
    return "create"


# The kafka variant's stream operations by their first word: these filter and route an event,
# any other enriches it.
ROUTE_VERBS = ("route", "filter", "dispatch")


def routes_events(operation: str) -> bool:
    """Whether a kafka variant operation's example routes events (else it enriches them)."""
    return operation.split("_", 1)[0] in ROUTE_VERBS


def variants_for(node_type: object) -> tuple[str, ...]:
    """The variants a node type may take, general first."""
    return tuple(v.name for v in VARIANTS.values() if v.node_type in (None, node_type))


def fits_operations(variant: str, operations: Iterable[object] | None) -> bool:
    """Whether given operations (None: not given yet) hold the variant's examples."""
    found = VARIANTS[variant]
    if operations is None:
        return True
    given = set(operations)
    return all(op in given for op in found.operations)


def select_variant(
    node_type: object,
    domain: object,
    integrations: Iterable[object],
    operations: Iterable[object] | None = None,
    state_machine: bool = False,
) -> tuple[str, str]:
    """The default variant of a node type and why: integrations first, then domain words.

    A variant whose examples the given operations lack is passed over, and so is every
    variant of a reducer with a state machine (the variants keep their own state): an answer
    file written before variants existed (a PRD's, or the one `copier update` replays, whose
    recorded operations Copier hands to this default) keeps the examples it was made with."""
    chosen = [i for i in integrations if isinstance(i, str)]
    domain_words = _words([domain])
    for name in variants_for(node_type):
        variant = VARIANTS[name]
        if name == GENERAL or state_machine or not fits_operations(name, operations):
            continue
        if variant.integration and variant.integration in chosen:
            return name, f"integration {variant.integration} on a {node_type} node"
        hits = [w for w in domain_words if w in variant.words]
        if hits:
            return name, f"domain '{hits[0]}' on a {node_type} node"
    return GENERAL, f"nothing in the answers points this {node_type} node at a variant"


def variant_error(variant: object, node_type: object, integrations: object = None) -> str:
    """ "" when `variant` fits the node type (and, given them, the integrations), else one line."""
    if variant not in VARIANTS:
        shown = repr(variant)[:40]
        return f"variant must be one of {', '.join(VARIANTS)}; got {shown}"
    assert isinstance(variant, str)
    fit = VARIANTS[variant].node_type
    if fit is not None and fit != node_type:
        others = ", ".join(variants_for(node_type))
        return f"variant {variant!r} is for {fit} nodes; node_type {node_type} takes {others}"
    needed = VARIANTS[variant].integration
    if needed and isinstance(integrations, list | tuple) and needed not in integrations:
        return f"variant {variant!r} needs the {needed} integration; add it or choose general"
    return ""


def variant_operations(variant: object) -> list[str]:
    """The variant's example operations; [] for general (the node type's own then apply)."""
    found = VARIANTS.get(variant) if isinstance(variant, str) else None
    return list(found.operations) if found else []


def variant_workflow(variant: object) -> dict[str, object]:
    """An orchestrator variant's workflow graph; {} (the operations in order) otherwise."""
    found = VARIANTS.get(variant) if isinstance(variant, str) else None
    return dict(found.workflow) if found else {}


def variant_integrations(
    integrations: Iterable[object], variant: object, order: Iterable[str]
) -> list[str]:
    """`integrations` plus the one the variant needs, in `order` (node_spec.INTEGRATIONS)."""
    found = VARIANTS.get(variant) if isinstance(variant, str) else None
    wanted = {i for i in integrations if isinstance(i, str)}
    if found and found.integration:
        wanted.add(found.integration)
    return [name for name in order if name in wanted]
