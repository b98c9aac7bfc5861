"""Runs inside a generated project's .venv: keeps its node busy while the test cuts the broker.

Usage: kafka_fault_driver.py PACKAGE OPERATION [OPERATION...]. The node is PACKAGE's
`onex.nodes` entry point, with its settings from the environment (so its KafkaEventPublisher
talks to KAFKA_BOOTSTRAP_SERVERS). Default requests for the OPERATIONs, in that order (writes
before reads), run back to back until stdin says `stop`; health is sampled every 50 ms.
Protocol on stdout, one JSON object per line:

    {"event": "running", "node_id": ..., "topics": [...], "dead_letter_topic": ...}
    stdin "stats" -> {"event": "stats", ...publisher stats..., "health": {status: samples so far}}
    stdin "stop"  -> {"event": "done", "operations": ..., "stats": ..., "health": {...}}
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections import Counter
from importlib.metadata import entry_points
from typing import Any, get_type_hints


async def main() -> None:
    package, cycle = sys.argv[1], sys.argv[2:]
    (entry,) = [e for e in entry_points(group="onex.nodes") if e.module.startswith(package + ".")]
    node_class = entry.load()
    topics = importlib.import_module(f"{package}.events.event_topics")
    request_model = get_type_hints(node_class.handle)["request"]
    node = node_class()
    await node.startup()
    publisher = node.resources._kafka  # the KafkaEventPublisher under test
    assert publisher is not None, "no Kafka publisher: is the kafka integration generated?"
    print(
        json.dumps(
            {
                "event": "running",
                "node_id": str(node.node_id),
                "topics": list(topics.PUBLISH_TOPICS),
                "dead_letter_topic": topics.TOPIC_DEAD_LETTER,
            }
        ),
        flush=True,
    )
    stop = asyncio.Event()
    operations: Counter[str] = Counter()
    health: Counter[str] = Counter()
    errors: list[str] = []
    max_buffered = 0

    async def load() -> None:
        while not stop.is_set():
            try:
                await node.handle(request_model(operation=cycle[operations.total() % len(cycle)]))
                operations["succeeded"] += 1
            except Exception as exc:  # every failure is counted and reported, none expected
                operations["failed"] += 1
                errors.append(repr(exc))
            await asyncio.sleep(0.005)

    async def sample() -> None:
        nonlocal max_buffered
        while not stop.is_set():
            health[str((await node.health_check_async()).status)] += 1
            max_buffered = max(max_buffered, publisher.stats().buffered)
            await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(load()), asyncio.create_task(sample())]
    while (command := (await asyncio.to_thread(sys.stdin.readline)).strip()) != "stop":
        if command == "stats":
            stats = {"event": "stats", **publisher.stats().model_dump(), "health": dict(health)}
            print(json.dumps(stats), flush=True)
    stop.set()
    await asyncio.gather(*tasks)
    await node.shutdown()
    report: dict[str, Any] = {
        "event": "done",
        "operations": dict(operations),
        "errors": errors[:5],
        "health": dict(health),
        "max_buffered": max_buffered,
        "stats": publisher.stats().model_dump(),
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
