"""500 concurrent GET /health against a served node: its event loops, with and without the cache.

    uv run python benchmarks/bench_health.py [--concurrency 500] [--rounds 5]
        [--fresh-connections] [--client raw|aiohttp] [--compare REF]

Starts PostgreSQL (tests/service_postgres.py) and tansu (the broker of tests/service_kafka.py),
generates an effect node with integrations=[kafka, postgres] from the committed HEAD, creates
its .venv, and runs this file inside it (`--inner`). Every mode's node is served at once (its
service_entry module, as its console script runs it), on the same services, and the rounds
take turns (mode A, B, C, A, B, C...), so a machine shared with other work loads each mode
alike and an A/B within one run compares like with like:

- uvloop, cached: the defaults (`<PREFIX>EVENT_LOOP=uvloop`, `<PREFIX>HEALTH_CACHE_SECONDS=1.0`):
  concurrent calls share one run of the dependency checks; the client's plain probes are
  answered by each connection from the cached report's bytes (health_endpoint.ProbeAnswers);
- asyncio, cached: `<PREFIX>EVENT_LOOP=asyncio`, the standard library's loop;
- uvloop, uncached: `<PREFIX>HEALTH_CACHE_SECONDS=0`, every call runs every check;
- with `--compare REF` (a commit, branch or tag of this repository), also the node generated
  from REF with its defaults: the A/B of a change against what it changes.

Each round sends `--concurrency` GET /health at once and times each call from the moment its
request is written to its whole answer. The default client (`raw`) writes a prebuilt request on
each of its kept-alive connections and reads only the status line and Content-Length, so the
client's own cost (which shares the machine's cores) stays a small part of what is timed;
`--client aiohttp` times through aiohttp's client instead (~170 us of CPU per call here, which
on 2 cores adds ~85 ms to the last of 500 calls). A warm-up round first opens the connections
(kept alive, as a probe's or a load balancer's are), or with --fresh-connections every call
opens its own. The table gives p50/p95/p99/max over all rounds' calls and the node's CPU time
per call (user + system, from /proc: the number least moved by other load on the machine);
the load average before and after is printed with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

SERVICE = "bench_health_ledger"
PREFIX = SERVICE.upper() + "_"
# (label, settings) of each mode served from the HEAD project.
MODES: tuple[tuple[str, dict[str, str]], ...] = (
    ("uvloop, cached", {"EVENT_LOOP": "uvloop", "HEALTH_CACHE_SECONDS": "1.0"}),
    ("asyncio, cached", {"EVENT_LOOP": "asyncio", "HEALTH_CACHE_SECONDS": "1.0"}),
    ("uvloop, uncached", {"EVENT_LOOP": "uvloop", "HEALTH_CACHE_SECONDS": "0"}),
)
# The pause after each round. A node is probed once per turn of every mode, and the turn must
# stay shorter than the health cache's period (1 s), as under probes that come all the time:
# with four modes at 0.2 s each a node's report expired between its rounds, and each round
# then measured 500 calls waiting for one run of the checks (a burst after an idle period).
ROUND_GAP_SECONDS = 0.05
REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
CLOSING_REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def outer(args: argparse.Namespace) -> int:
    """Services, project(s), .venv(s); then this file again, inside the HEAD project's .venv."""
    import contextlib

    from bench_support import (
        generated_project,
        kafka_broker,
        postgres_database,
        run_inner,
        served_node_env,
    )
    from conftest import project_spec

    with contextlib.ExitStack() as stack:
        project = stack.enter_context(generated_project(SERVICE, "effect", ["kafka", "postgres"]))
        arguments = ["--concurrency", str(args.concurrency), "--rounds", str(args.rounds)]
        arguments += ["--client", args.client]
        arguments += ["--fresh-connections"] if args.fresh_connections else []
        if args.compare:
            baseline = stack.enter_context(
                generated_project(SERVICE, "effect", ["kafka", "postgres"], vcs_ref=args.compare)
            )
            arguments += ["--compare", args.compare, "--compare-python", str(baseline.python)]
        bootstrap = stack.enter_context(kafka_broker())
        database_url = stack.enter_context(postgres_database("bench_health"))
        env = served_node_env(
            PREFIX, bootstrap, database_url, project_spec(project.path).package_name
        )
        # Room for every client connection: beyond the cap the oldest idle one is closed.
        env[f"{PREFIX}HTTP_MAX_CONNECTIONS"] = str(2 * args.concurrency)
        return run_inner(project, __file__, arguments, env)


class Probe(asyncio.Protocol):
    """One connection of the raw client: writes a prebuilt GET /health and resolves `answer`
    with (the time its whole answer arrived, its status). It reads the status line and
    Content-Length only: /health always answers with a length (aiohttp sets it)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answer: asyncio.Future[tuple[float, int]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def ask(self, request: bytes = REQUEST) -> asyncio.Future[tuple[float, int]]:
        """Write `request`; the future resolves once its answer is whole."""
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.answer

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.answer is None:
            return
        head = bytes(self.buffer[:end]).lower()
        length = int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        if len(self.buffer) < end + 4 + length:
            return
        status = int(self.buffer[9:12])  # "HTTP/1.1 200 OK"
        del self.buffer[: end + 4 + length]
        self.answer.set_result((time.perf_counter(), status))
        self.answer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError(f"connection lost before the answer: {exc}"))


@dataclass
class Target:
    """One served node: its label, process and port, and what was measured of it."""

    label: str
    node: subprocess.Popen[str]
    port: int
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    probes: list[Probe] = field(default_factory=list)
    session: object = None  # the aiohttp client's session (--client aiohttp)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def raw_round(target: Target, concurrency: int, fresh: bool) -> list[tuple[float, int]]:
    """(seconds, status) of `concurrency` GET /health sent at once by the raw client."""
    loop = asyncio.get_running_loop()
    if fresh:

        async def call() -> tuple[float, int]:
            began = time.perf_counter()
            transport, probe = await loop.create_connection(Probe, "127.0.0.1", target.port)
            try:
                answered, status = await probe.ask(CLOSING_REQUEST)
            finally:
                transport.close()
            return answered - began, status

        return await asyncio.gather(*(call() for _ in range(concurrency)))
    if not target.probes:  # first round: open the kept-alive connections (not timed)
        opened = await asyncio.gather(
            *(loop.create_connection(Probe, "127.0.0.1", target.port) for _ in range(concurrency))
        )
        target.probes = [probe for _, probe in opened]
    sent: list[float] = []
    answers = []
    for probe in target.probes:
        sent.append(time.perf_counter())
        answers.append(probe.ask())
    results = await asyncio.gather(*answers)
    return [
        (answered - began, status) for began, (answered, status) in zip(sent, results, strict=True)
    ]


async def aiohttp_round(target: Target, concurrency: int, fresh: bool) -> list[tuple[float, int]]:
    """(seconds, status) of `concurrency` GET /health sent at once by aiohttp's client."""
    import aiohttp

    if target.session is None:
        connector = aiohttp.TCPConnector(limit=0, force_close=fresh)
        target.session = aiohttp.ClientSession(connector=connector)
    session = target.session
    assert isinstance(session, aiohttp.ClientSession)
    url = f"http://127.0.0.1:{target.port}/health"

    async def call() -> tuple[float, int]:
        began = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
            return time.perf_counter() - began, response.status

    return await asyncio.gather(*(call() for _ in range(concurrency)))


async def measure(targets: list[Target], args: argparse.Namespace) -> None:
    """A warm-up round per target, then `rounds` rounds taking turns between the targets."""
    one_round: Callable[[Target, int, bool], Awaitable[list[tuple[float, int]]]] = (
        raw_round if args.client == "raw" else aiohttp_round
    )
    try:
        for target in targets:  # warm-up: connections, caches
            await one_round(target, args.concurrency, args.fresh_connections)
        for _ in range(args.rounds):
            for target in targets:
                before = cpu_seconds(target.node.pid)
                results = await one_round(target, args.concurrency, args.fresh_connections)
                target.cpu_seconds += cpu_seconds(target.node.pid) - before
                bad = [status for _, status in results if status != 200]
                if bad:
                    raise SystemExit(
                        f"{target.label}: /health answered {sorted(set(bad))}: "
                        "is a dependency down?"
                    )
                target.seconds.extend(duration for duration, _ in results)
                await asyncio.sleep(ROUND_GAP_SECONDS)
    finally:
        for target in targets:
            for probe in target.probes:
                if probe.transport is not None:
                    probe.transport.close()
            if target.session is not None:
                import aiohttp

                assert isinstance(target.session, aiohttp.ClientSession)
                await target.session.close()


def serve(label: str, python: str, settings: dict[str, str]) -> Target:
    env = {**os.environ, **{PREFIX + name: value for name, value in settings.items()}}
    # A consumer group per node: one shared group would rebalance as each node joins.
    env[f"{PREFIX}KAFKA_CONSUMER_GROUP"] = f"bench-health-{label}".replace(", ", "-")
    node = subprocess.Popen(
        [python, "-m", f"{os.environ['BENCH_PACKAGE']}.runtime.service_entry"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert node.stdout is not None
    line = node.stdout.readline()
    if not line:
        raise SystemExit(f"{label}: node exited with {node.wait()}")
    return Target(label, node, int(json.loads(line)["port"]))


def inner(args: argparse.Namespace) -> int:
    modes = [(label, sys.executable, settings) for label, settings in MODES]
    if args.compare:
        modes.append((f"{args.compare}, defaults", args.compare_python, {}))
    targets: list[Target] = []
    load_before = os.getloadavg()
    try:
        for label, python, settings in modes:
            targets.append(serve(label, python, settings))
        asyncio.run(measure(targets, args))
    finally:
        for target in targets:
            target.node.terminate()
            target.node.wait(timeout=60)
    print_table(targets, args, load_before, os.getloadavg())
    return 0


def print_table(
    targets: list[Target],
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    connections = (
        "fresh connection per call" if args.fresh_connections else "kept-alive connections"
    )
    print(
        f"\n{args.concurrency} concurrent GET /health x {args.rounds} rounds, {connections}, "
        f"{args.client} client ({os.cpu_count()} CPUs; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after)"
    )
    print(
        f"{'mode':<24}{'calls':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'CPU us/call':>13}"
    )
    for target in targets:
        seconds = target.seconds
        cuts = statistics.quantiles(seconds, n=100)
        p50, p95, p99 = (cuts[i - 1] * 1000 for i in (50, 95, 99))
        cpu = target.cpu_seconds / len(seconds) * 1e6
        print(
            f"{target.label:<24}{len(seconds):>7}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}"
            f"{max(seconds) * 1000:>9.1f}{cpu:>13.0f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fresh-connections", action="store_true")
    parser.add_argument("--client", choices=("raw", "aiohttp"), default="raw")
    parser.add_argument("--compare", metavar="REF", help="also serve the node generated from REF")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--compare-python", help=argparse.SUPPRESS)
    args = parser.parse_args()
    return inner(args) if args.inner else outer(args)


if __name__ == "__main__":
    sys.exit(main())
