"""Commands per second through a served node's Kafka consumer into PostgreSQL, beside a plain loop.

    uv run python benchmarks/bench_commands.py [--commands 2000] [--rounds 3] [--partitions 4]
        [--db-delay-ms 0]

Starts PostgreSQL (tests/service_postgres.py) and tansu (the broker of tests/service_kafka.py),
generates an effect node with integrations=[kafka, postgres], creates its .venv, and runs this
file inside it (`--inner`). Both command topics are created with `--partitions` partitions, as
a production command topic is partitioned so that instances can share it. Each round, on the
same broker and database:

- node: `--commands` create_record commands are produced to the node's command topic, then the
  served node (its service_entry module, as its console script runs it) starts with a fresh
  consumer group and stores each one with its idempotency key (events, metrics, logs at
  WARNING, outcome replies: everything it does in production);
- plain loop: the same commands on a new topic of their own each round, consumed by a bare
  aiokafka consumer (getmany, commit after each batch) that INSERTs each into a table with the
  same unique key (ON CONFLICT DO NOTHING) through asyncpg, in a child process like the node.
  It handles one message at a time, as a plain loop does; the node handles a batch's
  partitions side by side (each in order), which is why the partition count is printed with
  the table;
- plain loop + the node's records: the plain loop again, also writing per command the Kafka
  records the node wrote per command in its first round (counted on each topic the node
  publishes to, and one of each read back as the sample), JSON-encoded per command with the
  command's correlation id and sent as record batches; it commits once their acks are in. It
  shows what keeping every event costs by itself, without the node's layers, so the node can
  be read against the plain loop and against what the same Kafka work costs a plain loop.

Both are timed the same way from outside, by polling the row count: from the first row stored
to the last, so the node's start-up and the group join are not counted; over the same span the
child's CPU time (Linux /proc) says how much of each command's time was its own work, and the
machine's (all processes: broker and database too) what the whole path costs. The
table gives the median and spread over rounds, and the ratio node / plain loop: per round (the
two run back to back, so a slow spell of the machine slows both), their median and spread.

`--db-delay-ms D` reaches PostgreSQL, for node, plain loop and poller alike, through a proxy
(tests/service_kafka.py's TcpProxy) that holds every packet back D ms each way, as a database
on another host would. Its timers fire on the event loop's millisecond clock, so a round trip
grows by a little more than 2 D; the table prints what D was asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

SERVICE = "bench_commands_ledger"
PREFIX = SERVICE.upper() + "_"
TABLE = f"{SERVICE}_records"
PLAIN_TABLE = "plain_records"
NODE = "served node"
PLAIN = "plain aiokafka + asyncpg loop"
PLAIN_WITH_EVENTS = "  + the node's records"


def outer(args: argparse.Namespace) -> int:
    """Services, project, .venv; then this file again, inside the project's .venv."""
    from bench_support import (
        generated_project,
        kafka_broker,
        postgres_database,
        run_inner,
        served_node_env,
    )
    from conftest import project_spec

    with (
        generated_project(SERVICE, "effect", ["kafka", "postgres"]) as project,
        kafka_broker() as bootstrap,
        postgres_database("bench_commands", args.db_delay_ms) as database_url,
    ):
        spec = project_spec(project.path)
        env = served_node_env(PREFIX, bootstrap, database_url, spec.package_name)
        env["BENCH_COMMAND_TOPIC"] = spec.command_topic
        arguments = ["--commands", str(args.commands), "--rounds", str(args.rounds)]
        arguments += ["--partitions", str(args.partitions)]
        arguments += ["--db-delay-ms", str(args.db_delay_ms)]
        arguments += ["--profile-node", args.profile_node] if args.profile_node else []
        arguments += ["--py-spy", args.py_spy] if args.py_spy else []
        return run_inner(project, __file__, arguments, env)


def commands(count: int, marker: str) -> list[tuple[bytes, bytes]]:
    """(key, value) of `count` create_record commands, keys unique to this round."""
    records = []
    for number in range(count):
        key = f"{marker}-{number}"
        body = {
            "operation": "create_record",
            "correlation_id": str(uuid4()),
            "key": key,
            "data": {"n": number},
        }
        records.append((key.encode(), json.dumps(body).encode()))
    return records


async def start_group_at_the_end(topic: str, group: str) -> None:
    """Commit the topic's end offsets for `group`, so its node reads only what comes next
    (the node's consumer starts a new group at the earliest offset: earlier rounds' commands)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        group_id=group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster's metadata
        known = consumer.partitions_for_topic(topic) or set()
        partitions = [TopicPartition(topic, p) for p in sorted(known)]
        consumer.assign(partitions)
        await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def create_topic(topic: str, partitions: int) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1)]
        )
    finally:
        await admin.close()


async def produce(topic: str, records: list[tuple[bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    await producer.start()
    try:
        acks = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


def py_spy(pid: int, directory: str, round_number: int) -> subprocess.Popen[bytes]:
    """py-spy sampling the node at 250 Hz into DIRECTORY/node-<round>.txt (collapsed stacks:
    one line per stack, its frames joined by ';', then its sample count)."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    command = ["py-spy", "record", "-r", "250", "-f", "raw", "--pid", str(pid)]
    command += ["-o", str(Path(directory) / f"node-{round_number}.txt")]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def spy_starter(
    spies: list[subprocess.Popen[bytes]], pid: int, directory: str, round_number: int
) -> Callable[[], None]:
    """What starts py-spy on `pid` once the first rows are stored (the process into `spies`)."""
    return lambda: spies.append(py_spy(pid, directory, round_number))


@dataclass(frozen=True)
class Timing:
    """One round of one row, from the first row stored to the last."""

    seconds: float
    cpu: float  # CPU seconds of the node or plain loop process
    machine_cpu: float  # CPU seconds of every process: broker, database and poller too


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far, all cores (Linux /proc/stat: everything
    but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def timed_rows(
    connection: Any,
    table: str,
    marker: str,
    count: int,
    pid: int,
    on_first: Callable[[], object] | None = None,
) -> Timing:
    """Seconds, CPU seconds of `pid` and of the machine, from the first of `count` rows stored
    to the last.

    Polls every 5 ms; rows stored before the first poll saw any are scaled in. `on_first` is
    called once the first rows are seen (the profiler starts then: steady state only).
    """
    import asyncpg

    query = f"SELECT count(*) FROM {table} WHERE key LIKE $1"
    first = None
    deadline = time.monotonic() + 600
    stored = 0
    while time.monotonic() < deadline:
        try:
            stored = await connection.fetchval(query, f"{marker}-%")
        except asyncpg.UndefinedTableError:  # the node creates its table when it starts
            stored = 0
        now = time.perf_counter()
        if stored and first is None:
            first, first_stored, first_cpu = now, stored, cpu_seconds(pid)
            first_machine = machine_cpu_seconds()
            if on_first is not None:
                on_first()
        if stored >= count:
            assert first is not None
            scale = count / max(count - first_stored, 1)
            return Timing(
                (now - first) * scale,
                (cpu_seconds(pid) - first_cpu) * scale,
                (machine_cpu_seconds() - first_machine) * scale,
            )
        await asyncio.sleep(0.005)
    raise TimeoutError(f"only {stored} of {count} rows in {table} after 600 s")


async def end_offsets(topics: list[str]) -> dict[str, int]:
    """Records written so far to each topic (its partitions' end offsets summed; 0 for a
    topic that does not exist yet)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    await consumer.start()
    try:
        existing = await consumer.topics()
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            if topic in existing
            for p in sorted(consumer.partitions_for_topic(topic) or set())
        ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        return {topic: sum(n for tp, n in ends.items() if tp.topic == topic) for topic in topics}
    finally:
        await consumer.stop()


async def last_record(topic: str) -> bytes:
    """The value of one of the last records of `topic` (from its fullest partition)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = await consumer.end_offsets(partitions)
        fullest = max(partitions, key=lambda tp: ends[tp])
        consumer.assign([fullest])
        consumer.seek(fullest, max(ends[fullest] - 1, 0))
        message = await asyncio.wait_for(consumer.getone(), timeout=30)
        assert message.value is not None
        return message.value
    finally:
        await consumer.stop()


async def node_records(before: dict[str, int], count: int) -> list[tuple[str, dict[str, Any]]]:
    """What the node wrote per command in the round just run: (topic, a record of it as
    written), once for each record a command wrote there (the round's new records on the topic
    over `count`, rounded)."""
    after = await end_offsets(list(before))
    written = []
    for topic, start in before.items():
        per_command = round((after[topic] - start) / count)
        if per_command:
            sample = json.loads(await last_record(topic))
            written += [(topic, sample)] * per_command
    return written


async def plain_loop(topic: str, count: int, samples_file: str | None) -> None:
    """The baseline: consume, INSERT with the unique key, commit after each batch.

    With `samples_file` (node_records()' list), it also writes per command the records the node
    wrote per command: each is the node's own record (read back from its topic) with the
    command's correlation id, JSON-encoded again per command. They go out as record batches,
    one per topic partition and consumed batch (the command's partition, modulo the topic's
    count), as the node sends its replies; the offsets are committed once every ack is in.
    """
    import asyncpg
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    samples = json.loads(Path(samples_file).read_text()) if samples_file else []
    connection = await asyncpg.connect(os.environ["DATABASE_URL"])
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"plain-{uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await consumer.start()
    await producer.start()  # unused without samples; started all the same, before the timed span
    partitions = {name: sorted(await producer.partitions_for(name)) for name, _ in samples}
    done = 0
    try:
        while done < count:
            batches = await consumer.getmany(timeout_ms=500)
            open_batches: dict[tuple[str, int], Any] = {}
            acks = []
            for messages in batches.values():
                for message in messages:
                    body = json.loads(message.value)
                    await connection.execute(
                        f"INSERT INTO {PLAIN_TABLE} (key, correlation_id, data)"
                        " VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
                        body["key"],
                        body["correlation_id"],
                        json.dumps(body["data"]),
                    )
                    for name, sample in samples:
                        record = json.dumps({**sample, "correlation_id": body["correlation_id"]})
                        choices = partitions[name]
                        where = (name, choices[message.partition % len(choices)])
                        if where not in open_batches:
                            open_batches[where] = producer.create_batch()
                        batch = open_batches[where]
                        if batch.append(key=None, value=record.encode(), timestamp=None) is None:
                            batch.close()  # full: send it, start another
                            acks.append(await producer.send_batch(batch, name, partition=where[1]))
                            batch = open_batches[where] = producer.create_batch()
                            batch.append(key=None, value=record.encode(), timestamp=None)
                    done += 1
            for (name, partition), batch in open_batches.items():
                batch.close()  # a closed batch is sent at once, not held for the linger
                acks.append(await producer.send_batch(batch, name, partition=partition))
            if acks:
                await asyncio.gather(*acks)
            if batches:
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
        await connection.close()


async def inner(args: argparse.Namespace) -> list[tuple[str, list[Timing]]]:
    """Rounds of node and plain loop; (row name, its Timing per round)."""
    import asyncpg

    topic = os.environ["BENCH_COMMAND_TOPIC"]
    connection = await asyncpg.connect(os.environ["DATABASE_URL"])
    await connection.execute(
        f"CREATE TABLE IF NOT EXISTS {PLAIN_TABLE}"
        " (key text PRIMARY KEY, correlation_id uuid NOT NULL, data jsonb NOT NULL)"
    )
    await create_topic(topic, args.partitions)
    python = sys.executable
    package = os.environ["BENCH_PACKAGE"]
    publish_topics = list(importlib.import_module(f"{package}.events.event_topics").PUBLISH_TOPICS)
    samples_file = Path(tempfile.mkdtemp()) / "node_records.json"
    seconds: dict[str, list[Timing]] = {NODE: [], PLAIN: [], PLAIN_WITH_EVENTS: []}
    for _ in range(args.rounds):
        marker = uuid4().hex[:12]
        if seconds[NODE]:  # the topic exists from the first round on
            await start_group_at_the_end(topic, f"bench-{marker}")
        await produce(topic, commands(args.commands, marker))
        first_round = not seconds[NODE]
        written_before = await end_offsets(publish_topics) if first_round else {}
        env = {**os.environ, f"{PREFIX}KAFKA_CONSUMER_GROUP": f"bench-{marker}"}
        profile = ["-m", "cProfile", "-o", args.profile_node] if args.profile_node else []
        node = subprocess.Popen(
            [python, *profile, "-m", f"{package}.runtime.service_entry"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        spies: list[subprocess.Popen[bytes]] = []
        number = len(seconds[NODE])
        start_spy = spy_starter(spies, node.pid, args.py_spy, number) if args.py_spy else None
        try:
            seconds[NODE].append(
                await timed_rows(connection, TABLE, marker, args.commands, node.pid, start_spy)
            )
        finally:
            for spy in spies:
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
                spy.wait(timeout=60)
            node.terminate()
            node.wait(timeout=60)
        if first_round:  # what the node writes per command, counted in its first round
            written = await node_records(written_before, args.commands)
            samples_file.write_text(json.dumps(written))
        if args.profile_node:
            import pstats

            pstats.Stats(args.profile_node).sort_stats("tottime").print_stats(25)

        for row, extra in ((PLAIN, []), (PLAIN_WITH_EVENTS, ["--samples", str(samples_file)])):
            marker = uuid4().hex[:12]
            # A topic of its own each round: the plain loop's new group starts at the earliest
            # offset, and on a shared topic it would read every earlier round's commands again.
            plain_topic = f"bench-plain-{marker}"
            await create_topic(plain_topic, args.partitions)
            await produce(plain_topic, commands(args.commands, marker))
            loop = [python, __file__, "--plain-loop", plain_topic, "--commands", str(args.commands)]
            plain = subprocess.Popen([*loop, *extra])
            try:
                seconds[row].append(
                    await timed_rows(connection, PLAIN_TABLE, marker, args.commands, plain.pid)
                )
            finally:
                plain.wait(timeout=60)
    await connection.close()
    written = json.loads(samples_file.read_text())
    samples_file.unlink()
    samples_file.parent.rmdir()
    print(f"\nrecords the node wrote per command: {len(written)}, on {[t for t, _ in written]}")
    return list(seconds.items())


def print_table(rows: list[tuple[str, list[Timing]]], args: argparse.Namespace) -> None:
    count = args.commands
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"command topics: {args.partitions} partitions each")
    if args.db_delay_ms:
        print(f"database: behind a proxy holding each packet back {args.db_delay_ms} ms each way")
    else:
        print("database: on this machine, reached directly (loopback)")
    header = f"{'commands into PostgreSQL':<34} {'count':>6} {'median/s':>9} {'CPU us each':>12}"
    print(f"{header} {'machine CPU':>12}  spread (per second)")
    for name, rounds in rows:
        per_second = sorted(count / timing.seconds for timing in rounds)
        cpu = statistics.median(timing.cpu for timing in rounds) / count * 1e6
        machine = statistics.median(timing.machine_cpu for timing in rounds) / count * 1e6
        rate = statistics.median(per_second)
        spread = f"{per_second[0]:,.0f}-{per_second[-1]:,.0f} ({len(rounds)} rounds)"
        print(f"{name:<34} {count:>6} {rate:>9,.0f} {cpu:>12,.0f} {machine:>12,.0f}  {spread}")
    timings = dict(rows)
    for name, label in ((PLAIN, "plain loop"), (PLAIN_WITH_EVENTS, "loop + records")):
        # Per round: plain seconds / node seconds is node rate / plain rate.
        pairs = zip(timings[NODE], timings[name], strict=True)
        ratios = sorted(p.seconds / n.seconds for n, p in pairs)
        ratio = f"{statistics.median(ratios):>8.2f}x  {ratios[0]:.2f}-{ratios[-1]:.2f} (per round)"
        print(f"{'  served node / ' + label:<34} {'':>6} {ratio}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=4, help="of both command topics")
    parser.add_argument(
        "--db-delay-ms",
        type=float,
        default=0.0,
        help="reach PostgreSQL through a proxy adding this much each way (a database elsewhere)",
    )
    parser.add_argument("--profile-node", metavar="FILE", help="cProfile the node; print top 25")
    parser.add_argument(
        "--py-spy", metavar="DIR", help="sample the node with py-spy (on PATH) into DIR"
    )
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plain-loop", metavar="TOPIC", help=argparse.SUPPRESS)
    parser.add_argument("--samples", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_loop:
        asyncio.run(plain_loop(args.plain_loop, args.commands, args.samples))
        return 0
    if not args.inner:
        return outer(args)
    print_table(asyncio.run(inner(args)), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
