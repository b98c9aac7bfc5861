"""Runs inside a generated project's .venv (tests/test_tracing.py): serves the node with
tracing on and the SDK's in-memory exporter, and prints the finished spans as one JSON line.

    python tracing_probe.py <package> <http port>

The node is served by its own service_entry (`_serve`, what the console script runs after
configure_tracing()), so the consumer, publisher, HTTP app and clients are the real ones. The
test drives them from outside (this process's own Kafka clients would be instrumented too) and
writes a line to stdin when it is done; the probe then makes one outbound call inside an
operation span, stops the node as SIGTERM does, and prints the report. Nothing is asserted here.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import sys
from typing import Any
from uuid import uuid4

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def span_json(span: Any) -> dict[str, Any]:
    parent = span.parent
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_id": f"{parent.span_id:016x}" if parent is not None else None,
        "status": span.status.status_code.name,
        "attributes": {key: str(value) for key, value in (span.attributes or {}).items()},
    }


async def main(package: str, port: int) -> dict[str, Any]:
    tracing = importlib.import_module(f"{package}.runtime.tracing")
    exporter = InMemorySpanExporter()
    configured = tracing.configure_tracing(exporter)
    service_entry = importlib.import_module(f"{package}.runtime.service_entry")
    settings = service_entry.ModelNodeSettings.from_contract(
        service_entry.load_contract_config(service_entry.CONTRACT_PATH)
    )
    settings = settings.model_copy(update={"http_host": "127.0.0.1", "http_port": port})
    serving = asyncio.create_task(service_entry._serve(settings))  # prints "serving"

    await asyncio.to_thread(sys.stdin.readline)  # the test sent its command and request

    # One outbound call made inside an operation's span, as an operation function makes it.
    http = importlib.import_module(f"{package}.integrations.http.http_client")
    http_settings = importlib.import_module(f"{package}.integrations.http.model_http_settings")
    logging = importlib.import_module(f"{package}.runtime.node_logging")
    client = http.HttpClient(
        http_settings.ModelHttpSettings(), logging.NodeLogger(uuid4(), "probe")
    )
    await client.start()
    try:
        with tracing.operation_span("call_upstream", uuid4()):
            await client.get_json("/echo")
    finally:
        await client.stop()

    os.kill(os.getpid(), signal.SIGTERM)  # what an orchestrator sends: _serve drains and ends
    exit_code = await serving
    return {
        "configured": configured,
        "exit_code": exit_code,
        "spans": [span_json(span) for span in exporter.get_finished_spans()],
    }


if __name__ == "__main__":
    package, port = sys.argv[1], int(sys.argv[2])
    importlib.import_module(f"{package}.runtime.node_logging").configure_logging("INFO")
    print(json.dumps(asyncio.run(main(package, port))), flush=True)
