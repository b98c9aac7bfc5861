"""Operating a served node: its HTTP API, Prometheus metrics, OpenAPI document and cached
/health, against real services.

One generated effect node (kafka + postgres) is served as its console script's module would
be, in a child process, with a private PostgreSQL (so it can be stopped and frozen) and the
session's tansu broker. Each error status of POST /v1/<operation> has a real cause: an invalid
body (400), a read of a key never stored (404), the database frozen with SIGSTOP while a read
waits past the operation timeout (504) and the database stopped (503). /metrics is parsed with
prometheus_client's parser and counted against the requests sent, /openapi.json is checked with
openapi-spec-validator, and /health (GET and HEAD, the endpoint's light path) turns unhealthy
within its cache period once PostgreSQL is down.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from conftest import generate, project_python, project_spec, sync_environment
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families
from service_kafka import KafkaService
from service_postgres import PostgresServer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("operate")]

SERVICE = "operate_ledger"
PREFIX = SERVICE.upper() + "_"
WRITE, READ = "create_record", "get_record"
CACHE_SECONDS = 1.0
OPERATION_TIMEOUT_SECONDS = 1.0
# asyncpg's own statement timeout: a cancelled query's connection is only released once the
# server answers or this passes (measured: with the 10 s default a frozen server turned a 1 s
# operation timeout into an 11 s wait for the 504).
COMMAND_TIMEOUT_SECONDS = 2.0


@dataclass
class Served:
    """A served node: its process, base URL and the server it stores in."""

    process: subprocess.Popen[str]
    base: str
    postgres: PostgresServer
    command_topic: str
    log: Path

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of one request; error statuses are returned, not raised."""
        request = urllib.request.Request(
            f"{self.base}{path}", data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def post(self, operation: str, fields: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, _, body = self.call(
            "POST",
            f"/v1/{operation}",
            json.dumps(fields).encode(),
            {"Content-Type": "application/json"},
        )
        return status, json.loads(body)

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of GET /metrics, parsed by prometheus_client, by (name, labels)."""
        status, headers, body = self.call("GET", "/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples
        }


def postgres_pids(server: PostgresServer) -> list[int]:
    """The postmaster and every process it forked (the backends holding the pool's sessions)."""
    postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(
        ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
    ).stdout.split()
    return [postmaster, *map(int, children)]


@pytest.fixture(scope="module")
def operate_project(copie_session: Any) -> Path:
    path = generate(
        copie_session, service_name=SERVICE, node_type="effect", integrations=["kafka", "postgres"]
    )
    sync_environment(path)
    return path


@pytest.fixture
def served(
    operate_project: Path,
    kafka_service: KafkaService,
    private_postgres_server: PostgresServer,
    tmp_path: Path,
) -> Iterator[Served]:
    spec = project_spec(operate_project)
    log = tmp_path / "node.log"
    env = {
        **os.environ,
        "DATABASE_URL": private_postgres_server.create_database("operate"),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_service.bootstrap,
        f"{PREFIX}KAFKA_ENABLE_IDEMPOTENCE": "false",  # tansu refuses it (service_kafka.py)
        f"{PREFIX}KAFKA_CONSUMER_GROUP": f"operate-{uuid4().hex[:8]}",
        f"{PREFIX}KAFKA_FLUSH_TIMEOUT_SECONDS": "1",
        f"{PREFIX}HTTP_HOST": "127.0.0.1",
        f"{PREFIX}HTTP_PORT": "0",
        f"{PREFIX}LOG_LEVEL": "WARNING",
        f"{PREFIX}HEALTH_CACHE_SECONDS": str(CACHE_SECONDS),
        f"{PREFIX}OPERATION_TIMEOUT_SECONDS": str(OPERATION_TIMEOUT_SECONDS),
        f"{PREFIX}POSTGRES_COMMAND_TIMEOUT_SECONDS": str(COMMAND_TIMEOUT_SECONDS),
    }
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [
                str(project_python(operate_project)),
                "-m",
                f"{spec.package_name}.runtime.service_entry",
            ],
            cwd=operate_project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # bounded: the node prints it or exits
        assert line, f"node exited ({process.wait()}): {log.read_text()[-3000:]}"
        port = int(json.loads(line)["port"])
        yield Served(
            process, f"http://127.0.0.1:{port}", private_postgres_server, spec.command_topic, log
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def send_command(bootstrap: str, topic: str, fields: dict[str, Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps(fields).encode())
    finally:
        await producer.stop()


def test_api_metrics_openapi_and_health_of_a_served_node(
    served: Served, kafka_service: KafkaService
) -> None:
    key = f"k-{uuid4().hex[:8]}"
    correlation_id = str(uuid4())

    # 200: the output model, the correlation id from the header (the body has none).
    status, headers, body = served.call(
        "POST",
        f"/v1/{WRITE}",
        json.dumps({"key": key, "data": {"n": 1}}).encode(),
        {"X-Correlation-ID": correlation_id},
    )
    assert status == 200, body
    written = json.loads(body)
    assert written["correlation_id"] == correlation_id == headers["X-Correlation-ID"]
    assert written["records"][0]["key"] == key
    status, read = served.post(READ, {"key": key})
    assert status == 200, read
    assert [r["data"] for r in read["records"]] == [{"n": 1}]

    # 400: the body does not validate (and never reaches the node: no operation counted).
    status, error = served.post(WRITE, {"key": ""})
    assert status == 400, error
    assert error["error_code"] == "ONEX_CORE_006_VALIDATION_ERROR"
    assert error["details"][0]["loc"] == ["key"]
    # 404: a read of a key never stored.
    status, error = served.post(READ, {"key": "never-stored"})
    assert (status, error["error_code"]) == (404, "ONEX_CORE_028_NOT_FOUND"), error

    # /openapi.json is a valid OpenAPI document naming both operations.
    status, _, body = served.call("GET", "/openapi.json")
    assert status == 200
    document = json.loads(body)
    validate(document)
    assert {f"/v1/{WRITE}", f"/v1/{READ}"} <= document["paths"].keys()

    # A command through Kafka counts in the same metrics as the HTTP requests.
    asyncio.run(
        send_command(
            kafka_service.bootstrap, served.command_topic, {"operation": WRITE, "key": key}
        )
    )
    deadline = time.monotonic() + 30
    while True:
        samples = served.metrics()
        consumed = samples.get(
            (
                "onex_kafka_commands_total",
                (("outcome", "completed"), ("topic", served.command_topic)),
            ),
            0,
        )
        if consumed >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert consumed == 1, served.log.read_text()[-3000:]

    def ops(operation: str, outcome: str) -> float:
        return samples[("onex_operations_total", (("operation", operation), ("outcome", outcome)))]

    assert (ops(WRITE, "succeeded"), ops(WRITE, "failed")) == (2, 0)  # HTTP + Kafka
    assert (ops(READ, "succeeded"), ops(READ, "failed")) == (1, 1)
    failures = (
        "onex_operation_failures_total",
        (("error_code", "ONEX_CORE_028_NOT_FOUND"), ("operation", READ)),
    )
    assert samples[failures] == 1
    assert samples[("onex_operation_duration_seconds_count", (("operation", READ),))] == 2
    lag = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "onex_kafka_consumer_lag"
    }
    assert lag, sorted(name for name, _ in samples)
    assert all(("topic", served.command_topic) in labels for labels in lag), lag
    assert all(value == 0 for value in lag.values()), lag  # the one command was consumed
    assert samples[("onex_kafka_command_retries_total", (("topic", served.command_topic),))] == 0
    assert samples[("onex_event_publisher_buffer_limit", ())] >= 1
    assert ("onex_event_publisher_events_total", (("outcome", "dead_lettered"),)) in samples
    status, _, body = served.call("GET", "/metrics.json")  # the JSON snapshot agrees
    snapshot = json.loads(body)
    assert (snapshot["operations_total"], snapshot["failures_total"]) == (4, 1)

    # 504: PostgreSQL frozen (SIGSTOP), so the read waits past the operation timeout.
    pids = postgres_pids(served.postgres)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        status, error = served.post(READ, {"key": key})
        waited = time.monotonic() - began
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    assert status == 504, error
    assert error["error_code"] == "ONEX_CORE_092_TIMEOUT_ERROR", error
    assert OPERATION_TIMEOUT_SECONDS <= waited < COMMAND_TIMEOUT_SECONDS + 3, waited

    # /health from its cache, then PostgreSQL down: unhealthy within the cache period, and 503.
    deadline = time.monotonic() + 30
    while served.call("GET", "/health")[0] != 200:  # the frozen pool recovers
        assert time.monotonic() < deadline, served.call("GET", "/health")
        time.sleep(0.2)
    # HEAD /health takes the light path as GET does: the same answer without its body.
    status, head_headers, head_body = served.call("HEAD", "/health")
    assert (status, head_body) == (200, b""), head_body
    assert head_headers["Content-Type"].startswith("application/json"), head_headers
    served.postgres.stop()
    stopped = time.monotonic()
    while (health := served.call("GET", "/health"))[0] == 200:
        assert time.monotonic() - stopped < 30, health
        time.sleep(0.05)
    shown = time.monotonic() - stopped
    assert health[0] == 503, health
    assert "postgres" in health[2].decode().lower(), health
    # Within the cache period plus one run of the checks (a refused connection is quick).
    assert shown <= CACHE_SECONDS + 1.0, shown
    status, error = served.post(READ, {"key": key})
    assert status == 503, error
    assert error["error_code"] == "ONEX_CORE_131_DATABASE_CONNECTION_ERROR", error
    print(
        f"\noperate: 504 after {waited:.2f} s (timeout {OPERATION_TIMEOUT_SECONDS} s); "
        f"PostgreSQL down shown by /health after {shown:.2f} s (cache {CACHE_SECONDS} s)"
    )
