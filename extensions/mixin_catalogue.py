"""Every mixin omnibase_core 0.47.57 ships, and what the generated node does with it.

One place for the mixin decisions (issue 11 item 6). Each entry names the feature words that
ask for the mixin (the seeds' "intelligent mixin selection", codegen-upgrade-plan.md 6.2, and
the template's own FEATURES), then either how the generated node uses it and the generated
test that proves it, or why the template refuses it. Refusals were checked against the pinned
core; tests/test_mixins.py re-checks the ones that rest on a core defect, so they fail when
core fixes it. node_spec.py turns the entries into the decision log; docs/features.md shows
the table (`catalogue_markdown()`), and tests/test_mixins.py fails when the page, the entries
and omnibase_core.mixins disagree.

Pure data: no imports beyond the standard library, no I/O (node_spec loads it by path).
"""

from __future__ import annotations

from dataclasses import dataclass

CORE_VERSION = "0.47.57"

# What the template does with a mixin:
USED = "used"  # the generated code calls it; `proof` is the generated test that runs it
REFUSED = "refused"  # never in the node class the template writes beyond what core composes


@dataclass(frozen=True)
class MixinEntry:
    """One class of omnibase_core.mixins and the template's decision about it."""

    name: str
    module: str  # the module of omnibase_core.mixins that defines it
    status: str  # USED or REFUSED
    how: str  # USED: how the node composes and calls it; REFUSED: the reason
    asked_by: tuple[str, ...] = ()  # feature words that ask for it
    proof: str = ""  # USED: the generated test (path in the generated project) that runs it

    @property
    def import_path(self) -> str:
        return f"omnibase_core.mixins.{self.module}"


@dataclass(frozen=True)
class AbsentMixin:
    """A mixin the seeds select that omnibase_core 0.47.57 does not ship."""

    name: str
    asked_by: tuple[str, ...]
    instead: str  # what the generated node does for those words


_WRAPPER = "comes with ModelService<Type>"

# fmt: off
MIXINS: tuple[MixinEntry, ...] = (
    MixinEntry(
        "MixinCaching", "mixin_caching", REFUSED,
        "its L1 is an in-process dict with no size limit (an expired entry leaves only when "
        "its key is read again; with no TTL, never), so a long-running node's memory would "
        "grow with every distinct request; custom composition leaves it out, and the node "
        "caches in Redis instead: context.cache (integrations/redis), every key expiring after "
        "REDIS_CACHE_TTL_SECONDS, where a compute's example handlers keep their results "
        "(handlers/shared.py cache_aside). ModelServiceCompute/Reducer compose it themselves "
        "(the wrapper's own base, not the template's choice); the node calls none of it",
        asked_by=("caching",),
    ),
    MixinEntry(
        "MixinCanonicalYAMLSerializer", "mixin_canonical_serialization", REFUSED,
        "canonicalizes ONEX file metadata blocks only: any other mapping (a node's request, "
        "response or state) fails ModelNodeMetadataBlock validation (extra fields forbidden); "
        "stamping source files is onex tooling's job, not a node's",
        asked_by=("canonical_yaml", "stamping"),
    ),
    MixinEntry(
        "MixinCLIHandler", "mixin_cli_handler", REFUSED,
        "the node's console script is its command line (runtime/service_entry.py: --input, "
        "--health-check, serve); the mixin's main() drives a synchronous process(), a "
        "name onex validate bans, and the node is async",
        asked_by=("cli", "command_line"),
    ),
    MixinEntry(
        "MixinComputeExecution", "mixin_compute_execution", REFUSED,
        "runs contract-declared transformation pipelines; a generated compute node's "
        "operations are the user's handler functions, dispatched by handle()",
    ),
    MixinEntry(
        "MixinContractMetadata", "mixin_contract_metadata", REFUSED,
        "loads node.onex.yaml and an old tool-contract schema; the node reads its contract.yaml "
        "through NodeCoreBase.initialize() and runtime/contract_config.py",
    ),
    MixinEntry(
        "MixinContractPublisher", "mixin_contract_publisher", REFUSED,
        "publishes contract registration and heartbeats on core's event bus for a registry "
        "service; the node registers in Consul (service_discovery) and publishes its own "
        "events through events/node_events.py",
    ),
    MixinEntry(
        "MixinContractStateReducer", "mixin_contract_state_reducer", REFUSED,
        "interprets the old state_transitions subcontract on a synchronous process() (a banned "
        "name); the reducer's state_machine runs in runtime/state_machine.py, atomically per "
        "stream_key in memory or Redis",
        asked_by=("state_machine",),
    ),
    MixinEntry(
        "MixinDebugDiscoveryLogging", "mixin_debug_discovery_logging", REFUSED,
        "debug logging for core's event-bus discovery, which the node does not run; its "
        "discovery is Consul, logged by integrations/consul",
    ),
    MixinEntry(
        "MixinDiscovery", "mixin_discovery", REFUSED,
        "a catalogue of mixins for code generators (reads mixin_metadata.yaml), not a node "
        "capability; this file is the template's catalogue",
    ),
    MixinEntry(
        "MixinDiscoveryResponder", "mixin_discovery_responder", REFUSED,
        "answers broadcasts on core's ProtocolEventBus (subscribe with a node identity to the "
        "discovery command topic), which the node has no implementation of; the node "
        "registers in Consul (integrations/consul), where clients look it up",
        asked_by=("service_discovery", "discovery"),
    ),
    MixinEntry(
        "MixinEffectExecution", "mixin_effect_execution", REFUSED,
        "comes with NodeEffect; its execute_effect() needs an effect subcontract and "
        "ModelEffectInput, while the node's handle() dispatches to the user's handlers; retry "
        "and circuit_breaker are runtime/resilience.py",
    ),
    MixinEntry(
        "MixinEventBus", "mixin_event_bus", REFUSED,
        f"{_WRAPPER} (effect, orchestrator); not called: publish_event() in 0.47.57 sends "
        "nothing on EventBusInmemory and raises TypeError on the wrappers; the node publishes "
        "OnexEnvelopeV1 events through events/node_events.py",
        asked_by=("event_driven",),
    ),
    MixinEntry(
        "MixinEventDrivenNode", "mixin_event_driven_node", REFUSED,
        "registers the node and answers introspection over core's event bus (MixinNodeLifecycle,"
        " MixinEventHandler, introspection mixins), which the node has no implementation of; "
        "event_driven gives it Kafka (integrations/kafka)",
    ),
    MixinEntry(
        "MixinEventHandler", "mixin_event_handler", REFUSED,
        "handles introspection and discovery requests from core's event bus; the node's "
        "commands arrive through its Kafka consumer (integrations/kafka)",
    ),
    MixinEntry(
        "MixinFailFast", "mixin_fail_fast", USED,
        "custom composition adds it for fail_fast and strict_validation: the service calls "
        "require_healthy_dependencies() after start-up, whose require_dependency() raises "
        "DEPENDENCY_FAILED naming an unhealthy dependency, so it exits instead of serving "
        "degraded; its fail_fast() decorator is not used (sys.exit on any error)",
        asked_by=("fail_fast", "strict_validation", "strict"),
        proof="tests/test_fail_fast.py",
    ),
    MixinEntry(
        "MixinFSMExecution", "mixin_fsm_execution", REFUSED,
        "comes with NodeReducer; not called: it keeps one current state per node instance "
        "(self._fsm_state), while the reducer's state_machine keeps one per stream_key, "
        "atomically in memory or Redis, across replicas (runtime/state_machine.py)",
        asked_by=("state_machine",),
    ),
    MixinEntry(
        "MixinHandlerRouting", "mixin_handler_routing", REFUSED,
        "comes with NodeEffect/Compute/Orchestrator; not called: the node routes each "
        "operation to its handler from contract.yaml's handler_routing itself "
        "(operation_routes.py), with typed models",
    ),
    MixinEntry(
        "MixinHashComputation", "mixin_hash_computation", REFUSED,
        "hashes ONEX file metadata blocks only (asserts self is a NodeMetadataBlock); stamping "
        "source files is onex tooling's job, not a node's",
        asked_by=("stamping",),
    ),
    MixinEntry(
        "MixinHealthCheck", "mixin_health_check", USED,
        "in ModelService<Type> and every custom composition: get_health_checks() lists the "
        "lifecycle check and each open resource's; /health and --health-check call "
        "health_check_async()",
        proof="tests/test_node_runtime.py",
    ),
    MixinEntry(
        "MixinIntrospectFromContract", "mixin_introspect_from_contract", REFUSED,
        "introspect() refuses classes outside omnibase_core/omnibase_spi/omnibase (its "
        "namespace allowlist); the node's package is the user's",
    ),
    MixinEntry(
        "MixinNodeIntrospection", "mixin_introspection", REFUSED,
        "the --introspect protocol of core's CLI tools; the node describes itself in "
        "contract.yaml and answers /health and /metrics",
    ),
    MixinEntry(
        "MixinIntrospectionPublisher", "mixin_introspection_publisher", REFUSED,
        "publishes introspection events on core's event bus for its discovery; the node "
        "registers in Consul instead",
    ),
    MixinEntry(
        "MixinLazyEvaluation", "mixin_lazy_evaluation", REFUSED,
        "defers expensive conversions inside core's models; the node's models are plain "
        "pydantic models with nothing expensive to defer",
    ),
    MixinEntry(
        "MixinLazyValue", "mixin_lazy_value", REFUSED,
        "the value wrapper MixinLazyEvaluation uses, not a node mixin",
    ),
    MixinEntry(
        "MixinMetrics", "mixin_metrics", USED,
        "in ModelService<Type> and every custom composition: the operation metrics count "
        "each outcome with increment_counter() (runtime/operation_metrics.py)",
        proof="tests/test_node_runtime.py",
    ),
    MixinEntry(
        "MixinNodeExecutor", "mixin_node_executor", REFUSED,
        "runs the node as a TOOL_INVOCATION executor over core's event bus, calling the banned "
        "run(); the node's service is runtime/service_entry.py",
    ),
    MixinEntry(
        "MixinNodeIdFromContract", "mixin_node_id_from_contract", REFUSED,
        "reads node_id from node.onex.yaml, by default for omnibase_* modules only; "
        "NodeCoreBase gives the node its id",
    ),
    MixinEntry(
        "MixinNodeLifecycle", "mixin_node_lifecycle", REFUSED,
        "registers and deregisters over core's event bus; the node's lifecycle is its own "
        "startup()/shutdown() with state-changed events",
    ),
    MixinEntry(
        "MixinNodeService", "mixin_node_service", REFUSED,
        f"{_WRAPPER}; not called: start_service_mode() recurses in 0.47.57 (the node overrides "
        "_publish_introspection_event) and its subscription is never awaited; the console "
        "script serves the node; no_service_mode leaves the mixin out",
    ),
    MixinEntry(
        "MixinNodeSetup", "mixin_node_setup", REFUSED,
        "contract and metadata paths for the old node.onex.yaml layout; the node's "
        "contract.yaml sits beside its class and NodeCoreBase loads it",
    ),
    MixinEntry(
        "MixinNodeTypeValidator", "mixin_node_type_validator", REFUSED,
        "a field validator for core's contract models, not a node mixin",
    ),
    MixinEntry(
        "MixinSensitiveFieldRedaction", "mixin_redaction", USED,
        "runtime/payload_redaction.py redacts every event payload before it is published "
        "(fields named like password, token, secret, api_key..., at any depth)",
        asked_by=("redaction",),
        proof="tests/test_payload_redaction.py",
    ),
    MixinEntry(
        "MixinRequestResponseIntrospection", "mixin_request_response_introspection", REFUSED,
        "answers real-time introspection requests on core's event bus, which the node has no "
        "implementation of; /health and /metrics answer those questions",
    ),
    MixinEntry(
        "MixinSerializable", "mixin_serializable", REFUSED,
        "a protocol for ONEX file/block I/O; the node's models serialize with pydantic",
    ),
    MixinEntry(
        "MixinServiceRegistry", "mixin_service_registry", REFUSED,
        "makes a node a registry of tools over core's event bus; the node is a service that "
        "registers in Consul, not a registry",
    ),
    MixinEntry(
        "MixinToolExecution", "mixin_tool_execution", REFUSED,
        "answers tool.execution.request events from core's CLI over its event bus; the node's "
        "requests come through handle(), HTTP and Kafka",
    ),
    MixinEntry(
        "MixinTraceCapture", "mixin_trace_capture", REFUSED,
        "records traces of run_traced() calls in an in-memory store; the node exports "
        "OpenTelemetry spans of every request (runtime/tracing.py)",
    ),
    MixinEntry(
        "MixinTruncationValidation", "mixin_truncation_validation", REFUSED,
        "a validator for core's snapshot models (truncation sizes), not a node mixin",
    ),
    MixinEntry(
        "MixinWorkflowExecution", "mixin_workflow_execution", REFUSED,
        "comes with NodeOrchestrator; not called: it computes ModelActions for other nodes "
        "to run, while the orchestrator runs its own operations as the contract's workflow "
        "graph, with per-step timeouts and compensation (runtime/workflow_graph.py)",
    ),
    MixinEntry(
        "MixinYAMLSerialization", "mixin_yaml_serialization", REFUSED,
        "to_yaml_block() in 0.47.57 writes !!python/object tags of core's ModelSchemaValue "
        "instead of the model's fields (tried on a node's response; yaml.safe_load refuses it)",
        asked_by=("serialize", "yaml"),
    ),
)

ABSENT: tuple[AbsentMixin, ...] = (
    AbsentMixin("MixinRetry", ("retry", "resilience"),
                "retry: runtime/resilience.py retries transient errors (tenacity)"),
    AbsentMixin("MixinCircuitBreaker", ("circuit_breaker", "fault_tolerance"),
                "circuit_breaker: runtime/resilience.py, one ModelCircuitBreaker per dependency"),
    AbsentMixin("MixinHybridExecution", ("hybrid_execution", "workflow"),
                "an orchestrator's workflow answer: runtime/workflow_graph.py"),
    AbsentMixin("MixinEventListener", ("listen", "subscribe"),
                "the Kafka command consumer (integrations/kafka) listens"),
)
# fmt: on

BY_NAME: dict[str, MixinEntry] = {entry.name: entry for entry in MIXINS}


def asking(words: tuple[str, ...] | list[str]) -> tuple[MixinEntry | AbsentMixin, ...]:
    """Entries (shipped or absent) that any of `words` asks for, in catalogue order."""
    found: list[MixinEntry | AbsentMixin] = []
    for entry in (*MIXINS, *ABSENT):
        if any(word in entry.asked_by for word in words):
            found.append(entry)
    return tuple(found)


def catalogue_markdown() -> str:
    """The table docs/features.md shows between its catalogue markers."""
    lines = [
        f"| mixin (omnibase_core {CORE_VERSION}) | asked by | decision | how, or why not |",
        "| --- | --- | --- | --- |",
    ]
    for entry in MIXINS:
        words = ", ".join(f"`{w}`" for w in entry.asked_by) or "-"
        how = entry.how + (f" (proof: `{entry.proof}`)" if entry.proof else "")
        lines.append(f"| `{entry.name}` | {words} | {entry.status} | {how} |")
    for absent in ABSENT:
        words = ", ".join(f"`{w}`" for w in absent.asked_by)
        lines.append(f"| `{absent.name}` | {words} | not in core | {absent.instead} |")
    return "\n".join(lines) + "\n"
