"""What tracing costs a generated node when nothing configures it, and what it costs when on.

    uv run python benchmarks/bench_tracing.py [--calls 2000] [--rounds 7]

Generates a compute node with integrations=[kafka] into a temporary folder, creates its .venv
with uv, and re-runs this file inside that .venv (`--inner`). The node gets omnibase_core's
in-memory event bus (no broker needed: the Kafka-only tracing hook is timed on its own below).
One table is printed, CPU microseconds (time.process_time) per call, median and min-max over
interleaved `--rounds`, so the other load on a shared machine barely moves them:

- node.handle() with the tracing hooks bypassed (the baseline: OperationRunner.invoke calls
  straight into its body, and the log lines' trace-id lookup is a constant None);
- node.handle() as generated, tracing not configured (no OTEL_* variable set);
- the difference, absolute and as a share of the baseline;
- node.handle() with tracing on (the SDK, one span per operation, exported to the SDK's
  in-memory exporter as each ends): what turning it on costs, for scale;

and nanoseconds per call of each hook while tracing is off (operation_span enter and exit,
current_trace_id, message_headers, consumed_message), timed with timeit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import timeit
from typing import Any

SERVICE = "bench_tracing_node"

# (measurement, unit, median, (min, max) over rounds or None)
type Row = tuple[str, str, float, tuple[float, float] | None]


def outer(args: argparse.Namespace) -> int:
    """Project and .venv; then this file again, inside the project's .venv."""
    from bench_support import generated_project, run_inner

    with generated_project(SERVICE, "compute", ["kafka"]) as project:
        env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
        return run_inner(
            project, __file__, ["--calls", str(args.calls), "--rounds", str(args.rounds)], env
        )


async def inner(args: argparse.Namespace) -> list[Row]:
    """The rows, measured inside the generated project's .venv."""
    import logging

    from bench_tracing_node.nodes.node_bench_tracing_node_compute.handler import (
        NodeBenchTracingNodeCompute,
    )
    from bench_tracing_node.nodes.node_bench_tracing_node_compute.models.model_bench_tracing_node_input import (
        ModelBenchTracingNodeInput,
    )
    from bench_tracing_node.runtime import node_logging, tracing
    from bench_tracing_node.runtime.operation_runner import OperationRunner
    from omnibase_core.event_bus.event_bus_inmemory import EventBusInmemory
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    # The node logs at INFO (its default) to /dev/null, as in production its JSON lines go to
    # a file or a pipe.
    node_logging.configure_logging("INFO")
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115
    bus = EventBusInmemory()
    await bus.start()
    node = NodeBenchTracingNodeCompute(event_bus=bus)
    await node.startup()
    request = ModelBenchTracingNodeInput()

    shipped_invoke = OperationRunner.invoke
    shipped_trace_id = node_logging.current_trace_id

    def bypass_hooks() -> None:
        OperationRunner.invoke = OperationRunner._invoke  # type: ignore[method-assign]
        node_logging.current_trace_id = lambda: None

    def as_shipped() -> None:
        OperationRunner.invoke = shipped_invoke  # type: ignore[method-assign]
        node_logging.current_trace_id = shipped_trace_id

    async def calls() -> float:
        start = time.process_time()
        for _ in range(args.calls):
            await node.handle(request)
        return (time.process_time() - start) / args.calls * 1e6

    assert not tracing.tracing_enabled(), "an OTEL_* variable leaked in"
    for setup in (bypass_hooks, as_shipped):  # warm up both paths
        setup()
        for _ in range(200):
            await node.handle(request)
    timings: dict[str, list[float]] = {"baseline": [], "off": [], "on": []}
    for _ in range(args.rounds):
        bypass_hooks()
        timings["baseline"].append(await calls())
        as_shipped()
        timings["off"].append(await calls())
        await bus.clear_event_history()  # the in-memory bus keeps a history; keep it from growing

    # Off, each hook alone (ns per call).
    correlation_id = request.correlation_id
    message = type("Record", (), {"headers": (), "topic": "t", "partition": 0, "offset": 0})()

    def span_off() -> None:
        with tracing.operation_span("op", correlation_id):
            pass

    def consumed_off() -> None:
        with tracing.consumed_message(message):
            pass

    hooks = {
        "operation_span() enter+exit": span_off,
        "current_trace_id()": tracing.current_trace_id,
        "message_headers()": tracing.message_headers,
        "consumed_message() enter+exit": consumed_off,
    }
    hook_rows: list[Row] = []
    for name, hook in hooks.items():
        timer = timeit.Timer(hook, timer=time.process_time)
        each = [t / 100_000 * 1e9 for t in timer.repeat(number=100_000, repeat=5)]
        hook_rows.append((f"  off: {name}", "ns", min(each), (min(each), max(each))))

    # On: the SDK with one in-memory exporter (can only be turned on once per process).
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing(exporter)
    for _ in range(200):
        await node.handle(request)
    for _ in range(args.rounds):
        exporter.clear()
        timings["on"].append(await calls())
        await bus.clear_event_history()
    await node.shutdown()

    def row(name: str, values: list[float]) -> Row:
        return (name, "us", statistics.median(values), (min(values), max(values)))

    baseline, off = statistics.median(timings["baseline"]), statistics.median(timings["off"])
    return [
        row("node.handle(), tracing hooks bypassed (baseline)", timings["baseline"]),
        row("node.handle(), tracing not configured (as generated)", timings["off"]),
        (
            f"  difference ({(off - baseline) / baseline * 100:+.1f}% of the baseline)",
            "us",
            off - baseline,
            None,
        ),
        row("node.handle(), tracing on (SDK, in-memory exporter)", timings["on"]),
        *hook_rows,
    ]


def print_table(rows: list[Row], args: Any) -> None:
    print(f"\n{args.calls} calls x {args.rounds} rounds; CPU time (time.process_time)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'measurement':<58} {'median':>9}  spread (min-max)")
    for name, unit, value, spread in rows:
        line = f"{name:<58} {value:>6.1f} {unit}"
        if spread is not None:
            line += f"  {spread[0]:.1f}-{spread[1]:.1f}"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved repeats")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.inner:
        return outer(args)
    print_table(asyncio.run(inner(args)), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
