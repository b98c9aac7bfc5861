"""Runs inside a generated project's .venv: a live node the test probes while it stops and
restarts the node's PostgreSQL or Redis.

The node is the project's one `onex.nodes` entry point, built with its settings from the
environment (DATABASE_URL / REDIS_URL). argv[1] is the project's package, argv[2] the JSON of
the request to send. Protocol, one JSON object per line:

    stdout {"event": "started", "startup_ms": ...}        (after node.startup())
    stdin  "probe" -> {"event": "probe", "health": "healthy|degraded|unhealthy",
                       "result": "ok" | "<error code>", "response": {...} | null,
                       "operation_ms": ..., "health_ms": ...}

Every probe sends a new request built from the JSON (so a new correlation id, unless the JSON
fixes one: then every probe is a redelivery of the same command); "response" is the reply's
JSON when the operation succeeded, so the test can check what the store kept.
    stdin  "stop"  -> {"event": "done"} after node.shutdown()

OutageProbe, at the end, is the test side of that protocol (standard library only, like the
driver, so the one file serves both interpreters).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, get_type_hints


def emit(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


async def main() -> None:
    package, fields = sys.argv[1], json.loads(sys.argv[2])
    (entry,) = [e for e in entry_points(group="onex.nodes") if e.module.startswith(package + ".")]
    node_class = entry.load()
    request_model = get_type_hints(node_class.handle)["request"]
    node = node_class()
    began = time.perf_counter()
    await node.startup()
    emit({"event": "started", "startup_ms": round((time.perf_counter() - began) * 1000, 1)})
    loop = asyncio.get_running_loop()
    while (command := (await loop.run_in_executor(None, sys.stdin.readline)).strip()) == "probe":
        began = time.perf_counter()
        health = await node.health_check_async()
        health_ms = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        response: dict[str, Any] | None = None
        try:
            reply = await node.handle(request_model(**fields))
            response = reply.model_dump(mode="json")
            result = "ok"
        except Exception as exc:  # reported to the test, which asserts on the code
            result = str(getattr(exc, "error_code", type(exc).__name__))
        emit(
            {
                "event": "probe",
                "health": str(getattr(health.status, "value", health.status)),
                "result": result,
                "response": response,
                "operation_ms": round((time.perf_counter() - began) * 1000, 1),
                "health_ms": round(health_ms, 1),
            }
        )
    await node.shutdown()
    emit({"event": "done", "command": command})


if __name__ == "__main__":
    asyncio.run(main())


class OutageProbe:
    """Test side: starts this driver with a project's python and talks the protocol above."""

    def __init__(self, project: Path, package: str, env: dict[str, str], request: dict[str, Any]):
        self._process = subprocess.Popen(
            [str(project / ".venv" / "bin" / "python"), __file__, package, json.dumps(request)],
            cwd=project,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.started = self._read()

    def probe(self) -> dict[str, Any]:
        return self._send("probe")

    def probe_until_ok(self, timeout: float) -> tuple[dict[str, Any], float, int]:
        """Probe until an operation succeeds: (that probe, seconds waited, probes sent)."""
        began = time.perf_counter()
        probes = 0
        while True:
            result = self.probe()
            probes += 1
            if result["result"] == "ok" or time.perf_counter() - began > timeout:
                return result, time.perf_counter() - began, probes
            time.sleep(0.05)

    def kill(self) -> None:
        """End the node as a crash would: SIGKILL, no shutdown."""
        self._process.kill()
        self._process.wait()

    def close(self) -> None:
        try:
            self._send("stop")
            self._process.wait(timeout=30)
        finally:
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()

    def _send(self, command: str) -> dict[str, Any]:
        self._write(command)
        return self._read()

    def _write(self, command: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the outage driver exited with {self._process.wait()}")
        message: dict[str, Any] = json.loads(line)
        return message


def probe_all(probes: list[OutageProbe]) -> list[dict[str, Any]]:
    """Probe every node at once (each gets its command before any answer is read)."""
    for probe in probes:
        probe._write("probe")
    return [probe._read() for probe in probes]
