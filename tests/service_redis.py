"""Session services for the Redis tests: private redis-server processes on free ports.

Real Redis from the Debian package (scripts/test-all.sh installs it), without persistence
(`--save '' --appendonly no`) and with a password, so the URL the generated node reads
carries a real secret. `stop()` and `start()` (same port) simulate an outage.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from conftest import service_unavailable
from ports import free_port

PASSWORD = "redis-test-secret"  # a throwaway server's password


@dataclass
class RedisServer:
    """One private redis-server process."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> float:
        """Start and wait until it answers PING; returns the seconds it took."""
        binary = shutil.which("redis-server")
        if binary is None:
            service_unavailable("redis-server is not installed: apt-get install redis-server")
        began = time.perf_counter()
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                PASSWORD,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not self._answers_ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return time.perf_counter() - began

    def stop(self) -> float:
        """Terminate the server (clients see their connections close); returns seconds."""
        began = time.perf_counter()
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None
        return time.perf_counter() - began

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(f"AUTH {PASSWORD}\r\nPING\r\n".encode())
                replies = b""
                while b"+PONG" not in replies:
                    chunk = conn.recv(64)
                    if not chunk:
                        return False
                    replies += chunk
                return True
        except OSError:
            return False


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server shared by the session (per xdist worker)."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_redis_server() -> Iterator[RedisServer]:
    """A Redis server of one test alone, which it may stop and start."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()
