"""The omnibase_core 0.47.57 defects the generated code works around, each shown STILL present.

Each test runs a small probe with the python of a generated project's .venv (the pinned core).
When a core release fixes a defect, its test fails and its message names the workaround that
can then be dropped (see the table in docs/architecture.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import node_class_path, run_python

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("default_project")]

HANDLER = "template/src/{{package_name}}/nodes/{{spec.node_name}}/handler.py.jinja"


def probe(project: Path, code: str) -> dict[str, Any]:
    """Run `code` in the project's environment; its last stdout line is a JSON result."""
    completed = run_python(project, code)
    assert completed.returncode == 0, f"probe crashed:\n{completed.stdout}\n{completed.stderr}"
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_introspection_event_still_recurses(default_project: Path) -> None:
    module, node_class = node_class_path(default_project)
    result = probe(
        default_project,
        f"from {module} import {node_class} as NodeGenerated\n"
        """
import json
from omnibase_core.models.container.model_onex_container import ModelONEXContainer
from omnibase_core.nodes.node_service_compute import ModelServiceCompute
from omnibase_core.nodes.node_service_effect import ModelServiceEffect
from omnibase_core.nodes.node_service_orchestrator import ModelServiceOrchestrator
from omnibase_core.nodes.node_service_reducer import ModelServiceReducer

def recurses(node):
    try:
        node._publish_introspection_event()
    except RecursionError:
        return True
    return False

bare = {}
for wrapper in (ModelServiceEffect, ModelServiceCompute, ModelServiceReducer,
                ModelServiceOrchestrator):
    subclass = type("NodeProbe" + wrapper.__name__, (wrapper,), {})
    bare[wrapper.__name__] = recurses(subclass(ModelONEXContainer()))
print(json.dumps({"bare": bare, "generated": recurses(NodeGenerated())}))
""",
    )
    assert result["generated"] is False, "the generated node's no-op override no longer helps"
    fixed = [name for name, recursed in result["bare"].items() if not recursed]
    assert not fixed, (
        f"omnibase_core no longer recurses in MixinNodeService._publish_introspection_event "
        f"({', '.join(fixed)}): drop the no-op `_publish_introspection_event` override at the "
        f"end of {HANDLER}, its row in docs/architecture.md, and this test"
    )


def test_publish_event_still_publishes_nothing_to_inmemory_bus(default_project: Path) -> None:
    result = probe(
        default_project,
        """
import asyncio, json
from uuid import uuid4
from omnibase_core.event_bus.event_bus_inmemory import EventBusInmemory
from omnibase_core.mixins.mixin_event_bus import MixinEventBus
from omnibase_core.models.container.model_onex_container import ModelONEXContainer
from omnibase_core.nodes.node_service_effect import ModelServiceEffect

class NodeProbeEffect(ModelServiceEffect):
    def _publish_introspection_event(self) -> None:
        return None

class ProbePublisher(MixinEventBus):
    def get_node_id(self):
        return uuid4()

async def published(node):
    bus = EventBusInmemory()
    node.bind_event_bus(bus)
    try:
        await node.publish_event("effect.probe.completed")
    except Exception:  # the wrapper's shadowed _log_error raises TypeError
        pass
    return len(await bus.get_event_history())

async def main():
    return {
        "mixin": await published(ProbePublisher()),
        "wrapper": await published(NodeProbeEffect(ModelONEXContainer())),
    }

print(json.dumps(asyncio.run(main())))
""",
    )
    assert result == {"mixin": 0, "wrapper": 0}, (
        f"MixinEventBus.publish_event now reaches EventBusInmemory ({result} events): the "
        "node could publish through its own MixinEventBus, and the detour through NodeEvents -> "
        "ProtocolEventPublisher.publish_envelope (template events/node_events.py.jinja) can be "
        "dropped; update docs/architecture.md and this test"
    )


def test_emit_log_event_still_prints_nothing(default_project: Path) -> None:
    result = probe(
        default_project,
        """
import contextlib, io, json, logging, sys
from uuid import uuid4
out = io.StringIO()
logging.basicConfig(level=logging.DEBUG, stream=out)
from omnibase_core.enums.enum_log_level import EnumLogLevel
from omnibase_core.logging import emit_log_event, emit_log_event_sync

with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    emit_log_event(EnumLogLevel.ERROR, "probe_event", "PROBE-ASYNC-API", uuid4())
    emit_log_event_sync(EnumLogLevel.ERROR, "PROBE-SYNC-API", {})
text = out.getvalue()
print(json.dumps({"emit_log_event": "PROBE-ASYNC-API" in text,
                  "emit_log_event_sync": "PROBE-SYNC-API" in text}))
""",
    )
    # The control: the capture does see what the sync API writes.
    assert result["emit_log_event_sync"] is True, "emit_log_event_sync printed nothing either"
    assert result["emit_log_event"] is False, (
        "omnibase_core.logging.emit_log_event prints now: runtime/node_logging.py (template) "
        "may use it instead of emit_log_event_sync; update docs/architecture.md and this test"
    )


def test_start_service_mode_still_subscribes_nothing(default_project: Path) -> None:
    result = probe(
        default_project,
        """
import asyncio, json, warnings
from omnibase_core.event_bus.event_bus_inmemory import EventBusInmemory
from omnibase_core.models.container.model_onex_container import ModelONEXContainer
from omnibase_core.nodes.node_service_effect import ModelServiceEffect

warnings.simplefilter("ignore")  # "coroutine 'EventBusInmemory.subscribe' was never awaited"

class NodeProbeEffect(ModelServiceEffect):
    def _publish_introspection_event(self) -> None:
        return None

async def main():
    bus = EventBusInmemory()
    node = NodeProbeEffect(ModelONEXContainer())
    node.bind_event_bus(bus)
    service = asyncio.create_task(node.start_service_mode())
    await asyncio.sleep(0.3)
    running = not service.done()
    subscribers = await bus.get_subscriber_count()
    await node.stop_service_mode()
    await asyncio.wait_for(service, timeout=10)
    return {"running": running, "subscribers": subscribers}

print(json.dumps(asyncio.run(main())))
""",
    )
    assert result["running"] is True, "start_service_mode did not start"
    assert result["subscribers"] == 0, (
        "MixinNodeService.start_service_mode now subscribes on EventBusInmemory: the service "
        "loop of runtime/service_entry.py (template) could use it; update docs/architecture.md "
        "and this test"
    )
