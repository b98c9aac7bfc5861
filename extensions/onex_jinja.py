"""Jinja binding for the template: exposes node_spec.py to copier.yml and the templates.

Copier loads this file by path (copier-template-extensions), so node_spec.py is loaded the
same way, from beside it, rather than imported from an installed package.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import json
import marshal
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import yaml
from copier_template_extensions import ContextHook
from jinja2 import Environment, Template
from jinja2.bccache import Bucket, FileSystemBytecodeCache
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


# Compiling templates is most of a copy's time: ~250 path parts and questionnaire strings Copier
# compiles with `from_string` (the answers file's name alone once per path part), and ~60 files
# of Jinja. CompiledTemplates keeps each compiled once.
CACHE_ENV = "ONEX_TEMPLATE_JINJA_CACHE"  # a directory, or "off"; unset: Jinja's default folder
CACHE_PATTERN = "onex-node-template-%s.cache"  # an entry's file name in that folder


def shipped_archive(template_root: Path) -> Path:
    """The compiled entries the template ships for this Python (scripts/compile_templates.py)."""
    return template_root / "compiled" / f"templates-{sys.implementation.cache_tag}.bin"


class CompiledTemplates(Extension):
    """Compiles each string once per copy, and each template file once per machine.

    - Strings: Copier calls `environment.from_string` for every path part, default, validator
      and answers-file name it renders, and Jinja never caches those. One environment serves
      one copy, so its compiled strings are kept for its life; a string with no Jinja in it
      (most path parts and choices) is not compiled at all (_literal_template).
    - Files and strings: a Jinja bytecode cache on disk (Jinja's own default folder, or
      $ONEX_TEMPLATE_JINJA_CACHE), so a second copy, each render of `copier update` and the
      next node generated on the machine load the compiled code instead of compiling again.
      See _SourceKeyedCache for what an entry is keyed by.
    - A machine's first copy: the same entries, compiled when the template was committed
      (compiled/, see shipped_archive), are read when the folder has none. "off" turns both
      caches off.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.from_string = _memoized_from_string(environment)  # type: ignore[method-assign]
        # Jinja's optimizer folds constant expressions at compile time, for templates rendered
        # many times. Copier renders each template once, so folding only moved work to the
        # compile: about a tenth of compiling here (our templates have few constants to fold),
        # and the output is the same.
        environment.optimized = False
        directory = os.environ.get(CACHE_ENV)
        if directory == "off":
            return
        try:
            if directory:
                Path(directory).mkdir(parents=True, exist_ok=True)
            environment.bytecode_cache = _SourceKeyedCache(
                directory or None, shipped_archive(Path(__file__).resolve().parents[1])
            )
        except (OSError, RuntimeError):  # no usable folder (Jinja refuses an unsafe one)
            return  # only the speed-up is lost


def _memoized_from_string(environment: Environment) -> Callable[..., Template]:
    """Environment.from_string, compiling each source once (and loading it from the bytecode
    cache when one is set)."""
    compile_string = environment.from_string
    compiled: dict[str, Template] = {}
    literal_tests: list[Callable[[str], bool]] = []  # made at the first call: see below

    def from_string(
        source: object, globals: dict[str, Any] | None = None, template_class: Any = None
    ) -> Template:
        if not isinstance(source, str) or globals is not None or template_class is not None:
            return compile_string(source, globals, template_class)  # type: ignore[arg-type]
        template = compiled.get(source)
        if template is not None:
            # Extensions' preprocess hooks run before every compilation, and Copier's yield tag
            # resets its state in one; a reused template must not skip that.
            environment.preprocess(source)
            return template
        cache = environment.bytecode_cache
        # A literal runs the preprocess hooks too (as a reused template does, above); one
        # that rewrites it (none of this template's or Copier's does) gets it compiled.
        if not literal_tests:  # every extension is loaded by the time Copier renders
            literal_tests.append(_literal_test(environment))
        if literal_tests[0](source) and environment.preprocess(source) == source:
            template = _literal_template(environment, source)
        elif cache is None:
            template = compile_string(source)
        else:  # what Jinja's from_string does, with the code from the cache
            bucket = cache.get_bucket(environment, None, None, source)  # type: ignore[arg-type]
            if bucket.code is None:
                bucket.code = environment.compile(source)
                cache.set_bucket(bucket)
            template = environment.template_class.from_code(
                environment, bucket.code, environment.make_globals(None), None
            )
        compiled[source] = template
        return template

    return from_string


def _literal_test(environment: Environment) -> Callable[[str], bool]:
    """A test for strings that render as themselves in `environment`: no delimiter and no line
    break (the lexer would normalise it), when no extension filters token streams.

    Three strings in four that Copier renders are such literals (file and folder names,
    choices, "True"), and compiling one costs as much as a short template."""
    if any(
        type(extension).filter_stream is not Extension.filter_stream
        for extension in environment.extensions.values()
    ):
        return lambda source: False
    markers = [
        environment.block_start_string,
        environment.variable_start_string,
        environment.comment_start_string,
        *(p for p in (environment.line_statement_prefix, environment.line_comment_prefix) if p),
        "\n",
        "\r",
    ]
    return lambda source: not any(marker in source for marker in markers)


def _literal_template(environment: Environment, source: str) -> Template:
    """What `environment.from_string(source)` returns for a literal, without compiling it: a
    template whose render function yields the text (the code Jinja would generate), and whose
    render() returns it without building a context: Copier renders every path part with its
    whole context, which runs every context hook (OnexContext's included), though a literal
    reads none of it."""

    def root(context: object) -> Iterator[str]:
        yield source

    namespace = {
        "name": None,
        "__file__": "<template>",
        "blocks": {},
        "debug_info": "",
        "root": root,
    }
    template = _literal_class(environment.template_class).from_module_dict(
        environment, namespace, environment.make_globals(None)
    )
    template.text = source  # type: ignore[attr-defined]
    return template


@functools.cache
def _literal_class(template_class: type[Template]) -> type[Template]:
    """`template_class` (Jinja's Template, or the environment's own), rendering a literal."""

    class LiteralTemplate(template_class):  # type: ignore[misc,valid-type]
        text = ""

        def render(self, *args: Any, **kwargs: Any) -> str:
            return self.text

    return LiteralTemplate


class _SourceKeyedCache(FileSystemBytecodeCache):
    """Jinja's file-system bytecode cache, keyed by what the compiled code depends on.

    Jinja keys an entry by the template's name and absolute file name, and checks its source.
    Copier renders from a fresh clone (a new temporary folder) on every run, so the file name
    is left out; in its place the key holds the source and a fingerprint of the environment
    (Jinja's version, the delimiters and whitespace options, the extensions with a hash of
    their code, the filters and tests with how they are called): two template versions, or
    two Copier versions, never share an entry. Jinja's entries also carry the Python version.
    """

    def __init__(self, directory: str | None, shipped: Path) -> None:
        super().__init__(directory, pattern=CACHE_PATTERN)
        self._fingerprint: str | None = None
        self._shipped_path = shipped
        self._shipped: dict[str, bytes] | None = None  # read at the first miss

    def set_bucket(self, bucket: Bucket) -> None:
        if not self._fingerprint:
            return
        try:
            super().set_bucket(bucket)
        except OSError:  # a full disk or a read-only folder loses the speed-up, nothing else
            return

    def get_bucket(
        self, environment: Environment, name: str | None, filename: str | None, source: str
    ) -> Bucket:
        """The entry of template `name` (None: a string, see _memoized_from_string)."""
        if self._fingerprint is None:  # once every extension is loaded, i.e. at the first file
            self._fingerprint = _environment_fingerprint(environment) or ""
        checksum = self.get_source_checksum(source)
        if not self._fingerprint:  # an extension whose code cannot be read: never cache
            return Bucket(environment, "", checksum)
        key = hashlib.sha256(f"{self._fingerprint}|{name or ''}|{checksum}".encode()).hexdigest()
        bucket = Bucket(environment, key, checksum)
        self.load_bytecode(bucket)
        if bucket.code is None:
            self._load_shipped(bucket)
        if bucket.code is not None:
            # Loading skips compilation, hence the preprocess hooks (see _memoized_from_string).
            environment.preprocess(source, name, filename)
        return bucket

    def _load_shipped(self, bucket: Bucket) -> None:
        """Fill `bucket` from the shipped archive when it holds the entry. An archive that
        cannot be read, or an entry from another Jinja or Python (Jinja checks its header)
        or for another source, leaves the bucket empty: the template is compiled."""
        if self._shipped is None:
            self._shipped = _read_archive(self._shipped_path)
        entry = self._shipped.get(bucket.key)
        if entry is None:
            return
        try:
            bucket.bytecode_from_string(entry)
        except Exception:  # any damage to an entry only loses the speed-up
            bucket.reset()


def _read_archive(path: Path) -> dict[str, bytes]:
    """compiled/'s archive: a zlib-compressed marshal dict of entries by key, else {}."""
    try:
        entries = marshal.loads(zlib.decompress(path.read_bytes()))
    except (OSError, ValueError, EOFError, TypeError, zlib.error):
        return {}
    return entries if isinstance(entries, dict) else {}


def _environment_fingerprint(environment: Environment) -> str | None:
    """A hash of everything in `environment` that changes the code Jinja compiles; None when
    an extension's source cannot be read (its code would then go unchecked)."""
    options = [
        jinja2.__version__,
        type(environment).__module__ + "." + type(environment).__qualname__,
        *(
            _stable_repr(getattr(environment, option))
            for option in (
                "block_start_string",
                "block_end_string",
                "variable_start_string",
                "variable_end_string",
                "comment_start_string",
                "comment_end_string",
                "line_statement_prefix",
                "line_comment_prefix",
                "trim_blocks",
                "lstrip_blocks",
                "newline_sequence",
                "keep_trailing_newline",
                "optimized",
                "autoescape",
                "finalize",
            )
        ),
    ]
    for key, extension in sorted(environment.extensions.items()):
        code = _extension_source(type(extension))
        if code is None:
            return None
        options.append(f"{key}:{hashlib.sha256(code).hexdigest()}")
    for kind, table in (("filter", environment.filters), ("test", environment.tests)):
        options.extend(
            f"{kind}:{name}:{getattr(table[name], 'jinja_pass_arg', None)}"
            for name in sorted(table)
        )
    return hashlib.sha256("\n".join(options).encode()).hexdigest()


def _stable_repr(value: object) -> str:
    """repr(), but a function by its name: its repr holds a memory address."""
    if callable(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value))}"
    return repr(value)


def _extension_source(extension: type) -> bytes | None:
    """The source of the file that defined `extension`, found through its own functions.

    Not through sys.modules: copier-template-extensions registers every version of a template's
    extension file under one module name, so during `copier update` that name may already hold
    the other version's file.
    """
    functions = [
        value
        for cls in extension.__mro__
        if cls is not Extension and cls is not object
        for value in vars(cls).values()
        if inspect.isfunction(value)
    ]
    if not functions:
        return None
    filename = functions[0].__globals__.get("__file__")
    try:
        return Path(filename).read_bytes() if filename else None
    except OSError:
        return None
