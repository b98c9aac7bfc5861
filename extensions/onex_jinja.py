"""Jinja binding for the template: exposes node_spec.py to copier.yml and the templates.

Copier loads this file by path (copier-template-extensions), so node_spec.py is loaded the
same way, from beside it, rather than imported from an installed package.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from copier_template_extensions import ContextHook
from jinja2 import Environment
from jinja2.ext import Extension


def load_sibling(filename: str) -> ModuleType:
    """The module in `filename` beside this file, registered under a name made of its content.

    One Copier process renders several template versions: `copier update` renders the old
    version first, then the new one (three times), each from its own clone, and
    copier-template-extensions executes this file afresh for every `extensions/...:Class`
    entry of every render (it never reuses a loaded extension). A module kept under a fixed
    name leaked the first version's code into the next one: the new questions were validated
    by the old validators. Keyed by a hash of the source, each version gets its own code, and
    the renders of one version share one module.

    Commits before release 0.1.0 registered node_spec as `onex_template_node_spec`; no name
    made here matches it, so an old version rendered in the same process keeps its own code.
    """
    path = Path(__file__).with_name(filename)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    name = f"onex_template_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered while it executes
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]  # a half-executed module must not be found by the next render
        raise
    return module


node_spec = load_sibling("node_spec.py")
free_text = load_sibling("free_text.py")

_CHECKS = {
    "service_name": node_spec.service_name_error,
    "package_name": node_spec.package_name_error,
    "node_type": node_spec.node_type_error,
    "operations": node_spec.operations_error,
    "features": node_spec.features_error,
    "dependencies": node_spec.dependencies_error,
    "integrations": node_spec.integrations_error,
    "http_port": node_spec.port_error,
    "workflow": node_spec.workflow_error,
    "state_machine": node_spec.state_machine_error,
}


def _check(value: object, what: str) -> str:
    """Validator filter: "" when the answer is fine, else the message Copier shows."""
    return str(_CHECKS[what](value))


def _detect(
    domain: object, operations: object, features: object, dependencies: object
) -> list[str]:
    chosen, _ = node_spec.detect_integrations(
        domain if isinstance(domain, str) else "",
        operations if isinstance(operations, list) else [],
        features if isinstance(features, list) else [],
        dependencies if isinstance(dependencies, dict) else {},
    )
    return list(chosen)


def _workflow_operations(default: object, workflow: object) -> object:
    """The default of `operations`: a valid workflow's steps and compensations, else `default`."""
    if workflow in (None, "", {}) or node_spec.workflow_error(workflow):
        return default
    return node_spec.workflow_operations(workflow)


def _check_workflow_operations(operations: object, workflow: object) -> str:
    """Validator filter: "" when `operations` fits the workflow answer (or there is none)."""
    return str(node_spec.workflow_operations_error(operations, workflow))


def _default_operations(
    node_type: object, state_machine: object, features: object, variant: object = None
) -> list[str]:
    # Rendered before the features question is asked: an answer given with -d or --data-file is
    # then still the raw YAML text Copier will parse for the multiselect.
    if isinstance(features, str):
        try:
            features = yaml.safe_load(features)
        except yaml.YAMLError:
            features = []
    return list(node_spec.default_operations(node_type, state_machine, features, variant))


# Template variants: extensions/variants.py, as node_spec loaded it (one table for both).
def _yaml_list(value: object) -> object:
    """A multiselect answer given with -d or --data-file, seen before its question: raw YAML."""
    if isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return []
    return value


def _variant_default(node_type: object, domain: object, answers: dict[str, Any]) -> str:
    """The `variant` default, from the later answers a PRD or -d may already give: its
    integrations (else those its words ask for), operations and state machine."""
    features = _yaml_list(answers.get("features", []))
    chosen = _yaml_list(answers.get("integrations"))
    if not isinstance(chosen, list):
        chosen = _detect(domain, [], features, answers.get("dependencies", {}))
    operations = _yaml_list(answers.get("operations"))
    machine = node_spec.wanted_state_machine(_yaml_list(answers.get("state_machine")), features)
    return str(
        node_spec.variants.select_variant(
            node_type,
            domain,
            chosen,
            operations if isinstance(operations, list) else None,
            node_type == "reducer" and machine not in (None, {}),
        )[0]
    )


def _register_variants(environment: Environment) -> None:
    variants = node_spec.variants
    environment.globals["onex_variant_default"] = _variant_default
    environment.filters["onex_check_variant"] = variants.variant_error
    environment.globals["onex_variant_workflow"] = variants.variant_workflow
    environment.filters["onex_variant_integrations"] = lambda chosen, variant: (
        variants.variant_integrations(chosen, variant, node_spec.INTEGRATIONS)
    )
    environment.globals["onex_variants"] = variants.VARIANTS


class OnexExtension(Extension):
    """Filters and globals used by copier.yml's defaults and validators."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["onex_check"] = _check
        environment.filters["onex_classify"] = lambda text: node_spec.classify_node_type(
            text if isinstance(text, str) else ""
        )[0]
        # Orchestrators: a given workflow names the operations (extensions/node_spec.py).
        environment.filters["onex_workflow_operations"] = _workflow_operations
        environment.filters["onex_check_workflow_operations"] = _check_workflow_operations
        environment.filters["snake_case"] = node_spec.snake_case
        environment.filters["pascal_case"] = node_spec.pascal_case
        environment.filters["kebab_case"] = node_spec.kebab_case
        environment.globals["onex_detect_integrations"] = _detect
        environment.globals["onex_operations_default"] = _default_operations
        environment.globals["onex_is_read_operation"] = node_spec.is_read_operation
        environment.tests["onex_is_read_operation"] = node_spec.is_read_operation
        # Template variants (extensions/variants.py, through node_spec): copier.yml's variant hooks.
        _register_variants(environment)
        # Free text (business_description, domain) into each file format: extensions/free_text.py.
        environment.filters["onex_text_check"] = free_text.text_error
        environment.filters["onex_toml"] = free_text.toml_string
        environment.filters["onex_yaml"] = free_text.yaml_scalar
        environment.filters["onex_docstring"] = free_text.python_docstring
        environment.filters["onex_markdown"] = free_text.markdown_text


# The answers' keys build_spec and decision_log read.
_SPEC_KEYS = (
    "service_name",
    "package_name",
    "node_type",
    "operations",
    "features",
    "dependencies",
    "integrations",
    "business_description",
    "domain",
    "workflow",
    "state_machine",
    "variant",
)


@functools.lru_cache(maxsize=8)
def _spec_and_decisions(answers_json: str) -> tuple[Any, tuple[Any, ...]]:
    answers = json.loads(answers_json)
    spec = node_spec.build_spec(answers)
    return spec, node_spec.decision_log(spec, answers)


class OnexContext(ContextHook):
    """Adds `spec` (a NodeSpec) and its decision log once every answer is known."""

    def hook(self, context: dict[str, Any]) -> None:
        if context.get("_copier_phase") == "prompt" or "operations" not in context:
            return
        # Copier builds a context for every path part and file it renders (~900 per project):
        # derive once per set of answers. Both results are immutable, so sharing them is safe.
        answers = {key: context.get(key) for key in _SPEC_KEYS}
        spec, decisions = _spec_and_decisions(json.dumps(answers, sort_keys=True, default=str))
        context["spec"] = spec
        context["decisions"] = decisions
