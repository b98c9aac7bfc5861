"""OpenTelemetry traces of a served node, followed through real services.

One generated effect node (kafka, postgres, redis, http) is served by its own service_entry
inside its .venv (tests/tracing_probe.py) with tracing on and the SDK's InMemorySpanExporter,
against the tansu broker, PostgreSQL, Redis and the local HTTP upstream. Two incoming trace
contexts are followed:

- a command on the command topic with a `traceparent` header -> the node's process span ->
  its operation span (with the correlation id) -> its PostgreSQL calls, and the events it
  published, read back from the broker, carrying the operation's context in their headers;
- an HTTP request to /health with a `traceparent` header -> the server span -> the outbound
  PostgreSQL, Redis and HTTP calls of the health checks, the HTTP one arriving at the upstream
  with a `traceparent` naming the client span;
- a POST /v1/create_record with a `traceparent` header -> the server span -> the operation
  span -> its INSERT;

and one outbound HTTP call inside an operation span is that span's child.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
import urllib.request
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from conftest import TEMPLATE_ROOT, generate, project_python, project_spec, sync_environment
from ports import free_port
from service_http import HttpUpstream
from service_kafka import KafkaService
from service_postgres import PostgresServer
from service_redis import RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("tracing")]

SERVICE = "traced_ledger"
PROBE = TEMPLATE_ROOT / "tests" / "tracing_probe.py"
COMMAND_TRACE = "0af7651916cd43dd8448eb211c80319c"
COMMAND_PARENT = "b7ad6b7169203331"
HTTP_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HTTP_PARENT = "00f067aa0ba902b7"
API_TRACE = "5c2f1e4d3b2a19087f6e5d4c3b2a1908"
API_PARENT = "1a2b3c4d5e6f7081"
# version-trace id-parent id-flags (sampled; 03 when the node started the trace: random id)
TRACEPARENT = re.compile(r"^00-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})-0[13]$")


class RecordingUpstream(HttpUpstream):
    """The test HTTP server, also recording each request's `traceparent` header."""

    def __init__(self) -> None:
        self.traceparents: list[tuple[str, str | None]] = []
        super().__init__()

    def _handler(self) -> Any:
        upstream = self

        class Recording(super()._handler()):  # type: ignore[misc]
            def _answer(self) -> None:
                upstream.traceparents.append((self.path, self.headers.get("traceparent")))
                super()._answer()

        return Recording


@pytest.fixture(scope="module")
def traced(
    copie_session: Any,
    kafka_service: KafkaService,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """What came out of one served node: the probe's spans, the records read back from the
    broker, the /health answer, the node's log lines and the upstream's traceparents."""
    project = generate(
        copie_session,
        service_name=SERVICE,
        node_type="effect",
        integrations=["kafka", "postgres", "redis", "http"],
    )
    sync_environment(project)
    spec = project_spec(project)
    asyncio.run(create_topic(kafka_service.bootstrap, spec.command_topic))
    port = free_port()
    stderr = tmp_path_factory.mktemp("tracing") / "node.log"
    upstream = RecordingUpstream().start()
    env = {
        **os.environ,
        "DATABASE_URL": postgres_server.create_database(SERVICE),
        "REDIS_URL": redis_server.url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_service.bootstrap,
        f"{spec.env_prefix}KAFKA_ENABLE_IDEMPOTENCE": "false",  # tansu refuses it
        f"{spec.env_prefix}KAFKA_CONSUMER_GROUP": f"group-{uuid4().hex[:12]}",
        f"{spec.env_prefix}HTTP_CLIENT_BASE_URL": upstream.base_url,
        f"{spec.env_prefix}HTTP_CLIENT_HEALTH_URL": "/health",
    }
    with stderr.open("w") as log:
        probe = subprocess.Popen(
            [str(project_python(project)), str(PROBE), spec.package_name, str(port)],
            cwd=project,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        assert probe.stdout is not None
        assert probe.stdin is not None
        for line in probe.stdout:  # until the node says it serves
            if '"serving"' in line:
                break
        else:
            pytest.fail(f"the node never served:\n{stderr.read_text()[-4000:]}")
        report: dict[str, Any] = {
            "correlation_id": str(uuid4()),
            "command_topic": spec.command_topic,
        }
        report["reply"], report["events"] = asyncio.run(
            send_command(kafka_service.bootstrap, spec, report["correlation_id"])
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/health",
            headers={"traceparent": f"00-{HTTP_TRACE}-{HTTP_PARENT}-01"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            report["health_status"] = response.status
        report["api_correlation_id"] = str(uuid4())
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/create_record",
            data=json.dumps(
                {"correlation_id": report["api_correlation_id"], "key": "api", "data": {}}
            ).encode(),
            headers={
                "traceparent": f"00-{API_TRACE}-{API_PARENT}-01",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            report["api_status"] = response.status
        out, _ = probe.communicate("done\n", timeout=60)
    finally:
        if probe.poll() is None:
            probe.kill()
        upstream.stop()
    assert probe.returncode == 0, stderr.read_text()[-6000:]
    report.update(json.loads(out.splitlines()[-1]))
    report["log_lines"] = [
        json.loads(line) for line in stderr.read_text().splitlines() if line.startswith("{")
    ]
    report["upstream"] = upstream.traceparents
    return report


async def create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def send_command(
    bootstrap: str, spec: Any, correlation_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Send one create_record command with a traceparent header; read back its reply on the
    terminal topic and its two events (started, completed), with their headers."""
    command = {"correlation_id": correlation_id, "key": "traced", "data": {"n": 1}}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            spec.command_topic,
            json.dumps(command).encode(),
            headers=[("traceparent", f"00-{COMMAND_TRACE}-{COMMAND_PARENT}-01".encode())],
        )
    finally:
        await producer.stop()
    reply = await read_back(bootstrap, [spec.terminal_topic], correlation_id, wanted=1)
    events = await read_back(
        bootstrap,
        [e.topic for e in spec.events if e.event_type.startswith("effect.create_record.")],
        correlation_id,
        wanted=2,  # started and completed (failed is not expected)
    )
    return reply, events


async def read_back(
    bootstrap: str, topics: list[str], correlation_id: str, *, wanted: int
) -> list[dict[str, Any]]:
    """The records of `topics` whose envelope carries `correlation_id`, once `wanted` came."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 30
        while len(found) < wanted and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    envelope = json.loads(record.value)
                    if str(envelope.get("correlation_id")) == correlation_id:
                        found.append(
                            {
                                "event_type": envelope.get("event_type"),
                                "headers": {k: v.decode() for k, v in record.headers or ()},
                            }
                        )
    finally:
        await consumer.stop()
    return found


def spans_of(report: dict[str, Any], trace_id: str) -> list[dict[str, Any]]:
    return [span for span in report["spans"] if span["trace_id"] == trace_id]


def one(spans: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [s for s in spans if all(s.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [(s["name"], s["kind"]) for s in spans])
    return found[0]


def children(spans: list[dict[str, Any]], parent: dict[str, Any]) -> list[dict[str, Any]]:
    return [span for span in spans if span["parent_id"] == parent["span_id"]]


def test_a_command_is_traced_from_its_headers_to_its_published_events(traced: Any) -> None:
    assert traced["configured"] is True
    assert traced["exit_code"] == 0
    spans = spans_of(traced, COMMAND_TRACE)
    process = one(spans, name=f"{traced['command_topic']} process", parent_id=COMMAND_PARENT)
    assert process["kind"] == "CONSUMER"
    operation = one(children(spans, process), name="operation create_record")
    assert operation["attributes"]["onex.correlation_id"] == traced["correlation_id"]
    assert operation["status"] == "UNSET"
    # The record's INSERT is the operation's child (asyncpg's instrumentor also traces the
    # pool's reset of the connection on release, a SELECT).
    database = children(spans, operation)
    assert "INSERT" in {s["name"] for s in database}, database
    assert {(s["kind"], s["attributes"].get("db.system")) for s in database} == {
        ("CLIENT", "postgresql")
    }

    # Both events of the operation, read back from the broker, carry the operation's context
    # and the correlation id as baggage.
    assert sorted(e["event_type"] for e in traced["events"]) == [
        "effect.create_record.completed",
        "effect.create_record.started",
    ]
    for event in traced["events"]:
        context = TRACEPARENT.match(event["headers"]["traceparent"])
        assert context is not None, event
        assert (context["trace"], context["parent"]) == (COMMAND_TRACE, operation["span_id"])
        assert f"onex.correlation_id={traced['correlation_id']}" in event["headers"]["baggage"]

    # The reply on the terminal topic goes out through the instrumented producer: its header
    # names the producer span, a child of the process span.
    (reply,) = traced["reply"]
    context = TRACEPARENT.match(reply["headers"]["traceparent"])
    assert context is not None, reply
    send = one(spans, span_id=context["parent"])
    assert (send["kind"], send["parent_id"]) == ("PRODUCER", process["span_id"])

    # Every log line of the operation carries its trace id (both are top-level keys of every
    # line, runtime/node_logging.py).
    lines = [
        line for line in traced["log_lines"] if line["correlation_id"] == traced["correlation_id"]
    ]
    assert lines
    assert {line["trace_id"] for line in lines} == {COMMAND_TRACE}


def test_an_http_request_is_traced_to_its_outbound_calls(traced: Any) -> None:
    assert traced["health_status"] == 200
    spans = spans_of(traced, HTTP_TRACE)
    server = one(spans, kind="SERVER", parent_id=HTTP_PARENT)
    assert server["name"] == "GET /health"
    # The health checks' calls to PostgreSQL, Redis and the upstream are the server span's
    # children (the Kafka publisher's check reads its own state, no call).
    outbound = children(spans, server)
    assert {s["kind"] for s in outbound} == {"CLIENT"}, outbound
    assert {s["attributes"].get("db.system") for s in outbound} == {"postgresql", "redis", None}
    http_call = one(outbound, name="GET")
    assert http_call["attributes"]["http.url"].endswith("/health")
    # The upstream received the context naming the node's client span.
    received = [header for path, header in traced["upstream"] if path == "/health"]
    assert len(received) == 1, traced["upstream"]
    context = TRACEPARENT.match(received[0] or "")
    assert context is not None, received
    assert (context["trace"], context["parent"]) == (HTTP_TRACE, http_call["span_id"])


def test_an_api_request_is_traced_to_its_operation_and_its_database_calls(traced: Any) -> None:
    assert traced["api_status"] == 200
    spans = spans_of(traced, API_TRACE)
    server = one(spans, kind="SERVER", parent_id=API_PARENT)
    assert server["name"] == "POST /v1/create_record"
    operation = one(children(spans, server), name="operation create_record")
    assert operation["attributes"]["onex.correlation_id"] == traced["api_correlation_id"]
    assert "INSERT" in {s["name"] for s in children(spans, operation)}


def test_an_outbound_call_inside_an_operation_is_its_child(traced: Any) -> None:
    operation = one(traced["spans"], name="operation call_upstream", parent_id=None)
    (call,) = children(spans_of(traced, operation["trace_id"]), operation)
    assert (call["kind"], call["name"]) == ("CLIENT", "GET")
    received = [header for path, header in traced["upstream"] if path == "/echo"]
    assert len(received) == 1, traced["upstream"]
    context = TRACEPARENT.match(received[0] or "")
    assert context is not None, received
    assert (context["trace"], context["parent"]) == (operation["trace_id"], call["span_id"])
