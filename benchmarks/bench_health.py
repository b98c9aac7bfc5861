"""500 concurrent GET /health against a served node, with and without the health cache.

    uv run python benchmarks/bench_health.py [--concurrency 500] [--rounds 5] [--fresh-connections]

Starts PostgreSQL (tests/service_postgres.py) and tansu (the broker of tests/service_kafka.py),
generates an effect node with integrations=[kafka, postgres], creates its .venv, and runs this
file inside it (`--inner`). For each mode, in the same run and on the same services, the node
is served (its service_entry module, as its console script runs it) with
`<PREFIX>HEALTH_CACHE_SECONDS` set:

- cached: 1.0 s (the default): concurrent calls share one run of the dependency checks;
- uncached: 0: every call runs every check (PostgreSQL, Kafka, the lifecycle), as before.

Each round sends `--concurrency` GET /health at once from one aiohttp client in another process
and times each call from send to its whole answer; a warm-up round first opens the client's
connections (kept alive, as a probe's or a load balancer's are), or with --fresh-connections
every call opens its own. The table gives p50/p95/p99/max over all rounds' calls.
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

SERVICE = "bench_health_ledger"
PREFIX = SERVICE.upper() + "_"
MODES = (("cached (1.0 s)", "1.0"), ("uncached (0)", "0"))


def outer(args: argparse.Namespace) -> int:
    """Services, project, .venv; then this file again, inside the project's .venv."""
    from bench_support import generated_project, kafka_broker, postgres_database, run_inner
    from conftest import project_spec

    with (
        generated_project(SERVICE, "effect", ["kafka", "postgres"]) as project,
        kafka_broker() as bootstrap,
        postgres_database("bench_health") as database_url,
    ):
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "DATABASE_URL": database_url,
            f"{PREFIX}KAFKA_ENABLE_IDEMPOTENCE": "false",  # tansu refuses it (service_kafka.py)
            f"{PREFIX}HTTP_HOST": "127.0.0.1",
            f"{PREFIX}HTTP_PORT": "0",
            # Room for every client connection: beyond the cap the oldest idle one is closed.
            f"{PREFIX}HTTP_MAX_CONNECTIONS": str(2 * args.concurrency),
            f"{PREFIX}LOG_LEVEL": "WARNING",
            "BENCH_PACKAGE": project_spec(project.path).package_name,
        }
        arguments = ["--concurrency", str(args.concurrency), "--rounds", str(args.rounds)]
        arguments += ["--fresh-connections"] if args.fresh_connections else []
        return run_inner(project, __file__, arguments, env)


async def one_round(session: object, url: str, concurrency: int) -> list[tuple[float, int]]:
    """(seconds, status) of `concurrency` GET `url` sent at once."""
    import aiohttp

    assert isinstance(session, aiohttp.ClientSession)

    async def call() -> tuple[float, int]:
        began = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
            return time.perf_counter() - began, response.status

    return await asyncio.gather(*(call() for _ in range(concurrency)))


async def measure(port: int, args: argparse.Namespace) -> list[float]:
    import aiohttp

    url = f"http://127.0.0.1:{port}/health"
    connector = aiohttp.TCPConnector(limit=0, force_close=args.fresh_connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        await one_round(session, url, args.concurrency)  # warm-up: connections, caches
        seconds: list[float] = []
        for _ in range(args.rounds):
            results = await one_round(session, url, args.concurrency)
            bad = [status for _, status in results if status != 200]
            if bad:
                raise SystemExit(f"/health answered {sorted(set(bad))}: is a dependency down?")
            seconds.extend(duration for duration, _ in results)
            await asyncio.sleep(0.2)
    return seconds


def serve(cache_seconds: str) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, f"{PREFIX}HEALTH_CACHE_SECONDS": cache_seconds}
    node = subprocess.Popen(
        [sys.executable, "-m", f"{os.environ['BENCH_PACKAGE']}.runtime.service_entry"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert node.stdout is not None
    line = node.stdout.readline()
    if not line:
        raise SystemExit(f"node exited with {node.wait()}")
    return node, int(json.loads(line)["port"])


def inner(args: argparse.Namespace) -> int:
    rows = []
    for label, cache_seconds in MODES:
        node, port = serve(cache_seconds)
        try:
            seconds = asyncio.run(measure(port, args))
        finally:
            node.terminate()
            node.wait(timeout=60)
        rows.append((label, seconds))
    print_table(rows, args)
    return 0


def print_table(rows: list[tuple[str, list[float]]], args: argparse.Namespace) -> None:
    connections = (
        "fresh connection per call" if args.fresh_connections else "kept-alive connections"
    )
    print(
        f"\n{args.concurrency} concurrent GET /health x {args.rounds} rounds, {connections} "
        f"({os.cpu_count()} CPUs)"
    )
    print(f"{'mode':<16}{'calls':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for label, seconds in rows:
        cuts = statistics.quantiles(seconds, n=100)
        p50, p95, p99 = (cuts[i - 1] * 1000 for i in (50, 95, 99))
        print(
            f"{label:<16}{len(seconds):>7}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}"
            f"{max(seconds) * 1000:>9.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fresh-connections", action="store_true")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    return inner(args) if args.inner else outer(args)


if __name__ == "__main__":
    sys.exit(main())
