"""The requirements model behind the questionnaire, and every decision derived from it.

Pure and deterministic: no Jinja, no Copier, no I/O. Copier reaches these functions through
the thin Jinja binding in ``onex_jinja.py``; the unit tests and the benchmark import them
directly. Each decision returns the reasons it was taken, so the generated README can show a
decision log instead of leaving the user to guess why a node got a base class or integration.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib.util
import keyword
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

NODE_TYPES: tuple[str, ...] = ("effect", "compute", "reducer", "orchestrator")
INTEGRATIONS: tuple[str, ...] = ("postgres", "kafka", "redis", "http", "consul")

# fmt: off
# Names a generated package may not take: the top-level modules a generated project's
# environment installs (every integration chosen; tests/test_node_spec.py compares this with
# a real .venv), and the project's own folders. A package named like one of them would shadow
# it, or be shadowed by it, on import.
_FRAMEWORK_NAMES = frozenset(
    {
        "aiohappyeyeballs", "aiohttp", "aiokafka", "aiosignal", "annotated_types", "anyio",
        "ast_serialize", "async_timeout", "asyncpg", "attr", "attrs", "blake3", "cachebox",
        "certifi", "cffi", "charset_normalizer", "click", "consul", "cryptography", "dateutil",
        "deepdiff", "dependency_injector", "dotenv", "frozenlist", "h11", "httpcore", "httpx",
        "idna", "iniconfig", "jsonschema", "jsonschema_specifications", "librt", "multidict",
        "mypy", "mypy_extensions", "mypyc", "omnibase_core", "orderly_set", "packaging",
        "pathspec", "pluggy", "propcache", "py", "pycparser", "pydantic", "pydantic_core",
        "pydantic_settings", "pygments", "pytest", "pytest_asyncio", "redis", "referencing",
        "requests", "rpds", "ruamel", "ruff", "strictyaml", "tree_sitter", "tree_sitter_python",
        "tenacity", "typing_extensions", "typing_inspection", "tzdata", "urllib3", "yaml", "yarl",
        # the HTTP API's, metrics' and tracing's dependencies (issue 9)
        "google", "jsonschema_path", "lazy_object_proxy", "openapi_schema_validator",
        "openapi_spec_validator", "opentelemetry", "pathable", "prometheus_client",
        "rfc3339_validator", "six", "wrapt",
        # the served node's event loop
        "uvloop",
        # not installed, but the ONEX family, and the generator
        "omnibase_spi", "omnibase_infra", "omnibase_compat", "copier",
    }
)
# Top-level folders of the generated project that pytest and the src layout import from.
_PROJECT_FOLDERS = frozenset({"tests", "src"})
_GENERATED_NAMES = frozenset({"handle", "startup", "shutdown", "main", "nodes", "runtime"})
# omnibase_core's validator bans these as function names ("patterns" check).
_BANNED_FUNCTION_NAMES = frozenset(
    {"process", "execute", "run", "do", "perform", "manage", "control", "work", "operate",
     "action"}
)
# fmt: on
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_MAX_NAME = 40

# fmt: off
# Keyword stems per node type, matched against the words of business_description.
_NODE_TYPE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "orchestrator": ("orchestrat", "coordinat", "workflow", "pipeline", "saga", "route",
                     "routing", "dispatch", "sequenc", "step"),
    "reducer": ("aggregat", "reduc", "summar", "accumulat", "tally", "rollup", "fold",
                "total", "count", "statistic", "collect"),
    "compute": ("comput", "calculat", "transform", "convert", "pars", "scor", "classif",
                "normaliz", "deriv", "format", "validat", "analy", "pure"),
    "effect": ("store", "stor", "save", "writ", "persist", "send", "publish", "fetch",
               "call", "notif", "email", "upload", "delet", "insert", "record", "retriev",
               "read", "quer", "database", "api"),
}

# Integration detection, after the seeds' _detect_required_integrations: which words in the
# domain, operations, features and dependency names ask for which integration.
_INTEGRATION_KEYWORDS: dict[str, tuple[str, ...]] = {
    "postgres": ("postgres", "postgresql", "sql", "database", "db", "persist", "persistence",
                 "store"),
    "kafka": ("kafka", "event", "events", "event_driven", "stream", "streaming", "publish",
              "subscribe", "message", "messaging"),
    "redis": ("redis", "cache", "caching", "cached"),
    "http": ("http", "https", "api", "rest", "webhook", "http_client", "api_client"),
    "consul": ("consul", "discovery", "service_discovery", "registry"),
}

# fmt: on


def _load_sibling(filename: str) -> ModuleType:
    """The module in `filename` beside this file, registered under a name made of its content,
    as onex_jinja.load_sibling registers this module (its docstring says why): Copier loads the
    extensions by path, so a plain import would not find the file, and one Copier process
    renders two template versions on update, so a fixed name would hand the second version the
    first one's tables."""
    path = Path(__file__).with_name(filename)
    name = f"onex_template_{path.stem}_{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses need the module registered while it runs
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


# Every mixin omnibase_core ships, used or refused with the reason (issue 11 item 6).
MIXIN_CATALOGUE = _load_sibling("mixin_catalogue.py")
# Mixins the custom-composition path may add, with the module each lives in (from the
# catalogue; tests/test_node_spec.py checks them against the pinned omnibase_core).
MIXIN_MODULES: dict[str, str] = {
    name: MIXIN_CATALOGUE.BY_NAME[name].import_path
    for name in ("MixinHealthCheck", "MixinMetrics", "MixinFailFast")
}
# The node calls health and metrics APIs, so a custom composition always carries these two.
_REQUIRED_MIXINS: tuple[str, ...] = ("MixinHealthCheck", "MixinMetrics")
_FEATURE_MIXINS: dict[str, str] = {
    "fail_fast": "MixinFailFast",
    "strict_validation": "MixinFailFast",
}
CUSTOM_COMPOSITION_FEATURES: tuple[str, ...] = ("no_service_mode", "custom_mixins")
_NEEDS_COMPOSITION: tuple[str, ...] = ("fail_fast", "strict_validation")

# fmt: off
# The feature catalogue: every feature the template accepts, with what it changes in the
# generated project (docs/features.md shows the same table, tests/test_node_spec.py proves
# each effect). The questionnaire offers them as a multiselect in this order; Copier records
# a multiselect answer in choice order.
FEATURES: dict[str, str] = {
    "event_driven": "integrations default to include kafka",
    "caching": "integrations default to include redis, where the node caches with TTLs",
    "persistence": "integrations default to include postgres",
    "http_client": "integrations default to include http",
    "api_client": "integrations default to include http",
    "service_discovery": "integrations default to include consul",
    "custom_mixins": "Node<Type> plus explicit mixins instead of ModelService<Type>",
    "no_service_mode": "Node<Type> without MixinNodeService: same as custom_mixins",
    "fail_fast": "adds MixinFailFast: no service while a dependency is unhealthy (custom_mixins)",
    "strict_validation": "same as fail_fast",
    "retry": "outbound PostgreSQL, Redis and HTTP calls retry transient errors with backoff",
    "circuit_breaker": "a circuit breaker per outbound dependency fails fast while it is down",
    "state_machine": "reducers: a per-key state machine (default lifecycle, or the answer's)",
    "redaction": "redacts sensitive fields of published events (MixinSensitiveFieldRedaction)",
}
# Feature words of the seeds (the CodeGenerationService's catalogue) that are refused, and
# why; the questionnaire lists them as disabled choices showing the reason.
REFUSED_FEATURES: dict[str, str] = {
    "resilience": "use retry and circuit_breaker",
    "fault_tolerance": "use retry and circuit_breaker",
    "cli": "the node's console script is its command line",
    "command_line": "the node's console script is its command line",
    "canonical_yaml": "core serializes ONEX metadata blocks only",
    "stamping": "stamps source files (onex tooling), not node data",
    "hybrid_execution": "MixinHybridExecution is not in core",
    "workflow": "give an orchestrator the workflow answer instead",
    "strict": "use fail_fast (adds MixinFailFast)",
    "database": "choose postgres in the integrations question",
    "kafka": "choose kafka in the integrations question",
    "redis": "choose redis in the integrations question",
    "discovery": "choose consul in the integrations question",
}
# fmt: on


class SpecError(ValueError):
    """An answer that cannot produce a valid node; the message says which and why."""


@dataclass(frozen=True)
class Decision:
    """One derived choice and why it was made."""

    topic: str
    choice: str
    reason: str


@dataclass(frozen=True)
class EventType:
    """One entry of the event-type catalog."""

    event_type: str  # e.g. "effect.create_record.started"
    topic: str  # e.g. "onex.evt.orders.create-record-started.v1"
    constant: str  # Python constant naming the topic, e.g. "TOPIC_CREATE_RECORD_STARTED"
    category: str  # "operation", "state" or "metric"


@dataclass(frozen=True)
class BaseSelection:
    base_class: str
    base_module: str
    mixins: tuple[str, ...]
    convenience_wrapper: bool
    decisions: tuple[Decision, ...]

    @property
    def imports(self) -> tuple[tuple[str, str], ...]:
        """(module, name) pairs for every class the node declaration names."""
        return (
            (self.base_module, self.base_class),
            *((MIXIN_MODULES[m], m) for m in self.mixins),
        )


@dataclass(frozen=True)
class WorkflowStep:
    """One step of an orchestrator's workflow graph: the operation of the same name."""

    name: str
    depends_on: tuple[str, ...] = ()
    compensate: str | None = None  # the operation that undoes this step, if any
    timeout_ms: int = 30000


@dataclass(frozen=True)
class NodeSpec:
    """Everything the templates need, derived once from the answers."""

    service_name: str
    package_name: str
    node_type: str
    operations: tuple[str, ...]
    integrations: tuple[str, ...]
    stem: str  # service_name without a trailing _<node_type>; names files and models
    node_name: str
    class_name: str
    model_prefix: str
    producer: str
    command_topic: str
    terminal_topic: str
    dlq_topic: str
    env_prefix: str
    onex_node_type: str
    base: BaseSelection
    events: tuple[EventType, ...]
    decisions: tuple[Decision, ...] = field(default=())
    # Features retry / circuit_breaker asked (in that order), and the outbound dependencies
    # their wrapper guards (runtime/resilience.py); both empty without them.
    resilience: tuple[str, ...] = field(default=())
    guarded: tuple[str, ...] = field(default=())
    # A reducer's state machine (see parse_state_machine), or None.
    state_machine: StateMachine | None = None
    # Orchestrators: the workflow graph in dependency order (parse_workflow); () otherwise.
    workflow: tuple[WorkflowStep, ...] = field(default=())
    workflow_max_retries: int = 0
    workflow_timeout_ms: int = 120000
    # Feature redaction: event payloads pass runtime/payload_redaction.py before publishing.
    redaction: bool = False
    # The template variant (extensions/variants.py): which example bodies the node starts with.
    variant: str = "general"

    @property
    def workflow_compensations(self) -> tuple[str, ...]:
        """Operations that undo a step and are not steps themselves, in declaration order."""
        steps = {step.name for step in self.workflow}
        found: list[str] = []
        for step in self.workflow:
            if step.compensate and step.compensate not in steps and step.compensate not in found:
                found.append(step.compensate)
        return tuple(found)

    def workflow_ancestors(self, name: str) -> tuple[str, ...]:
        """Every step `name` depends on, directly or not, in dependency order."""
        by_name = {step.name: step for step in self.workflow}
        seen: set[str] = set()
        pending = list(by_name[name].depends_on)
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(by_name[current].depends_on)
        return tuple(step.name for step in self.workflow if step.name in seen)

    @property
    def workflow_parallel_pair(self) -> tuple[str, str] | None:
        """Two steps neither of which depends on the other (they may run together), or None."""
        for index, first in enumerate(self.workflow):
            for second in self.workflow[index + 1 :]:
                if first.name not in self.workflow_ancestors(second.name):
                    return first.name, second.name
        return None

    def variant_partial(self, template_file: str) -> str:
        """The variant's partial replacing `template_file`'s body, or "" (extensions/variants.py)."""
        return str(variants.partial(self.variant, template_file))

    def topic_for(self, event_type: str) -> str:
        for event in self.events:
            if event.event_type == event_type:
                return event.topic
        raise KeyError(event_type)

    # -----------------------------------------------------------------------------------------
    # Facts the templates test, derived here once (issue 11 item 8). A template asks
    # `spec.kafka`, never `'kafka' in integrations`, and names the operation enum and the
    # store backends through these properties instead of rebuilding them.
    # -----------------------------------------------------------------------------------------
    @property
    def operation_enum(self) -> str:
        """Class name of the node's operation enum (enums/enum_<stem>_operation.py)."""
        return f"Enum{pascal_case(self.stem)}Operation"

    @property
    def postgres(self) -> bool:
        """PostgreSQL is a chosen integration."""
        return "postgres" in self.integrations

    @property
    def kafka(self) -> bool:
        """Kafka is a chosen integration."""
        return "kafka" in self.integrations

    @property
    def redis(self) -> bool:
        """Redis is a chosen integration."""
        return "redis" in self.integrations

    @property
    def http(self) -> bool:
        """The outbound HTTP client is a chosen integration."""
        return "http" in self.integrations

    @property
    def consul(self) -> bool:
        """Consul registration and discovery is a chosen integration."""
        return "consul" in self.integrations

    @property
    def record_store(self) -> str | None:
        """Where an effect keeps its records: 'postgres' with PostgreSQL, else 'jsonl' (a
        local fsynced journal); None for the other node types, which keep no records."""
        if self.node_type != "effect":
            return None
        return "postgres" if self.postgres else "jsonl"

    @property
    def state_store(self) -> str | None:
        """Where a reducer keeps its state: 'redis' with Redis, else 'memory'; None for the
        other node types, which keep no state."""
        if self.node_type != "reducer":
            return None
        return "redis" if self.redis else "memory"

    @property
    def resources(self) -> tuple[NodeResource, ...]:
        """What runtime/node_resources.py holds for these answers, in RESOURCES order: the
        chosen integrations' clients, the event publisher, the record or state store."""
        chosen = {name for name in self.integrations if name != "kafka"}
        chosen.add("kafka" if self.kafka else "log_publisher")
        if self.record_store:
            chosen.add(f"{self.record_store}_records")
        if self.state_store:
            chosen.add(f"{self.state_store}_state")
        return tuple(resource for resource in RESOURCES if resource.name in chosen)

    @property
    def resource_imports(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """runtime/node_resources.py's imports from the package, sorted by module, once each."""
        imports = dict(NODE_RESOURCES_IMPORTS)
        for resource in self.resources:
            imports.update(resource.imports)
        return tuple(sorted(imports.items()))

    def partial(self, name: str) -> list[str]:
        """Where a template file's per-node-type body `name` lives, as candidates for Jinja's
        `{% include %}` (which renders the first that exists): partials/<node_type>/<name>,
        a path from the template root (partials/README.md). A variant's own part, when it
        has one (extensions/variants.py, Variant.parts), goes before it in this list."""
        return list(variants.part_candidates(self.variant, self.node_type, name))

    def record_action(self, operation: str) -> str:
        """An effect operation's example action on records: read, create, update or delete
        (update and delete in the database variant only; extensions/variants.py)."""
        return str(variants.record_action(self.variant, operation, is_read_operation(operation)))

    def routes_events(self, operation: str) -> bool:
        """Whether a kafka variant operation's example routes events, else enriches them."""
        return bool(variants.routes_events(operation))

    def stream_operations(self, routing: bool) -> list[str]:
        """The operations whose kafka variant example routes (routing) or enriches events."""
        return [op for op in self.operations if self.routes_events(op) == routing]

    def record_operations(self, action: str) -> list[str]:
        """The operations whose example does `action` to records (record_action), in order."""
        return [op for op in self.operations if self.record_action(op) == action]

    # Deployment facts (Dockerfile, compose.yaml, .github/workflows/ci.yml, deploy/).
    @property
    def environment(self) -> tuple[EnvironmentVariable, ...]:
        """The variables the chosen integrations read, in integration order."""
        return tuple(v for v in ENVIRONMENT if v.integration in self.integrations)

    @property
    def config_environment(self) -> tuple[EnvironmentVariable, ...]:
        """The non-secret variables (deploy/configmap.yaml)."""
        return tuple(v for v in self.environment if not v.secret)

    @property
    def secret_environment(self) -> tuple[EnvironmentVariable, ...]:
        """The secret variables (the Secret the Deployment reads; README's `kubectl` line)."""
        return tuple(v for v in self.environment if v.secret)

    @property
    def command_topic_partitions(self) -> int:
        return COMMAND_TOPIC_PARTITIONS

    @property
    def service_images(self) -> dict[str, str]:
        """Image of each chosen integration that has a server to run (http's is the user's)."""
        return {name: SERVICE_IMAGES[name] for name in self.integrations if name in SERVICE_IMAGES}

    @property
    def termination_grace_seconds(self) -> int:
        """Kubernetes' wait between SIGTERM and SIGKILL: the whole shutdown, with room.

        With Kafka the node first lets the command in hand finish (the drain timeout), then
        flushes its buffered events (the flush timeout); the margin covers the rest of the
        shutdown (deregistration, closing pools, the final state-change event)."""
        kafka = "kafka" in self.integrations
        shutdown = KAFKA_DRAIN_TIMEOUT_SECONDS + KAFKA_FLUSH_TIMEOUT_SECONDS if kafka else 0
        return int(shutdown) + SHUTDOWN_MARGIN_SECONDS

    # File selection: copier.yml's `_exclude` entries drop the files a project does not get.
    @property
    def excludes_by_condition(self) -> bool:
        """True: this template names its conditional files plainly and drops them with
        conditional `_exclude` entries. On `copier update` Copier applies the new release's
        excludes to its render of the old release too; the entries test this first, so a
        release from before them, whose NodeSpec lacks it, renders its own conditional file
        names unfiltered (docs/architecture.md, "Conditional files")."""
        return True


# ---------------------------------------------------------------------------------------------
# Deployment facts: one place for what the container, CI and Kubernetes files state
# ---------------------------------------------------------------------------------------------
# Defaults of the Kafka settings (integrations/kafka/model_kafka_settings.py renders them).
KAFKA_DRAIN_TIMEOUT_SECONDS = 20.0
KAFKA_FLUSH_TIMEOUT_SECONDS = 10.0
# Shutdown beyond the Kafka drain and flush; also the whole grace period without Kafka
# (Kubernetes' own default).
SHUTDOWN_MARGIN_SECONDS = 30
# Partitions deploy/ assumes the command topic has (README "Deploy" says to create it so).
# The KEDA ScaledObject's maxReplicaCount: a consumer group gives each partition to one
# consumer, so replicas beyond the partition count would sit idle.
COMMAND_TOPIC_PARTITIONS = 6
# Official images of the integrations' servers, pinned to exact releases: compose.yaml's
# services and the CI workflow's service containers (Dependabot proposes newer ones).
SERVICE_IMAGES: dict[str, str] = {
    "kafka": "apache/kafka:3.9.0",
    "consul": "hashicorp/consul:1.20.1",
    "postgres": "postgres:16.4",
    "redis": "redis:7.4.1",
}


@dataclass(frozen=True)
class EnvironmentVariable:
    """A variable of an integration's settings model that a deployment must set."""

    integration: str
    name: str  # without the node's prefix when `prefixed` is False (a conventional name)
    secret: bool  # True: from a Kubernetes Secret, never from a ConfigMap or the manifests
    ci_value: str  # what the CI workflow sets, for its service container ("" when none)
    compose_value: str  # what compose.yaml gives the node container ({package}: package name)
    example: str  # what deploy/ sets (non-secrets) or README shows (secrets)
    prefixed: bool = False

    def variable(self, env_prefix: str) -> str:
        return f"{env_prefix}{self.name}" if self.prefixed else self.name

    def in_compose(self, package_name: str) -> str:
        return self.compose_value.format(package=package_name)


# The settings models (integrations/<name>/model_<name>_settings.py) read these names;
# tests/test_ship.py checks each against the generated models.
ENVIRONMENT: tuple[EnvironmentVariable, ...] = (
    EnvironmentVariable(
        "postgres",
        "DATABASE_URL",
        secret=True,
        ci_value="postgresql://onex:onex-ci-only@localhost:5432/onex",
        compose_value="postgresql://onex:onex-dev-only@postgres:5432/{package}",
        example="postgresql://USER:PASSWORD@postgres:5432/DATABASE",
    ),
    EnvironmentVariable(
        "kafka",
        "KAFKA_BOOTSTRAP_SERVERS",
        secret=False,
        ci_value="localhost:9092",
        compose_value="kafka:29092",
        example="kafka:9092",
    ),
    EnvironmentVariable(
        "redis",
        "REDIS_URL",
        secret=True,
        ci_value="redis://localhost:6379/0",
        compose_value="redis://redis:6379/0",
        example="redis://:PASSWORD@redis:6379/0",
    ),
    EnvironmentVariable(
        "http",
        "HTTP_CLIENT_BASE_URL",
        secret=False,
        ci_value="",  # the upstream is the user's own service: its tests skip in CI
        compose_value="",
        example="http://upstream:8000",
        prefixed=True,
    ),
    EnvironmentVariable(
        "consul",
        "CONSUL_HTTP_ADDR",
        secret=False,
        ci_value="http://localhost:8500",
        compose_value="http://consul:8500",
        example="http://consul:8500",
    ),
    EnvironmentVariable(
        "consul",
        "CONSUL_HTTP_TOKEN",
        secret=True,
        ci_value="",
        compose_value="",  # the development agent has no ACLs
        example="CONSUL-ACL-TOKEN",
    ),
)


# ---------------------------------------------------------------------------------------------
# Naming
# ---------------------------------------------------------------------------------------------
def snake_case(text: str) -> str:
    """'My Node-Name' -> 'my_node_name' (used to derive a default service name)."""
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text))
    return "_".join(w.lower() for w in words)


def pascal_case(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def kebab_case(snake: str) -> str:
    return snake.replace("_", "-")


def _strip_type_suffix(service_name: str, node_type: str) -> str:
    """'orders_effect' + effect -> 'orders', so the class is not NodeOrdersEffectEffect."""
    suffix = f"_{node_type}"
    if service_name.endswith(suffix) and len(service_name) > len(suffix):
        return service_name[: -len(suffix)]
    return service_name


# ---------------------------------------------------------------------------------------------
# Validation: each returns "" when the answer is fine, else a message for the user. Every
# message fits one 80-column line (Copier's prompt shows one line), so answers are quoted
# through _shown, which cuts long ones; tests/test_node_spec.py walks every message.
# ---------------------------------------------------------------------------------------------
MAX_MESSAGE = 80
_SHOWN = 16


def _shown(value: object) -> str:
    """repr(value), cut to at most _SHOWN characters: 'a_very_long_na...'."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def identifier_error(name: object, what: str) -> str:
    """Why `name` cannot be a snake_case Python identifier in generated code, or ""."""
    if not isinstance(name, str) or not name:
        return f"{what} must be a snake_case name; got {_shown(name)}"
    if not _SNAKE.match(name):
        return f"{what} {_shown(name)} is not snake_case, e.g. order_events"
    if len(name) > _MAX_NAME:
        return f"{what} {_shown(name)} is longer than {_MAX_NAME} characters"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"{what} {name!r} is a Python keyword"
    return ""


# Words omnibase_core's naming checker (validation/checker_naming_convention.py) refuses in a
# class name, anywhere and in any case, as too generic: `onex validate --strict` fails on them.
# The service name names the node, model and enum classes, so it must hold none of them.
_GENERIC_CLASS_WORDS: tuple[str, ...] = (
    "Manager", "Handler", "Helper", "Utility", "Util", "Service", "Controller", "Processor",
    "Worker",
)  # fmt: skip


def service_name_error(name: object) -> str:
    if err := identifier_error(name, "service_name"):
        return err
    assert isinstance(name, str)
    return _collision_error(name, "service_name") or _generic_word_error(name)


def _generic_word_error(name: str) -> str:
    """Why the classes named after `name` would fail `onex validate --strict`, or ""."""
    for word in _GENERIC_CLASS_WORDS:
        if word.lower() in name.replace("_", ""):
            return f"service_name {_shown(name)}: onex validate refuses {word!r} in class names"
    return ""


def package_name_error(name: object) -> str:
    if err := identifier_error(name, "package_name"):
        return err
    assert isinstance(name, str)
    return _collision_error(name, "package_name")


def _collision_error(name: str, what: str) -> str:
    # The service name is the default package name, so both are checked.
    if name in sys.stdlib_module_names:
        return f"{what} {_shown(name)} would shadow the standard library module"
    if name in _FRAMEWORK_NAMES or name.startswith("omnibase"):
        return f"{what} {_shown(name)} would shadow a package the node installs"
    if name in _PROJECT_FOLDERS:
        return f"{what} {_shown(name)} is the name of a folder of the generated project"
    return ""


def operations_error(operations: object) -> str:
    if not isinstance(operations, list | tuple) or not operations:
        return (
            f"operations must be a non-empty YAML list, e.g. [get_order]; got {_shown(operations)}"
        )
    seen: set[str] = set()
    for op in operations:
        if err := _operation_name_error(op, "operation"):
            return err
        assert isinstance(op, str)
        if op in seen:
            return f"operation {_shown(op)} is listed twice"
        seen.add(op)
    return ""


def node_type_error(node_type: object) -> str:
    if node_type not in NODE_TYPES:
        return (
            f"node_type must be effect, compute, reducer or orchestrator; got {_shown(node_type)}"
        )
    return ""


def integrations_error(integrations: object) -> str:
    if not isinstance(integrations, list | tuple):
        return f"integrations must be a YAML list, e.g. [kafka]; got {_shown(integrations)}"
    unknown = [i for i in integrations if i not in INTEGRATIONS]
    if unknown:
        return f"integration {_shown(unknown[0])} is not one of {', '.join(INTEGRATIONS)}"
    return ""


def feature_error(feature: object) -> str:
    """Why one feature word is refused, or "" when the catalogue has it."""
    if isinstance(feature, str) and feature in FEATURES:
        return ""
    if isinstance(feature, str) and feature in REFUSED_FEATURES:
        return f"{feature}: {REFUSED_FEATURES[feature]}"
    return f"unknown feature {_shown(feature)}; the known ones are in docs/features.md"


def features_error(features: object) -> str:
    if not isinstance(features, list | tuple):
        return f"features must be a YAML list, e.g. [caching]; got {_shown(features)}"
    for feature in features:
        if err := feature_error(feature):
            return err
    if not any(f in CUSTOM_COMPOSITION_FEATURES for f in features):
        for feature in features:
            if feature in _NEEDS_COMPOSITION:
                return f"{feature} needs custom_mixins or no_service_mode (adds MixinFailFast)"
    return ""


def migrate_features(features: object) -> tuple[list[str], list[str]]:
    """Old answers to `features` that this version refuses -> (features to keep, notes).

    Versions before the catalogue accepted any word. The ones this version refuses never
    changed a generated project beyond the default of `integrations`, which the answers file
    records anyway; nor did fail_fast without a custom composition. Dropping them keeps the
    project as it was. Used by migrations/migrate_features.py on `copier update`.
    """
    if not isinstance(features, list | tuple):
        features = [] if features is None else [features]
    kept: list[str] = []
    notes: list[str] = []
    for feature in features:
        if feature_error(feature):
            known = isinstance(feature, str) and feature in REFUSED_FEATURES
            reason = REFUSED_FEATURES[feature] if known else "unknown to this version"
            notes.append(f"dropped feature {feature!r}: {reason}")
        elif feature not in kept:
            kept.append(feature)
    if not any(f in CUSTOM_COMPOSITION_FEATURES for f in kept):
        for feature in [f for f in kept if f in _NEEDS_COMPOSITION]:
            kept.remove(feature)
            notes.append(f"dropped feature {feature!r}: no effect without custom_mixins")
    return kept, notes


def dependencies_error(dependencies: object) -> str:
    if not isinstance(dependencies, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str | int | float) for k, v in dependencies.items()
    ):
        return (
            "dependencies must be a YAML mapping, e.g. {redis: '>=7'}; "
            f"got {_shown(dependencies)}"
        )
    return ""


def port_error(port: object) -> str:
    # The question is a string (Copier's int cast fails with a bare traceback on "abc"), so a
    # port comes as digits; a PRD file's YAML may still give an int.
    number = int(port) if isinstance(port, str) and re.fullmatch(r"[0-9]+", port) else port
    if isinstance(number, bool) or not isinstance(number, int) or not 1024 <= number <= 65535:
        return f"http_port must be a whole number from 1024 to 65535; got {_shown(port)}"
    return ""


# ---------------------------------------------------------------------------------------------
# Workflow graph (orchestrators): the answer `workflow: {steps: [{name, depends_on, compensate,
# timeout_ms}], max_retries, timeout_ms}`. Empty means the operations in order, each step
# depending on the one before. Steps and compensations are operations of the node.
# ---------------------------------------------------------------------------------------------
_WORKFLOW_KEYS = frozenset({"steps", "max_retries", "timeout_ms"})
_STEP_KEYS = frozenset({"name", "depends_on", "compensate", "timeout_ms"})
WORKFLOW_MAX_RETRIES = 10  # omnibase_core's coordination bound (0-10)
_STEP_TIMEOUT_MS = (1, 3_600_000)
_WORKFLOW_TIMEOUT_MS = (1000, 3_600_000)


def _workflow_given(workflow: object) -> bool:
    """False for the empty answer (None, "", {}): the default graph applies."""
    return workflow not in (None, "", {})


def _operation_name_error(name: object, what: str) -> str:
    """Why `name` cannot name an operation (a step or a compensation), or ""."""
    if err := identifier_error(name, what):
        return err
    assert isinstance(name, str)
    if name in _BANNED_FUNCTION_NAMES:
        return f"{what} {name!r} is banned by onex validate; try e.g. {name}_order"
    if name in _GENERATED_NAMES or hasattr(builtins, name):
        return f"{what} {_shown(name)} would shadow a name the generated code uses"
    return ""


def _whole_number_error(value: object, what: str, bounds: tuple[int, int]) -> str:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"{what} must be {low} to {high}; got {_shown(value)}"
    return ""


def _step_error(step: object) -> str:
    """Why one entry of `steps` is malformed (not how it relates to the others), or ""."""
    if not isinstance(step, Mapping) or "name" not in step:
        return f"a workflow step must be a mapping with a name; got {_shown(step)}"
    if err := _operation_name_error(step["name"], "workflow step"):
        return err
    name = step["name"]
    unknown = sorted(str(key) for key in step if key not in _STEP_KEYS)
    if unknown:
        return f"workflow step {_shown(name)}: unknown key {_shown(unknown[0])}"
    depends_on = step.get("depends_on", [])
    if not isinstance(depends_on, list | tuple) or not all(isinstance(d, str) for d in depends_on):
        return f"workflow step {_shown(name)}: depends_on must be a list of step names"
    compensate = step.get("compensate")
    if compensate is not None:
        if err := _operation_name_error(compensate, "compensation"):
            return err
        if compensate == name:
            return f"workflow step {_shown(name)} cannot be its own compensation"
    if "timeout_ms" in step:
        return _whole_number_error(
            step["timeout_ms"], f"step {_shown(name)} timeout_ms", _STEP_TIMEOUT_MS
        )
    return ""


def _cycle_error(steps: Sequence[Mapping[str, object]]) -> str:
    """'workflow steps form a cycle: a -> b -> a' for the first cycle found, or ""."""
    edges: dict[str, list[str]] = {}
    for step in steps:
        depends_on = step.get("depends_on") or []
        edges[str(step["name"])] = (
            [str(d) for d in depends_on] if isinstance(depends_on, list | tuple) else []
        )
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        path.append(name)
        for dependency in edges[name]:
            if state.get(dependency) == 1:
                return [*path[path.index(dependency) :], dependency]
            if dependency not in state and (cycle := visit(dependency)):
                return cycle
        path.pop()
        state[name] = 2
        return []

    for name in edges:
        if name not in state and (cycle := visit(name)):
            # Shown in dependency order (a -> b: a runs first), cut to fit one line.
            text = " -> ".join(reversed(cycle))
            prefix = "workflow steps form a cycle: "
            room = MAX_MESSAGE - len(prefix)
            return prefix + (text if len(text) <= room else text[: room - 3] + "...")
    return ""


def workflow_error(workflow: object) -> str:
    """Why the `workflow` answer cannot be a workflow graph, or "" (also for the empty answer)."""
    if not _workflow_given(workflow):
        return ""
    if not isinstance(workflow, Mapping) or not isinstance(workflow.get("steps"), list | tuple):
        return f"workflow must be a mapping with a list of steps; got {_shown(workflow)}"
    unknown = sorted(str(key) for key in workflow if key not in _WORKFLOW_KEYS)
    if unknown:
        return f"workflow: unknown key {_shown(unknown[0])}; use steps, max_retries, timeout_ms"
    steps = workflow["steps"]
    if not steps:
        return "workflow needs at least one step, e.g. {steps: [{name: reserve_stock}]}"
    seen: set[str] = set()
    for step in steps:
        if err := _step_error(step):
            return err
        if step["name"] in seen:
            return f"workflow step {_shown(step['name'])} is listed twice"
        seen.add(step["name"])
    for step in steps:
        for dependency in step.get("depends_on", []) or []:
            if dependency not in seen:
                return (
                    f"workflow step {_shown(step['name'])} depends on {_shown(dependency)}, "
                    "which is not a step"
                )
    if err := _cycle_error(steps):
        return err
    retries = workflow.get("max_retries", 0)
    if err := _whole_number_error(retries, "workflow max_retries", (0, WORKFLOW_MAX_RETRIES)):
        return err
    if "timeout_ms" in workflow:
        return _whole_number_error(
            workflow["timeout_ms"], "workflow timeout_ms", _WORKFLOW_TIMEOUT_MS
        )
    return ""


def parse_workflow(workflow: object, operations: Sequence[str]) -> tuple[WorkflowStep, ...]:
    """The steps of a valid `workflow` answer in dependency order (ties: the answer's order);
    for the empty answer, `operations` in order, each depending on the one before."""
    if not _workflow_given(workflow):
        return tuple(
            WorkflowStep(name=op, depends_on=(operations[i - 1],) if i else ())
            for i, op in enumerate(operations)
        )
    assert isinstance(workflow, Mapping)
    pending = [
        WorkflowStep(
            name=str(step["name"]),
            depends_on=tuple(step.get("depends_on", []) or []),
            compensate=step.get("compensate"),
            timeout_ms=int(step.get("timeout_ms", WorkflowStep.timeout_ms)),
        )
        for step in workflow["steps"]
    ]
    ordered: list[WorkflowStep] = []
    placed: set[str] = set()
    while pending:  # the graph is acyclic (workflow_error), so every pass places one
        ready = next(s for s in pending if placed.issuperset(s.depends_on))
        ordered.append(ready)
        placed.add(ready.name)
        pending.remove(ready)
    return tuple(ordered)


def workflow_operations(workflow: object) -> list[str]:
    """Operations a valid, non-empty `workflow` answer names: its steps in dependency order,
    then the compensations that are not steps (the default of `operations`)."""
    steps = parse_workflow(workflow, ())
    names = [step.name for step in steps]
    for step in steps:
        if step.compensate and step.compensate not in names:
            names.append(step.compensate)
    return names


def workflow_operations_error(operations: object, workflow: object) -> str:
    """Why `operations` and a valid `workflow` answer disagree, or "": every step and
    compensation is an operation, and every operation is one of them (handle() runs the
    workflow, so any other operation could never run)."""
    if not _workflow_given(workflow) or workflow_error(workflow):
        return ""
    if not isinstance(operations, list | tuple):
        return ""
    named = workflow_operations(workflow)
    for name in named:
        if name not in operations:
            return f"workflow names {_shown(name)}, which is not in operations"
    for op in operations:
        if op not in named:
            return f"operation {_shown(op)} is neither a step nor a compensation of workflow"
    return ""


# ---------------------------------------------------------------------------------------------
# Classification and detection
# ---------------------------------------------------------------------------------------------
def _words(*texts: object) -> list[str]:
    words: list[str] = []
    for text in texts:
        if isinstance(text, str):
            words.extend(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", text))
    return words


def classify_node_type(description: str) -> tuple[str, Decision]:
    """Pick the node type whose keywords the description mentions most (ties: effect first)."""
    words = _words(description.replace("_", " "))
    scores: dict[str, list[str]] = {t: [] for t in NODE_TYPES}
    for word in words:
        for node_type, stems in _NODE_TYPE_KEYWORDS.items():
            if word.startswith(stems):
                scores[node_type].append(word)
    best = max(NODE_TYPES, key=lambda t: (len(scores[t]), -NODE_TYPES.index(t)))
    if not scores[best]:
        return "effect", Decision(
            "node_type", "effect", "no node-type keyword in the description; effect is the default"
        )
    hits = ", ".join(sorted(set(scores[best])))
    return best, Decision("node_type", best, f"description mentions {hits}")


def detect_integrations(
    domain: str,
    operations: Iterable[str],
    features: Iterable[str],
    dependencies: Mapping[str, object],
) -> tuple[list[str], tuple[Decision, ...]]:
    """Integrations the requirements ask for, in INTEGRATIONS order, with the words that asked."""
    sources = {
        "domain": _tokens([domain]),
        "operations": _tokens(operations),
        "features": _tokens(features),
        "dependencies": _tokens(dependencies.keys()),
    }
    chosen: list[str] = []
    decisions: list[Decision] = []
    for integration in INTEGRATIONS:
        keywords = _INTEGRATION_KEYWORDS[integration]
        hits = [
            f"{source} '{token}'"
            for source, tokens in sources.items()
            for token in tokens
            if token in keywords
        ]
        if hits:
            chosen.append(integration)
            decisions.append(Decision("integration", integration, "; ".join(hits)))
    return chosen, tuple(decisions)


def _tokens(texts: Iterable[object]) -> list[str]:
    """Whole names and their underscore parts: 'store_order' -> store_order, store, order."""
    tokens: list[str] = []
    for text in texts:
        if not isinstance(text, str):
            continue
        for word in re.findall(r"[a-z0-9_]+", text.lower()):
            tokens.append(word)
            tokens.extend(part for part in word.split("_") if part and part != word)
    return tokens


# ---------------------------------------------------------------------------------------------
# Base class and mixins
# ---------------------------------------------------------------------------------------------
def select_base(node_type: str, features: Sequence[str]) -> BaseSelection:
    """ModelService<Type> by default; Node<Type> plus explicit mixins when features ask."""
    kind = node_type.capitalize()
    asked = [f for f in CUSTOM_COMPOSITION_FEATURES if f in features]
    if not asked:
        return BaseSelection(
            base_class=f"ModelService{kind}",
            base_module=f"omnibase_core.nodes.node_service_{node_type}",
            mixins=(),
            convenience_wrapper=True,
            decisions=(
                Decision(
                    "base_class",
                    f"ModelService{kind}",
                    "convenience wrapper (service, health, metrics mixins pre-composed); "
                    "no feature asked for custom composition",
                ),
            ),
        )
    mixins = list(_REQUIRED_MIXINS)
    decisions = [
        Decision(
            "base_class", f"Node{kind}", f"features {', '.join(asked)} ask for custom composition"
        ),
        Decision(
            "mixin", "MixinHealthCheck, MixinMetrics", "the node's health and metrics use them"
        ),
    ]
    for feature in features:
        mixin = _FEATURE_MIXINS.get(feature)
        if mixin and mixin not in mixins:
            mixins.append(mixin)
            entry = MIXIN_CATALOGUE.BY_NAME[mixin]
            reason = f"feature '{feature}': {entry.how}"
            decisions.append(Decision(f"mixin {entry.status}", mixin, reason))
    return BaseSelection(
        base_class=f"Node{kind}",
        base_module=f"omnibase_core.nodes.node_{node_type}",
        mixins=tuple(mixins),
        convenience_wrapper=False,
        decisions=tuple(decisions),
    )


def mixin_decisions(
    features: Sequence[str], operations: Sequence[str], base: BaseSelection
) -> tuple[Decision, ...]:
    """The catalogue's word for every mixin the features (or, as the seeds match them, the
    words of the operations' names) ask for, beyond what select_base already composed: used,
    refused, or not in core, each with its reason."""
    words = [*features, *(word for op in operations for word in op.split("_"))]
    decisions: list[Decision] = []
    for entry in MIXIN_CATALOGUE.asking(words):
        if entry.name in base.mixins:
            continue  # select_base's own decision says why
        word = next(w for w in words if w in entry.asked_by)
        asked = f"feature '{word}'" if word in features else f"operation word '{word}'"
        if isinstance(entry, MIXIN_CATALOGUE.AbsentMixin):
            reason = f"not in omnibase_core {MIXIN_CATALOGUE.CORE_VERSION}; {entry.instead}"
            decisions.append(Decision("mixin refused", entry.name, f"{asked}: {reason}"))
        else:
            decisions.append(Decision(f"mixin {entry.status}", entry.name, f"{asked}: {entry.how}"))
    return tuple(decisions)


# ---------------------------------------------------------------------------------------------
# The resources runtime/node_resources.py opens, closes and health-checks (issue 11 item 8)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeResource:
    """One thing NodeResources holds: its imports, how __init__ builds it, and where the node's
    start-up, shutdown and health checks call it. `start` and `health` are "local" (always,
    before the others), "external" (a server: not in health-check mode), "optional" (the
    attribute may be None: called when it is not) or None (never called)."""

    name: str
    attribute: str  # NodeResources.<attribute>
    imports: tuple[tuple[str, tuple[str, ...]], ...]  # (module under the package, names)
    init: str  # the statements of NodeResources.__init__ that build it, unindented
    start: str | None = None
    stop: bool = False  # stopped by close(), in reverse order of the table
    health: str | None = None
    guarded: bool = False  # wrapped in a Resilience: breaker state in health and metrics


_RESILIENCE_IMPORT = ("runtime.resilience", ("Resilience",))
# In NodeResources.__init__ order: clients, the event publisher, then the stores built on them.
RESOURCES: tuple[NodeResource, ...] = (
    NodeResource(
        name="postgres",
        attribute="db",
        imports=(
            ("integrations.postgres.model_postgres_settings", ("ModelPostgresSettings",)),
            ("integrations.postgres.postgres_pool", ("PostgresPool",)),
            _RESILIENCE_IMPORT,
        ),
        init="""self.db = PostgresPool(
    ModelPostgresSettings(), log, Resilience.for_dependency("postgres", settings, log)
)""",
        start="external",
        stop=True,
        health="external",
        guarded=True,
    ),
    NodeResource(
        name="redis",
        attribute="cache",
        imports=(
            ("integrations.redis.model_redis_settings", ("ModelRedisSettings",)),
            ("integrations.redis.redis_cache", ("RedisCache",)),
            _RESILIENCE_IMPORT,
        ),
        init="""self.cache = RedisCache(
    ModelRedisSettings(), log, Resilience.for_dependency("redis", settings, log)
)""",
        start="external",
        stop=True,
        health="external",
        guarded=True,
    ),
    NodeResource(
        name="http",
        attribute="http",
        imports=(
            ("integrations.http.http_client", ("HttpClient", "http_retry_policy")),
            ("integrations.http.model_http_settings", ("ModelHttpSettings",)),
            _RESILIENCE_IMPORT,
        ),
        init="""http_settings = ModelHttpSettings()
self.http = HttpClient(
    http_settings,
    log,
    Resilience.for_dependency(
        "http", settings, log, retry=http_retry_policy(http_settings)
    ),
)""",
        start="external",
        stop=True,
        health="external",
        guarded=True,
    ),
    NodeResource(
        name="consul",
        attribute="discovery",
        imports=(
            ("integrations.consul.consul_registry", ("ConsulRegistry",)),
            ("integrations.consul.model_consul_settings", ("ModelConsulSettings",)),
        ),
        init="self.discovery = ConsulRegistry(ModelConsulSettings(), log)",
        start="external",
        stop=True,
        health="external",
    ),
    # The event publisher: Kafka's when chosen (closed last, by close_publisher()), else logs.
    NodeResource(
        name="kafka",
        attribute="_kafka",
        imports=(
            ("integrations.kafka.kafka_event_publisher", ("KafkaEventPublisher",)),
            ("integrations.kafka.model_kafka_settings", ("ModelKafkaSettings",)),
        ),
        init="""# An injected bus (RuntimeLocal's, a test's) wins; health-check mode never dials Kafka.
self._kafka = (
    KafkaEventPublisher(ModelKafkaSettings(), log)
    if event_bus is None and not settings.health_check_mode
    else None
)
self.publisher: ProtocolEventPublisher = (
    event_bus if event_bus is not None else self._kafka or LogEventPublisher(log)
)""",
        start="optional",
        health="optional",
    ),
    NodeResource(
        name="log_publisher",
        attribute="publisher",
        imports=(),
        init="""self.publisher: ProtocolEventPublisher = (
    event_bus if event_bus is not None else LogEventPublisher(log)
)""",
    ),
    # Stores (spec.record_store / spec.state_store pick one of each kind).
    NodeResource(
        name="postgres_records",
        attribute="records",
        imports=(("stores.postgres_record_store", ("PostgresRecordStore",)),),
        init="self.records = PostgresRecordStore(self.db)",
        start="external",
    ),
    NodeResource(
        name="jsonl_records",
        attribute="records",
        imports=(("stores.jsonl_record_store", ("RECORDS_FILE", "JsonlRecordStore")),),
        init="self.records = JsonlRecordStore(settings.data_dir / RECORDS_FILE)",
        start="local",
        health="local",
    ),
    NodeResource(
        name="redis_state",
        attribute="state",
        imports=(("stores.redis_state_store", ("RedisStateStore",)),),
        init="self.state = RedisStateStore(self.cache)",
    ),
    NodeResource(
        name="memory_state",
        attribute="state",
        imports=(("stores.memory_state_store", ("MemoryStateStore",)),),
        init="self.state = MemoryStateStore()",
    ),
)
# What node_resources.py imports whatever the resources are.
NODE_RESOURCES_IMPORTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("events.log_event_publisher", ("LogEventPublisher",)),
    ("protocols.protocol_event_publisher", ("ProtocolEventPublisher",)),
    ("runtime.model_node_settings", ("ModelNodeSettings",)),
    ("runtime.node_logging", ("NodeLogger",)),
)


# ---------------------------------------------------------------------------------------------
# Retry and circuit breaker (issue 11 item 4)
# ---------------------------------------------------------------------------------------------
RESILIENCE_FEATURES: tuple[str, ...] = ("retry", "circuit_breaker")
# The integrations whose outbound calls the resilience wrapper guards, in INTEGRATIONS order.
GUARDED_INTEGRATIONS: tuple[str, ...] = ("postgres", "redis", "http")


def select_resilience(
    features: Sequence[str], integrations: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[Decision, ...]]:
    """(resilience features asked, dependencies they guard, decisions); SpecError when a
    resilience feature is asked with no outbound integration for it to guard."""
    asked = tuple(f for f in RESILIENCE_FEATURES if f in features)
    guarded = tuple(i for i in GUARDED_INTEGRATIONS if i in integrations)
    if not asked:
        return (), guarded, ()
    if not guarded:
        raise SpecError(f"{asked[0]} needs an outbound integration: postgres, redis or http")
    where = ", ".join(guarded)
    decisions: list[Decision] = []
    if "retry" in asked:
        decisions.append(
            Decision("resilience", "retry", f"feature 'retry': transient errors of {where}")
        )
    if "circuit_breaker" in asked:
        decisions.append(
            Decision(
                "resilience", "circuit_breaker", f"feature 'circuit_breaker': one each for {where}"
            )
        )
    return asked, guarded, tuple(decisions)


# ---------------------------------------------------------------------------------------------
# Event catalog
# ---------------------------------------------------------------------------------------------
def event_catalog(
    node_type: str, producer: str, operations: Sequence[str]
) -> tuple[EventType, ...]:
    """<type>.<op>.started|completed|failed per operation, then state.changed, metric.recorded."""
    events: list[EventType] = []
    for op in operations:
        for stage in ("started", "completed", "failed"):
            events.append(
                EventType(
                    event_type=f"{node_type}.{op}.{stage}",
                    topic=f"onex.evt.{producer}.{kebab_case(op)}-{stage}.v1",
                    constant=f"TOPIC_{op.upper()}_{stage.upper()}",
                    category="operation",
                )
            )
    events.append(
        EventType(
            f"{node_type}.state.changed",
            f"onex.evt.{producer}.state-changed.v1",
            "TOPIC_STATE_CHANGED",
            "state",
        )
    )
    events.append(
        EventType(
            f"{node_type}.metric.recorded",
            f"onex.evt.{producer}.metric-recorded.v1",
            "TOPIC_METRIC_RECORDED",
            "metric",
        )
    )
    return tuple(events)


# ---------------------------------------------------------------------------------------------
# State machine (reducers): the `state_machine` answer, in the production contract's names
# ---------------------------------------------------------------------------------------------
# fmt: off
# The lifecycle a reducer gets when only the feature `state_machine` is asked.
DEFAULT_STATE_MACHINE: dict[str, object] = {
    "initial_state": "pending",
    "states": ["pending", "active", "suspended", "completed", "cancelled"],
    "transitions": [
        {"from_state": "pending", "to_state": "active", "trigger": "activate"},
        {"from_state": "active", "to_state": "suspended", "trigger": "suspend"},
        {"from_state": "suspended", "to_state": "active", "trigger": "resume"},
        {"from_state": "active", "to_state": "completed", "trigger": "complete"},
        {"from_state": "pending", "to_state": "cancelled", "trigger": "cancel"},
        {"from_state": "suspended", "to_state": "cancelled", "trigger": "cancel"},
    ],
}
# fmt: on
_MACHINE_KEYS = frozenset(
    {"state_machine_name", "description", "initial_state", "states", "transitions"}
)  # fmt: skip
_STATE_KEYS = frozenset({"state_name", "description"})
_TRANSITION_KEYS = frozenset({"from_state", "to_state", "trigger", "description"})


@dataclass(frozen=True)
class Transition:
    """One edge: `trigger` (an operation of the node) moves a key from from_state to to_state."""

    from_state: str
    to_state: str
    trigger: str
    description: str


@dataclass(frozen=True)
class StateMachine:
    """A reducer's per-key state machine, validated (parse_state_machine)."""

    name: str
    description: str
    initial_state: str
    states: tuple[tuple[str, str], ...]  # (state_name, description), in the answer's order
    transitions: tuple[Transition, ...]

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.states)

    @property
    def triggers(self) -> tuple[str, ...]:
        """Each trigger once, in the order the transitions first name it."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    @property
    def terminal_states(self) -> tuple[str, ...]:
        """States no transition leaves."""
        leaving = {t.from_state for t in self.transitions}
        return tuple(name for name in self.state_names if name not in leaving)

    def path_to(self, state: str) -> tuple[Transition, ...]:
        """The shortest run of transitions from the initial state to `state` (generated tests
        walk it to reach a state)."""
        paths: dict[str, tuple[Transition, ...]] = {self.initial_state: ()}
        frontier = [self.initial_state]
        while frontier and state not in paths:
            following: list[str] = []
            for source in frontier:
                for t in self.transitions:
                    if t.from_state == source and t.to_state not in paths:
                        paths[t.to_state] = (*paths[source], t)
                        following.append(t.to_state)
            frontier = following
        return paths[state]

    def runs_from_initial(self, operation: str) -> bool:
        """Whether a key in the initial state can run `operation`: no trigger, or a trigger
        leaving the initial state (generated tests use these on fresh keys)."""
        return operation not in self.triggers or any(
            t.from_state == self.initial_state and t.trigger == operation for t in self.transitions
        )

    def first_runnable(self, operations: Sequence[str]) -> str:
        """The first of `operations` a key in the initial state can run (one always can: the
        initial state reaches every other, so a trigger leaves it)."""
        return next(op for op in operations if self.runs_from_initial(op))


def _one_line(text: object) -> bool:
    """Non-blank printable text of at most 200 characters (it goes into YAML and docstrings)."""
    return isinstance(text, str) and bool(text.strip()) and text.isprintable() and len(text) <= 200


def _machine_state(entry: object, index: int) -> tuple[str, str, str]:
    """(name, description, error) of one entry of `states`: a plain name or a mapping."""
    if isinstance(entry, Mapping):
        unknown = sorted(str(k) for k in entry if k not in _STATE_KEYS)
        if unknown:
            return "", "", f"state_machine state {index + 1}: unknown key {_shown(unknown[0])}"
        name, description = entry.get("state_name"), entry.get("description")
    else:
        name, description = entry, None
    if err := identifier_error(name, "state_machine state"):
        return "", "", err
    assert isinstance(name, str)
    if description is not None and not _one_line(description):
        return "", "", f"state {_shown(name)}: description must be one line of text"
    return name, description.strip() if description else f"The {name} state.", ""


def _machine_transition(entry: object, index: int, states: Sequence[str]) -> Transition | str:
    """One entry of `transitions`, or the error that refuses it."""
    where = f"state_machine transition {index + 1}"
    if not isinstance(entry, Mapping) or not {"from_state", "to_state", "trigger"} <= set(entry):
        return f"{where} needs from_state, to_state and trigger"
    unknown = sorted(str(k) for k in entry if k not in _TRANSITION_KEYS)
    if unknown:
        return f"{where}: unknown key {_shown(unknown[0])}"
    trigger = entry["trigger"]
    if err := operations_error([trigger]):
        return err.replace("operation", "trigger", 1)
    assert isinstance(trigger, str)
    for end in ("from_state", "to_state"):
        if entry[end] not in states:
            return f"trigger {_shown(trigger)}: {end} {_shown(entry[end])} is not a state"
    description = entry.get("description")
    if description is not None and not _one_line(description):
        return f"trigger {_shown(trigger)}: description must be one line of text"
    return Transition(
        from_state=entry["from_state"],
        to_state=entry["to_state"],
        trigger=trigger,
        description=(
            description.strip()
            if description
            else f"{trigger} moves {entry['from_state']} to {entry['to_state']}."
        ),
    )


def parse_state_machine(raw: object, stem: str = "node") -> StateMachine | str:
    """The `state_machine` answer as a StateMachine, or a one-line message refusing it.

    Shape: {initial_state, states: [name | {state_name, description}], transitions:
    [{from_state, to_state, trigger, description?}]} (optionally state_machine_name and
    description). initial_state defaults to the first state. Refused: unknown keys, bad or
    repeated names, a transition naming an unknown state, one trigger leaving one state twice,
    and states the initial state cannot reach.
    """
    if not isinstance(raw, Mapping) or not raw:
        return f"state_machine must be a mapping of states and transitions; got {_shown(raw)}"
    unknown = sorted(str(k) for k in raw if k not in _MACHINE_KEYS)
    if unknown:
        return f"state_machine: unknown key {_shown(unknown[0])}"
    raw_states, raw_transitions = raw.get("states"), raw.get("transitions")
    if not isinstance(raw_states, list | tuple) or not raw_states:
        return f"state_machine states must be a non-empty list; got {_shown(raw_states)}"
    states: list[tuple[str, str]] = []
    for index, entry in enumerate(raw_states):
        name, description, err = _machine_state(entry, index)
        if err:
            return err
        if name in (n for n, _ in states):
            return f"state_machine state {name!r} is listed twice"
        states.append((name, description))
    names = [n for n, _ in states]
    initial = raw.get("initial_state", names[0])
    if initial not in names:
        return f"state_machine initial_state {_shown(initial)} is not one of its states"
    if not isinstance(raw_transitions, list | tuple) or not raw_transitions:
        return f"state_machine transitions must be a non-empty list; got {_shown(raw_transitions)}"
    transitions: list[Transition] = []
    for index, entry in enumerate(raw_transitions):
        transition = _machine_transition(entry, index, names)
        if isinstance(transition, str):
            return transition
        if any(
            (t.from_state, t.trigger) == (transition.from_state, transition.trigger)
            for t in transitions
        ):
            return (
                f"trigger {_shown(transition.trigger)} leaves state "
                f"{_shown(transition.from_state)} twice"
            )
        if transition.trigger in names:
            return f"trigger {_shown(transition.trigger)} is also a state name; rename one"
        transitions.append(transition)
    reached, frontier = {initial}, [initial]
    while frontier:
        state = frontier.pop()
        for t in transitions:
            if t.from_state == state and t.to_state not in reached:
                reached.add(t.to_state)
                frontier.append(t.to_state)
    for name in names:
        if name not in reached:
            return f"state_machine state {_shown(name)} cannot be reached from {_shown(initial)}"
    machine_name = raw.get("state_machine_name", f"{stem}_state_machine")
    if err := identifier_error(machine_name, "state_machine_name"):
        return err
    description = raw.get("description", f"Per-key lifecycle of the {stem} reducer.")
    if not _one_line(description):
        return "state_machine description must be one line of text"
    assert isinstance(initial, str)
    assert isinstance(machine_name, str)
    return StateMachine(
        name=machine_name,
        description=description.strip(),
        initial_state=initial,
        states=tuple(states),
        transitions=tuple(transitions),
    )


def state_machine_error(raw: object) -> str:
    """The question's validator: "" for no answer ({} or null) or a valid state machine."""
    if raw is None or raw == {} or raw == "":
        return ""
    machine = parse_state_machine(raw)
    return machine if isinstance(machine, str) else ""


def wanted_state_machine(raw: object, features: object) -> object:
    """The state machine the answers ask for (raw, unvalidated): the `state_machine` answer,
    else the default lifecycle when the feature is asked, else None."""
    if raw not in (None, {}, ""):
        return raw
    if isinstance(features, list | tuple) and "state_machine" in features:
        return DEFAULT_STATE_MACHINE
    return None


def default_operations(
    node_type: object, state_machine: object, features: object, variant: object = None
) -> list[str]:
    """The `operations` question's default: a state machine's triggers, else the variant's
    examples, else the type's."""
    wanted = wanted_state_machine(state_machine, features)
    if node_type == "reducer" and wanted is not None:
        machine = parse_state_machine(wanted)
        if isinstance(machine, StateMachine):
            return list(machine.triggers)
    if from_variant := variants.variant_operations(variant):
        return from_variant
    return list(DEFAULT_OPERATIONS.get(str(node_type), ["transform_values"]))


def _spec_state_machine(
    answers: Mapping[str, object], node_type: str, stem: str, operations: Sequence[str]
) -> StateMachine | None:
    """The validated state machine of `answers`; SpecError when it cannot be the node's."""
    wanted = wanted_state_machine(answers.get("state_machine"), answers.get("features", []))
    if wanted is None:
        return None
    if node_type != "reducer":
        raise SpecError(f"state_machine is for reducers; node_type is {node_type!r}")
    machine = parse_state_machine(wanted, stem)
    if isinstance(machine, str):
        raise SpecError(machine)
    for trigger in machine.triggers:
        if trigger not in operations:
            raise SpecError(
                f"trigger {_shown(trigger)} is not in operations; triggers are operations"
            )
    return machine


# ---------------------------------------------------------------------------------------------
# The whole spec
# ---------------------------------------------------------------------------------------------
def build_spec(answers: Mapping[str, object]) -> NodeSpec:
    """Validate every answer and derive the node spec; SpecError names the first bad answer."""
    service_name = answers.get("service_name")
    package_name = answers.get("package_name") or service_name
    node_type = answers.get("node_type")
    operations = answers.get("operations")
    features = answers.get("features", [])
    dependencies = answers.get("dependencies", {})
    integrations = answers.get("integrations", [])
    for err in (
        service_name_error(service_name),
        package_name_error(package_name),
        node_type_error(node_type),
        operations_error(operations),
        features_error(features),
        dependencies_error(dependencies),
        integrations_error(integrations),
    ):
        if err:
            raise SpecError(err)
    workflow = answers.get("workflow")
    if err := _workflow_spec_error(workflow, node_type, operations):
        raise SpecError(err)
    # The checks above guarantee these types; the asserts tell the type checker.
    assert isinstance(service_name, str)
    assert isinstance(package_name, str)
    assert isinstance(node_type, str)
    assert isinstance(operations, list | tuple)
    assert isinstance(features, list | tuple)
    assert isinstance(integrations, list | tuple)

    stem = _strip_type_suffix(service_name, node_type)
    producer = kebab_case(package_name)
    base = select_base(node_type, features)
    events = event_catalog(node_type, producer, operations)
    command_topic = f"onex.cmd.{producer}.{kebab_case(stem)}-requested.v1"
    terminal_topic = f"onex.evt.{producer}.{kebab_case(stem)}-completed.v1"
    dlq_topic = f"onex.dlq.{producer}.events.v1"
    topics = [e.topic for e in events] + [terminal_topic]
    duplicates = sorted({t for t in topics if topics.count(t) > 1})
    if duplicates:
        # Only an operation named like the node's stem can repeat a topic: its completed event
        # and the node's terminal topic are both <stem>-completed.
        clash = [op for op in operations if kebab_case(op) == kebab_case(stem)]
        shown = _shown(clash[0]) if clash else _shown(duplicates[0])
        raise SpecError(f"operation {shown} gives the node's completed topic twice; rename it")
    state_machine = _spec_state_machine(answers, node_type, stem, operations)
    variant = _spec_variant(answers, node_type, integrations, operations, state_machine)
    decisions = [*base.decisions, *mixin_decisions(features, operations, base)]
    if state_machine is not None:
        decisions.append(_state_machine_decision(state_machine, answers))
    decisions.append(
        Decision(
            "naming",
            f"Node{pascal_case(stem)}{node_type.capitalize()}",
            f"Node<Name><Type> from service_name '{service_name}'",
        )
    )
    resilience, guarded, resilience_decisions = select_resilience(features, integrations)
    decisions.extend(resilience_decisions)
    if node_type == "orchestrator":
        decisions.append(_workflow_decision(workflow, operations))
    return NodeSpec(
        service_name=service_name,
        package_name=package_name,
        node_type=node_type,
        operations=tuple(operations),
        integrations=tuple(i for i in INTEGRATIONS if i in integrations),
        stem=stem,
        node_name=f"node_{stem}_{node_type}",
        class_name=f"Node{pascal_case(stem)}{node_type.capitalize()}",
        model_prefix=f"Model{pascal_case(stem)}",
        producer=producer,
        command_topic=command_topic,
        terminal_topic=terminal_topic,
        dlq_topic=dlq_topic,
        env_prefix=f"{package_name.upper()}_",
        onex_node_type=f"{node_type.upper()}_GENERIC",
        base=base,
        events=events,
        decisions=tuple(decisions),
        resilience=resilience,
        guarded=guarded,
        state_machine=state_machine,
        **_workflow_fields(workflow, node_type, operations),
        redaction="redaction" in features,
        variant=variant,
    )


def _state_machine_decision(machine: StateMachine, answers: Mapping[str, object]) -> Decision:
    given = answers.get("state_machine") not in (None, {}, "")
    return Decision(
        "state_machine",
        f"{machine.name}: {len(machine.states)} states, {len(machine.transitions)} transitions",
        "the state_machine answer" if given else "feature 'state_machine': the default lifecycle",
    )


def _workflow_spec_error(workflow: object, node_type: object, operations: object) -> str:
    """The `workflow` answer's own errors, then its agreement with node_type and operations."""
    if not _workflow_given(workflow):
        return ""
    if node_type != "orchestrator":
        return f"workflow is for orchestrators; node_type is {_shown(node_type)}"
    return workflow_error(workflow) or workflow_operations_error(operations, workflow)


def _workflow_decision(workflow: object, operations: Sequence[str]) -> Decision:
    steps = parse_workflow(workflow, operations)
    shape = ", ".join(
        f"{step.name} after {' and '.join(step.depends_on)}" if step.depends_on else step.name
        for step in steps
    )
    if _workflow_given(workflow):
        return Decision("workflow", shape, "the workflow answer's steps, in dependency order")
    return Decision("workflow", shape, "no workflow answer: the operations, in order")


def _workflow_fields(
    workflow: object, node_type: str, operations: Sequence[str]
) -> dict[str, object]:
    """NodeSpec's workflow fields: the graph of an orchestrator, nothing for the others."""
    if node_type != "orchestrator":
        return {}
    rules = workflow if isinstance(workflow, Mapping) else {}
    return {
        "workflow": parse_workflow(workflow, operations),
        "workflow_max_retries": int(rules.get("max_retries", NodeSpec.workflow_max_retries)),
        "workflow_timeout_ms": int(rules.get("timeout_ms", NodeSpec.workflow_timeout_ms)),
    }


# ---------------------------------------------------------------------------------------------
# Template variants (extensions/variants.py holds the table and the selection)
# ---------------------------------------------------------------------------------------------
variants = _load_sibling("variants.py")


def _spec_variant(
    answers: Mapping[str, object],
    node_type: str,
    integrations: Sequence[str],
    operations: Sequence[str],
    state_machine: StateMachine | None,
) -> str:
    """The validated `variant` answer (general when absent); SpecError when it cannot fit."""
    variant = answers.get("variant") or variants.GENERAL
    if err := variants.variant_error(variant, node_type, list(integrations)):
        raise SpecError(err)
    assert isinstance(variant, str)
    # The variant's example bodies are written for its operations; a workflow variant's are
    # the steps of its default graph, which a workflow answer may replace.
    # A workflow variant's examples are its default graph, which a workflow answer may replace.
    if not variants.variant_workflow(variant) and not variants.fits_operations(variant, operations):
        examples = variants.variant_operations(variant)
        missing = [op for op in examples if op not in operations]
        raise SpecError(
            f"variant {variant!r} needs its operations {', '.join(examples)}; "
            f"{_shown(missing[0])} is missing (add it, or choose general)"
        )
    if variant != variants.GENERAL and state_machine is not None:
        raise SpecError(
            f"variant {variant!r} keeps its own state; drop state_machine or choose general"
        )
    return variant


def _variant_decision(spec: NodeSpec, answers: Mapping[str, object]) -> Decision:
    summary = variants.VARIANTS[spec.variant].summary
    suggested, why = variants.select_variant(
        spec.node_type,
        answers.get("domain"),
        spec.integrations,
        spec.operations,
        spec.state_machine is not None,
    )
    if spec.variant == suggested:
        return Decision("variant", spec.variant, f"{why}: {summary}")
    return Decision(
        "variant",
        spec.variant,
        f"answered explicitly ({summary}); the requirements suggested {suggested} ({why})",
    )


def decision_log(spec: NodeSpec, answers: Mapping[str, object]) -> tuple[Decision, ...]:
    """Every choice behind `spec`, for the generated README: node type, base class and mixins,
    naming, then each integration. Says when an answer overrode what the requirements'
    words suggested, so the log never claims a reason for something that was not generated."""
    description = answers.get("business_description")
    suggested, classified = classify_node_type(description if isinstance(description, str) else "")
    if spec.node_type == suggested:
        node_type = classified
    else:
        node_type = Decision(
            "node_type",
            spec.node_type,
            f"answered explicitly; the description suggested {suggested} ({classified.reason})",
        )
    domain = answers.get("domain")
    features = answers.get("features")
    dependencies = answers.get("dependencies")
    detected, reasons = detect_integrations(
        domain if isinstance(domain, str) else "",
        spec.operations,
        features if isinstance(features, list | tuple) else (),
        dependencies if isinstance(dependencies, Mapping) else {},
    )
    why = {d.choice: d.reason for d in reasons}
    integrations: list[Decision] = []
    for name in INTEGRATIONS:
        if name in spec.integrations and name in detected:
            integrations.append(Decision("integration", name, why[name]))
        elif name in spec.integrations:
            integrations.append(
                Decision("integration", name, "answered explicitly; no keyword asked for it")
            )
        elif name in detected:
            integrations.append(
                Decision(
                    "integration",
                    f"{name} not generated",
                    f"deselected in the answers, although asked for by {why[name]}",
                )
            )
    if not integrations:
        integrations.append(
            Decision(
                "integration",
                "none",
                "no keyword in the domain, operations, features or dependencies asks for one",
            )
        )
    # The variant, when answered (Copier always records one; answers from before variants
    # existed have none, and mean general).
    variant = (_variant_decision(spec, answers),) if answers.get("variant") else ()
    return (node_type, *variant, *spec.decisions, *integrations)


# fmt: off
# Effect operations whose name starts with one of these verbs read records; the rest write.
READ_VERBS: tuple[str, ...] = ("get", "read", "fetch", "find", "list", "query", "lookup",
                               "load", "search", "count")


def is_read_operation(operation: str) -> bool:
    return operation.split("_", 1)[0] in READ_VERBS


DEFAULT_OPERATIONS: dict[str, list[str]] = {
    "effect": ["create_record", "get_record"],
    "compute": ["normalize_values"],
    "reducer": ["aggregate_values"],
    "orchestrator": ["fulfil_request"],
}
# fmt: on
