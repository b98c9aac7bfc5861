"""The served node's HTTP endpoint under hostile clients (loopback only, bounded loops).

A default project's node is served with a 1,024-file limit (set in the child), then: 1,100
idle connections are opened and /health still answers; oversized headers get 431 and an
oversized body 413; a slow-loris client is cut after the header timeout; a malformed request
is one structured log line; and the log stays small (no flood of "Too many open files").
GET and HEAD /health take the endpoint's light path (past the router): pipelined on one
kept-alive connection with a routed GET /metrics, each is answered in order, HEAD without a
body; and the node serves on uvloop, as its 'serving' line says. Plain probes are answered by
the connection itself with what aiohttp would answer, until the connection's first other
request; such a connection still closes when idle past the keep-alive timeout, and the header
timeout applies again to its first routed request.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import node_class_path, project_answers, project_spec

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("default_project")]

FILE_LIMIT = 1024
IDLE_CONNECTIONS = 1100
HEADER_TIMEOUT_SECONDS = 1.0
KEEPALIVE_TIMEOUT_SECONDS = 2.0
PROBE = b"GET /health HTTP/1.1\r\nHost: x\r\nUser-Agent: kube-probe/1.29\r\nAccept: */*\r\n\r\n"


def limit_open_files() -> None:
    """Runs in the node's process before it starts: the low file limit of the issue."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, hard))


@pytest.fixture
def served(default_project: Path, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """(port, stderr log) of the default project's node, serving with FILE_LIMIT files."""
    prefix = project_answers(default_project)["service_name"].upper() + "_"
    script = project_answers(default_project)["service_name"].replace("_", "-")
    log = tmp_path / "node.stderr"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(default_project / ".venv" / "bin" / script)],
            cwd=default_project,
            env={
                **os.environ,
                f"{prefix}HTTP_HOST": "127.0.0.1",
                f"{prefix}HTTP_PORT": "0",
                f"{prefix}HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT_SECONDS),
                f"{prefix}HTTP_KEEPALIVE_TIMEOUT_SECONDS": str(KEEPALIVE_TIMEOUT_SECONDS),
            },
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            preexec_fn=limit_open_files,  # the test process starts no threads
        )
    try:
        assert process.stdout is not None
        port = None
        for _ in range(50):  # the serving line comes after a few log lines at most
            line = process.stdout.readline()
            if not line:
                break
            if '"serving"' in line:
                port = int(json.loads(line)["port"])
                break
        assert port is not None, log.read_text()[-3000:]
        yield port, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def exchange(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Send `request` on a new connection; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        client.sendall(request)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


def ask(client: socket.socket, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request on a kept-alive connection."""
    client.sendall(request)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = client.recv(65536)
        assert chunk, f"closed after {answer!r}"
        answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    length = 0 if request.startswith(b"HEAD") else int(headers["Content-Length"])
    while len(body) < length:
        chunk = client.recv(65536)
        assert chunk, f"closed after {answer!r}"
        body += chunk
    assert len(body) == length, (body, length)  # nothing beyond the one answer
    return int(lines[0].split(" ", 2)[1]), headers, body


def closed_within(client: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed `client` (None: still open after `seconds`)."""
    began = time.monotonic()
    client.settimeout(seconds)
    try:
        assert client.recv(1) == b""
    except TimeoutError:
        return None
    return time.monotonic() - began


def run_in_project(project: Path, code: str) -> subprocess.CompletedProcess[str]:
    """`code` run by the project's own Python (its .venv), in the project; it must succeed."""
    result = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-c", code],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_endpoint_survives_idle_floods_oversize_and_slow_loris(
    served: tuple[int, Path],
) -> None:
    port, log = served
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # This process holds the client ends: it needs more files than the node may have.
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * IDLE_CONNECTIONS)), hard))
    idle: list[socket.socket] = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        time.sleep(0.5)  # let the node accept (and cap) them

        health = exchange(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert status_of(health) == 200, health[:300]
        # The node closed idle connections beyond its cap instead of running out of files.
        closed = 0
        for client in idle:
            client.settimeout(0.001)
            with contextlib.suppress(TimeoutError, BlockingIOError):
                closed += client.recv(1) == b""
        assert closed >= IDLE_CONNECTIONS - FILE_LIMIT, closed
    finally:
        for client in idle:
            client.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    big_header = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
    assert status_of(exchange(port, big_header)) == 431
    many_headers = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-N: 1\r\n" * 100 + b"\r\n"
    assert status_of(exchange(port, many_headers)) == 431
    body = b"a" * (64 * 1024 + 1)
    big_body = b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    assert status_of(exchange(port, big_body)) == 413
    chunked = b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked += b"".join(b"%x\r\n%s\r\n" % (8192, b"a" * 8192) for _ in range(9)) + b"0\r\n\r\n"
    assert status_of(exchange(port, chunked)) == 413  # no length given: counted as it arrives

    # Slow loris: a header byte every 0.2 s never completes the request; the node cuts it.
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as loris:
        loris.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        cut = False
        for _ in range(int(10 / 0.2)):  # bounded: 10 s at most
            try:
                loris.sendall(b"X")
            except OSError:
                cut = True
                break
            loris.settimeout(0.2)
            try:
                if loris.recv(1) == b"":
                    cut = True
                    break
            except TimeoutError:
                pass
    waited = time.monotonic() - began
    assert cut, "the slow client was never cut"
    assert waited < HEADER_TIMEOUT_SECONDS + 3, waited

    malformed = exchange(port, b"GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
    assert status_of(malformed) == 400

    # The light path keeps HTTP/1.1: pipelined requests answered in order on one connection.
    pipelined = exchange(
        port,
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /health?from=probe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    answers = pipelined.split(b"HTTP/1.1 ")[1:]
    assert [answer[:3] for answer in answers] == [b"200"] * 4, pipelined[:600]
    health_get, health_head, metrics, health_query = answers
    assert health_get.rstrip().endswith(b"}"), health_get
    assert b'"status"' in health_get, health_get
    assert b"content-length:" in health_head.lower(), health_head
    assert health_head.endswith(b"\r\n\r\n"), health_head  # no body after HEAD's headers
    assert b"text/plain; version=0.0.4" in metrics, metrics[:300]
    assert b'"status"' in health_query, health_query

    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    serving = [line for line in lines if line["message"] == "serving"]
    assert [line["context"]["event_loop"] for line in serving] == ["uvloop"], text[-3000:]
    refused = [line for line in text.splitlines() if "http request refused" in line]
    assert len(refused) >= 1, text[-3000:]
    assert all(line.startswith("{") for line in refused), refused  # structured, one line each
    assert "Traceback" not in text, text[-3000:]
    assert text.count("Too many open files") == 0, text[-3000:]
    assert len(text) < 200_000, len(text)
    print(f"\nhttp endpoint: node log {len(text)} bytes, slow client cut after {waited:.2f} s")


def test_plain_probes_are_answered_as_aiohttp_would_until_another_request(
    served: tuple[int, Path],
) -> None:
    port, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        light = [ask(client, PROBE) for _ in range(3)]
        light_head = ask(client, PROBE.replace(b"GET", b"HEAD", 1))
        metrics = ask(client, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        routed = ask(client, PROBE)  # aiohttp reads this connection from now on
        routed_head = ask(client, PROBE.replace(b"GET", b"HEAD", 1))
    # Which path answered shows in one header: aiohttp names itself, the light path does not.
    assert all("Server" not in headers for _, headers, _ in [*light, light_head]), light
    assert "aiohttp" in routed[1]["Server"] and "aiohttp" in routed_head[1]["Server"], routed
    for (status, headers, body), (routed_status, routed_headers, routed_body) in [
        *((answer, routed) for answer in light),
        (light_head, routed_head),
    ]:
        assert status == routed_status == 200, (status, routed_status)
        assert headers["Content-Type"] == routed_headers["Content-Type"], headers
        assert headers["Content-Length"] == routed_headers["Content-Length"], headers
        assert body == routed_body, (body, routed_body)  # the cached report, as aiohttp sends it
        assert headers["Date"].endswith(" GMT"), headers
    assert json.loads(light[0][2])["status"] in ("healthy", "degraded"), light[0]
    assert light_head[2] == b"" and metrics[0] == 200, (light_head, metrics)

    # Probes keep a connection alive; idle past the keep-alive timeout, it is closed. The
    # probe after 1.2 s finds the 1 s health cache expired: answered once the checks ran.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        for _ in range(3):
            assert ask(client, PROBE)[0] == 200
            time.sleep(0.6 * KEEPALIVE_TIMEOUT_SECONDS)
        assert ask(client, PROBE)[0] == 200
        idle = closed_within(client, KEEPALIVE_TIMEOUT_SECONDS + 3)
    assert idle is not None, "an idle probe connection was never closed"
    assert 0.5 * KEEPALIVE_TIMEOUT_SECONDS < idle < KEEPALIVE_TIMEOUT_SECONDS + 1, idle

    # After a probe, a routed request that never completes its headers is cut in time.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        assert ask(client, PROBE)[0] == 200
        client.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        cut = closed_within(client, HEADER_TIMEOUT_SECONDS + 3)
    assert cut is not None and cut < HEADER_TIMEOUT_SECONDS + 1, cut
    print(f"\nplain probes: idle probe connection closed after {idle:.2f} s, slow routed {cut:.2f} s")


def test_node_serves_on_asyncio_where_uvloop_is_not_importable(default_project: Path) -> None:
    """uvloop is optional: blocked from import, the loop choice falls back to asyncio and
    names the fallback (the 'serving' line's event_loop); EVENT_LOOP=asyncio never tries it."""
    package = project_spec(default_project).package_name
    probe = (
        "import asyncio, sys\n"
        "sys.modules['uvloop'] = None  # what an import of a missing package meets\n"
        f"from {package}.runtime.service_entry import event_loop\n"
        "factory, name = event_loop('uvloop')\n"
        "print(factory is None, name)\n"
        "print(event_loop('asyncio'))\n"
        "del sys.modules['uvloop']\n"
        "factory, name = event_loop('uvloop')\n"
        "loop = factory()\n"
        "print(type(loop).__module__, name)\n"
        "loop.close()\n"
    )
    result = run_in_project(default_project, probe)
    assert result.stdout.splitlines() == [
        "True asyncio (uvloop not importable)",
        "(None, 'asyncio')",
        "uvloop uvloop",
    ], result.stdout


def test_health_cache_refreshes_ahead_without_making_a_call_wait(default_project: Path) -> None:
    """Past half its period, a call to HealthCache is answered from the report it has while it
    starts the next run of the node's checks (health-check mode) in the background: the
    checks are held on a gate, so a call that waited for them would time out."""
    module, class_name = node_class_path(default_project)
    package = project_spec(default_project).package_name
    probe = f"""
import asyncio
from {module} import {class_name}
from {package}.runtime.health_endpoint import HealthCache
from {package}.runtime.model_node_settings import ModelNodeSettings

async def main() -> None:
    node = {class_name}(settings=ModelNodeSettings(health_check_mode=True))
    await node.startup()
    gate, runs = asyncio.Event(), 0

    async def check():
        nonlocal runs
        runs += 1
        await gate.wait()
        return await node.health_check_async()

    cache = HealthCache(check, 2.0)
    gate.set()
    first = await cache.report()
    gate.clear()
    await asyncio.sleep(1.1)  # past half the period, within it
    ahead = await asyncio.wait_for(cache.report(), 0.5)  # the gate is shut: must not wait
    await asyncio.sleep(0)
    print(runs, ahead == first)
    gate.set()
    await asyncio.sleep(0.1)
    await cache.report()  # the run started ahead is the fresh report: no third run
    print(runs)
    await node.shutdown()

asyncio.run(main())
"""
    result = run_in_project(default_project, probe)
    assert result.stdout.splitlines() == ["2 True", "2"], result.stdout
