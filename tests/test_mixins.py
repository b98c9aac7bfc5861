"""The mixin catalogue (extensions/mixin_catalogue.py, issue 11 item 6) against the pinned core.

The tests marked `xdist_group("default_project")` run probes with the python of one generated
project's .venv, where omnibase_core is installed: they enumerate omnibase_core.mixins, and
re-check the refusals that rest on a defect of core, so they fail once core fixes it (then
the mixin may become usable). The others check the catalogue, the decision log and
docs/features.md against each other.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import node_spec
import pytest
from conftest import TEMPLATE_ROOT, run_python

CATALOGUE = node_spec.MIXIN_CATALOGUE
FEATURES_PAGE = TEMPLATE_ROOT / "docs" / "features.md"
BEGIN, END = "<!-- mixin catalogue: begin -->\n", "<!-- mixin catalogue: end -->\n"

# Every class named Mixin* that a module of omnibase_core.mixins defines, as (module, name).
ENUMERATE_CORE_MIXINS = """
import importlib, inspect, json, pkgutil
from importlib.metadata import version
import omnibase_core.mixins as package
found = []
for info in pkgutil.iter_modules(package.__path__):
    module = importlib.import_module(f"omnibase_core.mixins.{info.name}")
    for name, value in vars(module).items():
        if inspect.isclass(value) and name.startswith("Mixin") and value.__module__ == module.__name__:
            found.append([info.name, name])
print(json.dumps({"core": version("omnibase-core"), "mixins": sorted(found)}))
"""


@pytest.mark.slow
@pytest.mark.xdist_group("default_project")
def test_catalogue_is_every_mixin_the_pinned_core_ships(default_project: Path) -> None:
    probe = run_python(default_project, ENUMERATE_CORE_MIXINS)
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["core"] == CATALOGUE.CORE_VERSION
    shipped = {(module, name) for module, name in result["mixins"]}
    catalogued = {(entry.module, entry.name) for entry in CATALOGUE.MIXINS}
    assert sorted(shipped - catalogued) == [], "mixins core ships that the catalogue misses"
    assert sorted(catalogued - shipped) == [], "catalogue entries that name no real mixin"
    assert len(shipped) >= 40
    # the seeds' mixins the catalogue calls absent really are
    names = {name for _, name in shipped}
    assert not {absent.name for absent in CATALOGUE.ABSENT} & names


# Each refusal here rests on what core does today; the probe prints what it saw.
PROBE_REFUSALS = """
import json, yaml
from pydantic import BaseModel
from omnibase_core.mixins.mixin_yaml_serialization import MixinYAMLSerialization
from omnibase_core.mixins.mixin_canonical_serialization import MixinCanonicalYAMLSerializer
from omnibase_core.mixins.mixin_hash_computation import MixinHashComputation
from omnibase_core.mixins.mixin_fsm_execution import MixinFSMExecution
from omnibase_core.mixins.mixin_workflow_execution import MixinWorkflowExecution
from omnibase_core.mixins.mixin_caching import MixinCaching
import omnibase_core.mixins.mixin_caching as caching_module
import asyncio, inspect, time, types
from omnibase_core.nodes.node_reducer import NodeReducer
from omnibase_core.nodes.node_orchestrator import NodeOrchestrator
from omnibase_core.nodes.node_service_compute import ModelServiceCompute
from omnibase_core.nodes.node_service_effect import ModelServiceEffect
from omnibase_core.nodes.node_service_orchestrator import ModelServiceOrchestrator
from omnibase_core.nodes.node_service_reducer import ModelServiceReducer

class ModelResponse(MixinYAMLSerialization, BaseModel):
    name: str
    count: int

seen = {}
text = ModelResponse(name="ada", count=2).to_yaml_block("")
seen["yaml_tag"] = text.startswith("!!python/object")
try:
    seen["yaml_reads_back"] = yaml.safe_load(text) == {"name": "ada", "count": 2}
except yaml.YAMLError:
    seen["yaml_reads_back"] = False
try:
    MixinCanonicalYAMLSerializer().canonicalize_metadata_block({"name": "ada", "count": 2})
    seen["canonical_takes_a_mapping"] = True
except Exception as exc:
    seen["canonical_takes_a_mapping"] = type(exc).__name__
try:
    MixinHashComputation().compute_hash("body")
    seen["hash_without_metadata_block"] = True
except AssertionError:
    seen["hash_without_metadata_block"] = False
seen["fsm_in_reducer"] = MixinFSMExecution in NodeReducer.__mro__
seen["workflow_in_orchestrator"] = MixinWorkflowExecution in NodeOrchestrator.__mro__
# MixinCaching: which wrappers compose it, and whether anything bounds its in-process L1.
seen["caching_in_wrappers"] = sorted(
    wrapper.__name__
    for wrapper in (ModelServiceCompute, ModelServiceEffect, ModelServiceOrchestrator,
                    ModelServiceReducer)
    if MixinCaching in wrapper.__mro__
)
seen["caching_init_options"] = sorted(
    name for name in inspect.signature(MixinCaching.__init__).parameters
    if name not in ("self", "args", "kwargs")
)
cache = MixinCaching()
async def fill():
    for n in range(5000):
        await cache.set_cached(f"request-{n}", n, ttl_seconds=60)
    await cache.set_cached("forever", 0)  # no TTL given and no default: never expires
asyncio.run(fill())
seen["caching_l1_entries"] = cache.get_cache_stats()["entries"]
# An hour later every TTL has passed; writing one more key evicts none of them.
caching_module.time = types.SimpleNamespace(time=lambda: time.time() + 3600)
asyncio.run(cache.set_cached("one-more", 1, ttl_seconds=60))
seen["caching_l1_kept_expired"] = len(cache._cache_data)
print(json.dumps(seen))
"""


@pytest.mark.slow
@pytest.mark.xdist_group("default_project")
def test_refusals_that_rest_on_core_still_hold(default_project: Path) -> None:
    """When one of these changes, core changed: revisit that mixin's entry."""
    probe = run_python(default_project, PROBE_REFUSALS)
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert seen == {
        "yaml_tag": True,  # MixinYAMLSerialization: core's objects, not the model's fields
        "yaml_reads_back": False,
        "canonical_takes_a_mapping": "ValidationError",  # metadata blocks only
        "hash_without_metadata_block": False,
        "fsm_in_reducer": True,  # "comes with NodeReducer"
        "workflow_in_orchestrator": True,  # "comes with NodeOrchestrator"
        # MixinCaching: "ModelServiceCompute/Reducer compose it themselves"
        "caching_in_wrappers": ["ModelServiceCompute", "ModelServiceReducer"],
        # "no size limit": no option bounds it, 5001 distinct keys are 5001 entries, and
        # expired entries stay until their key is read ("expired entries leave only when read")
        "caching_init_options": ["backend", "default_ttl_seconds", "max_consecutive_failures"],
        "caching_l1_entries": 5001,
        "caching_l1_kept_expired": 5002,
    }


def test_every_entry_is_used_with_a_proof_or_says_why() -> None:
    names = [entry.name for entry in CATALOGUE.MIXINS]
    assert len(names) == len(set(names))
    generated_tests = [path.name for path in (TEMPLATE_ROOT / "template" / "tests").rglob("*")]
    for entry in CATALOGUE.MIXINS:
        assert entry.status in (CATALOGUE.USED, CATALOGUE.REFUSED), entry
        assert len(entry.how) > 40, entry.name  # a reason, not a word
        assert "not yet" not in entry.how
        if entry.status == CATALOGUE.USED:
            # the generated test that runs it exists (its file name may be conditional)
            proof = Path(entry.proof).name
            assert any(proof in name for name in generated_tests), (entry.name, entry.proof)
        else:
            assert entry.proof == "", entry.name
    # what node_spec may compose is in the catalogue, and used: no mixin sits in the class
    # the template writes without being called
    for mixin in node_spec.MIXIN_MODULES:
        assert CATALOGUE.BY_NAME[mixin].status == CATALOGUE.USED, mixin
    assert not hasattr(CATALOGUE, "COMPOSED")


# Operation words the seeds match (6.2: "listen"/"subscribe", "serialize"/"yaml").
SEED_OPERATION_WORDS = {"listen", "subscribe", "serialize", "yaml"}


def test_every_word_that_asks_for_a_mixin_is_a_feature_or_a_seed_operation_word() -> None:
    features = set(node_spec.FEATURES) | set(node_spec.REFUSED_FEATURES)
    words = {w for e in (*CATALOGUE.MIXINS, *CATALOGUE.ABSENT) for w in e.asked_by}
    assert words - features == SEED_OPERATION_WORDS
    # the seeds' feature -> mixin pairs of 6.2 that core ships are all catalogued
    for word, mixin in {
        "service_discovery": "MixinDiscoveryResponder",
        "fail_fast": "MixinFailFast",
        "cli": "MixinCLIHandler",
        "state_machine": "MixinContractStateReducer",
        "canonical_yaml": "MixinCanonicalYAMLSerializer",
        "stamping": "MixinCanonicalYAMLSerializer",
    }.items():
        assert mixin in [e.name for e in CATALOGUE.asking([word])], word


def test_refused_features_give_real_outcomes() -> None:
    for feature, reason in node_spec.REFUSED_FEATURES.items():
        assert "issue 11" not in reason, feature
        assert "not yet" not in reason, feature


def decisions(**answers: object) -> dict[str, tuple[str, str]]:
    spec = node_spec.build_spec({"service_name": "orders", **answers})
    return {d.choice: (d.topic, d.reason) for d in spec.decisions if d.topic.startswith("mixin ")}


def test_decision_log_names_the_mixins_chosen_and_refused() -> None:
    log = decisions(
        node_type="effect",
        operations=["export_yaml", "get_order"],
        features=["custom_mixins", "fail_fast", "redaction", "service_discovery", "retry"],
        integrations=["postgres", "consul"],
    )
    assert log["MixinFailFast"][0] == "mixin used"
    assert log["MixinSensitiveFieldRedaction"] == (
        "mixin used",
        "feature 'redaction': " + CATALOGUE.BY_NAME["MixinSensitiveFieldRedaction"].how,
    )
    assert log["MixinDiscoveryResponder"][0] == "mixin refused"
    assert log["MixinDiscoveryResponder"][1].startswith("feature 'service_discovery': ")
    assert log["MixinYAMLSerialization"][1].startswith("operation word 'yaml': ")
    assert log["MixinRetry"] == (
        "mixin refused",
        "feature 'retry': not in omnibase_core 0.47.57; "
        "retry: runtime/resilience.py retries transient errors (tenacity)",
    )
    # a reducer's state machine: both of core's state machine mixins, refused with reasons
    operations = node_spec.default_operations("reducer", {}, ["state_machine"])
    log = decisions(node_type="reducer", operations=operations, features=["state_machine"])
    assert {name for name, (topic, _) in log.items() if topic == "mixin refused"} == {
        "MixinContractStateReducer",
        "MixinFSMExecution",
    }
    # caching: refused with the reason for every base, a custom composition leaves it out
    caching = {
        "MixinCaching": (
            "mixin refused",
            "feature 'caching': " + CATALOGUE.BY_NAME["MixinCaching"].how,
        )
    }
    for node_type in node_spec.NODE_TYPES:
        for extra in ([], ["custom_mixins"]):
            answers = {"node_type": node_type, "operations": ["get_x"]}
            assert decisions(**answers, features=["caching", *extra]) == caching, node_type
            base = node_spec.select_base(node_type, ["caching", *extra])
            assert "MixinCaching" not in base.mixins, node_type
    # no feature, no mixin words: nothing to say
    assert decisions(node_type="compute", operations=["score"], features=[]) == {}


def test_features_page_shows_the_catalogue() -> None:
    page = FEATURES_PAGE.read_text()
    assert BEGIN in page
    assert END in page
    shown = page[page.index(BEGIN) + len(BEGIN) : page.index(END)]
    assert shown.strip() == CATALOGUE.catalogue_markdown().strip()
    rows = re.findall(r"^\| `(Mixin\w+)` \|", shown, re.M)
    assert len(rows) == len(CATALOGUE.MIXINS) + len(CATALOGUE.ABSENT)
