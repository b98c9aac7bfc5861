"""The Kafka command path of a served node, counted end to end under faults.

One generated effect node (kafka + postgres) and its .venv are shared by every test here; each
test gets its own database, its own consumer group (positioned at the end of the command topic,
so earlier tests' commands stay out) and real services: PostgreSQL (tests/service_postgres.py)
and the tansu broker behind the cuttable proxy (tests/service_kafka.py). The node runs as its
console script would, in a child process. Every test counts what it sent against what ended up
stored in PostgreSQL and on the dead-letter topic:

    sent = stored once + dead-lettered with a reason;  0 lost;  0 stored twice

for a poison mix, a database outage mid-stream (the retry path), SIGTERM-and-restart rounds
(the drain) and a second instance joining the consumer group mid-stream (a rebalance).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from conftest import generate, project_python, project_spec, sync_environment
from service_kafka import KafkaService
from service_postgres import PostgresServer

# A group of its own, so it can run beside test_integration_kafka.py on the other worker (each
# worker starts its own broker and PostgreSQL server).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("command_path")]

SERVICE = "command_path_ledger"
PREFIX = SERVICE.upper() + "_"
TABLE = f"{SERVICE}_records"
PARTITIONS = 2  # so a second instance gets a share of the command topic
START_SECONDS = 60


# A command as produced: (key, value).
type Command = tuple[bytes, bytes]


@dataclass(frozen=True)
class CommandProject:
    """The generated project and the topics of its node."""

    path: Path
    package: str
    command_topic: str
    terminal_topic: str
    dead_letter_topic: str


@pytest.fixture(scope="module")
def command_project(
    copie_session: Any, kafka_service: KafkaService, postgres_server: PostgresServer
) -> CommandProject:
    path = generate(
        copie_session,
        service_name=SERVICE,
        node_type="effect",
        integrations=["kafka", "postgres"],
    )
    sync_environment(path)
    spec = project_spec(path)
    project = CommandProject(
        path, spec.package_name, spec.command_topic, spec.terminal_topic, spec.dlq_topic
    )
    asyncio.run(create_topic(kafka_service.bootstrap, project.command_topic))
    return project


async def create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)]
        )
    finally:
        await admin.close()


async def start_group_at_the_end(bootstrap: str, topic: str, group: str) -> None:
    """Commit the topic's end offsets for `group`, so its node reads only what comes next."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(ends)
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, topic: str, quiet_seconds: float = 2.0) -> list[bytes]:
    """Every record of `topic` from the beginning, until nothing new arrives for a while."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < quiet_seconds:
            batches = await consumer.getmany(timeout_ms=300)
            for messages in batches.values():
                values.extend(message.value for message in messages)
                quiet_since = time.monotonic() if messages else quiet_since
    finally:
        await consumer.stop()
    return values


@dataclass
class Run:
    """One test's world: its database, its consumer group, its node processes and tallies."""

    project: CommandProject
    kafka: KafkaService
    postgres: PostgresServer
    database: str
    logs: Path
    settings: dict[str, str] = field(default_factory=dict)
    marker: str = field(default_factory=lambda: uuid4().hex[:12])
    sent: list[str] = field(default_factory=list)  # keys of the valid commands sent
    nodes: list[subprocess.Popen[str]] = field(default_factory=list)
    ports: dict[int, int] = field(default_factory=dict)  # HTTP port of each node, by pid

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.postgres.url(self.database),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap,
            f"{PREFIX}KAFKA_ENABLE_IDEMPOTENCE": "false",  # tansu refuses it (service_kafka.py)
            f"{PREFIX}KAFKA_CONSUMER_GROUP": f"group-{self.marker}",
            f"{PREFIX}KAFKA_FLUSH_TIMEOUT_SECONDS": "10",
            f"{PREFIX}HTTP_HOST": "127.0.0.1",
            f"{PREFIX}HTTP_PORT": "0",
            f"{PREFIX}LOG_LEVEL": "WARNING",
            **self.settings,
        }

    def start_node(self) -> subprocess.Popen[str]:
        """A served node (its console script's module), once it says it is serving."""
        log = (self.logs / f"node-{len(self.nodes)}.log").open("w")
        process = subprocess.Popen(
            [
                str(project_python(self.project.path)),
                "-m",
                f"{self.project.package}.runtime.service_entry",
            ],
            cwd=self.project.path,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.nodes.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()  # bounded: the node prints it or exits
        assert line, f"node exited ({process.wait()}); see {log.name}"
        serving = json.loads(line)
        assert serving["event"] == "serving", line
        self.ports[process.pid] = int(serving["port"])
        return process

    def health(self, process: subprocess.Popen[str]) -> int:
        """The HTTP status of the node's /health."""
        url = f"http://127.0.0.1:{self.ports[process.pid]}/health"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop_node(self, process: subprocess.Popen[str]) -> tuple[int, float]:
        """SIGTERM, as a process manager sends it; (exit code, seconds until it exited)."""
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        return code, time.monotonic() - began

    def command(self, number: int) -> Command:
        key = f"{self.marker}-{number}"
        self.sent.append(key)
        body = {
            "operation": "create_record",
            "correlation_id": str(uuid4()),
            "key": key,
            "data": {"n": number},
        }
        return key.encode(), json.dumps(body).encode()

    def send(self, records: Iterable[tuple[bytes, bytes]], per_second: float = 0.0) -> None:
        asyncio.run(self._send(records, per_second))

    def stream(self, until: threading.Event, then: int, most: int = 600) -> Iterator[Command]:
        """Commands, one after another, until `until` is set; then `then` more (at most `most`)."""
        number = 0
        while number < most and not until.is_set():
            yield self.command(number)
            number += 1
        for _ in range(min(then, most - number)):
            yield self.command(number)
            number += 1

    def completed(self, process: subprocess.Popen[str]) -> float:
        """Commands the node has completed so far, from its GET /metrics."""
        url = f"http://127.0.0.1:{self.ports[process.pid]}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("onex_kafka_commands_total{") and 'outcome="completed"' in line
        )

    async def _send(self, records: Iterable[tuple[bytes, bytes]], per_second: float) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.kafka.bootstrap, acks="all", max_request_size=2**21
        )
        await producer.start()
        try:
            for key, value in records:
                await producer.send_and_wait(self.project.command_topic, value, key=key)
                if per_second:
                    await asyncio.sleep(1 / per_second)
        finally:
            await producer.stop()

    def stored(self) -> Counter[str]:
        rows = self.postgres.psql(
            f"SELECT key, count(*) FROM {TABLE} WHERE key LIKE '{self.marker}-%' GROUP BY key",
            self.database,
        )
        return Counter({key: int(n) for key, n in (row.split("|") for row in rows.splitlines())})

    def dead_letters(self) -> list[dict[str, Any]]:
        values = asyncio.run(read_all(self.kafka.bootstrap, self.project.dead_letter_topic))
        return [json.loads(v) for v in values if self.marker.encode() in v]

    def replies(self) -> list[dict[str, Any]]:
        values = asyncio.run(read_all(self.kafka.bootstrap, self.project.terminal_topic))
        return [json.loads(v) for v in values]

    def wait_until_settled(self, expected_dead: int = 0, seconds: float = 40) -> Counter[str]:
        """Poll PostgreSQL until every sent key is stored (or dead-lettered); bounded."""
        deadline = time.monotonic() + seconds
        while True:
            stored = self.stored()
            if len(stored) + expected_dead >= len(self.sent) or time.monotonic() > deadline:
                return stored
            time.sleep(0.3)

    def count(self, stored: Counter[str], dead: list[dict[str, Any]]) -> dict[str, Any]:
        """The tallies every test asserts on (and prints)."""
        dead_keys = {
            str(d["envelope"]["key"])
            for d in dead
            if isinstance(d.get("envelope"), dict) and "key" in d["envelope"]
        }
        return {
            "sent": len(self.sent),
            "stored once": sum(1 for k in self.sent if stored[k] == 1),
            "stored twice or more": sum(1 for k in self.sent if stored[k] > 1),
            "dead-lettered": sum(1 for k in self.sent if k in dead_keys and not stored[k]),
            "lost": sum(1 for k in self.sent if not stored[k] and k not in dead_keys),
            "dead letters without a reason": sum(1 for d in dead if not d.get("reason")),
        }

    def close(self) -> None:
        for process in self.nodes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def run(
    command_project: CommandProject,
    kafka_service: KafkaService,
    postgres_server: PostgresServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Run]:
    name = request.node.name.replace("test_", "")[:40]
    database = f"cp_{uuid4().hex[:8]}"
    postgres_server.create_database(database)
    world = Run(command_project, kafka_service, postgres_server, database, tmp_path)
    asyncio.run(
        start_group_at_the_end(
            kafka_service.bootstrap, command_project.command_topic, f"group-{world.marker}"
        )
    )
    try:
        yield world
    finally:
        world.close()
        print(f"\n{name}: logs in {tmp_path}")


def assert_nothing_lost_or_doubled(counts: dict[str, Any]) -> None:
    print(json.dumps(counts))
    assert counts["lost"] == 0, counts
    assert counts["stored twice or more"] == 0, counts
    assert counts["sent"] == counts["stored once"] + counts["dead-lettered"], counts
    assert counts["dead letters without a reason"] == 0, counts


def test_a_poison_mix_is_dead_lettered_with_reasons_and_every_valid_command_stored_once(
    run: Run,
) -> None:
    run.settings[f"{PREFIX}KAFKA_MAX_MESSAGE_BYTES"] = "20000"
    marker = run.marker
    poison = {
        "RecursionError": b"[" * 10_000 + marker.encode(),  # 10 KB of nesting
        "UnicodeDecodeError": b'{"key": "' + marker.encode() + b'", "bad": "\xff\xfe"}',
        "ValidationError": json.dumps({"operation": "nope", "key": marker}).encode(),
        "CommandTooLargeError": json.dumps({"key": marker, "pad": "x" * 40_000}).encode(),
        "JSONDecodeError": f"not json {marker}".encode(),
    }
    records = [run.command(n) for n in range(20)]
    for position, value in enumerate(poison.values()):
        records.insert(4 * position + 2, (marker.encode(), value))  # spread among the valid
    node = run.start_node()
    run.send(records)
    stored = run.wait_until_settled()
    time.sleep(0.5)
    dead = run.dead_letters()
    health = run.health(node)
    code, _ = run.stop_node(node)

    counts = run.count(stored, dead)
    assert_nothing_lost_or_doubled(counts)
    assert counts["stored once"] == 20
    assert health == 200, "the node is not healthy after the poison"
    assert code == 0
    assert sorted(d["error_type"] for d in dead) == sorted(poison)
    for record in dead:
        assert record["reason"].startswith(record["error_type"]), record["reason"][:200]
        assert record["original_topic"] == run.project.command_topic


def test_a_database_outage_mid_stream_is_retried_and_nothing_is_committed_and_forgotten(
    run: Run,
    private_postgres_server: PostgresServer,
) -> None:
    run.postgres = private_postgres_server  # this test stops its server
    private_postgres_server.create_database(run.database)
    run.settings |= {
        f"{PREFIX}KAFKA_COMMAND_MAX_ATTEMPTS": "10",
        f"{PREFIX}KAFKA_COMMAND_RETRY_BACKOFF_SECONDS": "0.2",
        f"{PREFIX}KAFKA_COMMAND_RETRY_BACKOFF_MAX_SECONDS": "1.5",
    }
    node = run.start_node()
    records = [run.command(n) for n in range(60)]
    sender = threading.Thread(target=run.send, args=(records, 15.0))
    sender.start()
    time.sleep(1.5)
    down_seconds = private_postgres_server.stop()
    time.sleep(3)  # commands keep arriving while PostgreSQL is down
    private_postgres_server.start()
    sender.join(timeout=60)
    stored = run.wait_until_settled()
    dead = run.dead_letters()
    code, _ = run.stop_node(node)

    retries = (run.logs / "node-0.log").read_text().count("retrying")
    counts = run.count(stored, dead) | {"retries logged": retries, "stop_s": round(down_seconds, 1)}
    assert_nothing_lost_or_doubled(counts)
    assert retries > 0, "the outage did not exercise the retry path"
    assert code == 0


def test_sigterm_and_restart_rounds_drain_and_lose_nothing(run: Run) -> None:
    run.settings[f"{PREFIX}KAFKA_DRAIN_TIMEOUT_SECONDS"] = "10"
    exits: list[tuple[int, float]] = []
    backlog_at_sigterm: list[int] = []
    for round_number in range(3):
        # Each round: a burst of commands, SIGTERM as soon as the node is working through it
        # (so commands are in hand and more are waiting), then the next round restarts it.
        # The burst outlasts the polling (a psql call each, tens of ms) by far: the node takes
        # a few thousand commands a second, so a burst of 30 was over before SIGTERM came.
        node = run.start_node()
        before = len(run.stored())
        run.send([run.command(round_number * 1000 + n) for n in range(400)])
        deadline = time.monotonic() + 30
        while len(run.stored()) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        exits.append(run.stop_node(node))
        backlog_at_sigterm.append(len(run.sent) - len(run.stored()))
    last = run.start_node()
    stored = run.wait_until_settled()
    exits.append(run.stop_node(last))
    dead = run.dead_letters()
    drained_late = sum(
        log.read_text().count("drain timed out") for log in run.logs.glob("node-*.log")
    )

    counts = run.count(stored, dead) | {
        "backlog at each SIGTERM": backlog_at_sigterm,
        "exits (code, seconds)": [(code, round(seconds, 1)) for code, seconds in exits],
        "drains timed out": drained_late,
    }
    assert_nothing_lost_or_doubled(counts)
    assert counts["dead-lettered"] == 0
    assert any(backlog_at_sigterm), "no SIGTERM came while commands were waiting"
    assert drained_late == 0, "a command in hand did not finish within the drain timeout"
    assert all(code == 0 and seconds < 30 for code, seconds in exits), exits


def test_a_second_instance_joining_mid_stream_shares_the_work_and_nothing_is_doubled(
    run: Run,
) -> None:
    first = run.start_node()
    # The stream lasts until the second instance has completed commands of its own, then 20
    # more. A stream of fixed length (it was 60 commands in 15 s) could end before the
    # rebalance on a loaded machine: the second instance's start-up takes seconds, tansu answers
    # a JoinGroup only after half the session timeout (5 s), and the first instance hears of it
    # at its next heartbeat; the second then got no share and the test failed.
    joined = threading.Event()
    sender = threading.Thread(target=run.send, args=(run.stream(joined, then=20), 4.0))
    sender.start()
    time.sleep(1.0)
    second = run.start_node()  # the group rebalances while commands flow
    deadline = time.monotonic() + 120
    while not run.completed(second) and time.monotonic() < deadline and sender.is_alive():
        time.sleep(0.5)
    joined.set()
    sender.join(timeout=60)
    stored = run.wait_until_settled()
    exits = [run.stop_node(first), run.stop_node(second)]
    dead = run.dead_letters()
    wanted = set(run.sent)
    by_node = Counter(
        reply["source_node_id"]
        for reply in run.replies()
        if reply.get("payload", {}).get("records")
        and reply["payload"]["records"][0]["key"] in wanted
    )

    counts = run.count(stored, dead) | {"replies per instance": sorted(by_node.values())}
    assert_nothing_lost_or_doubled(counts)
    assert len(by_node) == 2, f"the second instance got no share: {by_node}"
    assert sum(by_node.values()) == len(run.sent)
    assert all(code == 0 for code, _ in exits), exits
