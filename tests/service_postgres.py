"""Session services for the PostgreSQL tests: private servers on free ports.

Each server is a real PostgreSQL from the Debian packages (scripts/test-all.sh installs them):
`initdb` into a fresh temporary directory, `pg_ctl start` on a free port, password
authentication (scram-sha-256) so the DSN the generated node reads carries a real secret.
PostgreSQL refuses to run as root, so as root the server commands run as the `postgres` user;
the client (`psql`) runs as whoever runs the tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import service_unavailable
from ports import free_port

PASSWORD = "pg-test-secret"  # a throwaway server's password, also proves DSNs stay out of logs


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        service_unavailable(
            "PostgreSQL is not installed: apt-get install postgresql (scripts/test-all.sh)"
        )
    return Path(found[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    """`command` as the postgres user when we are root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class PostgresServer:
    """One private PostgreSQL server; `stop()` and `start()` simulate an outage."""

    bin_dir: Path
    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str) -> list[str]:
        return _as_server_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args])

    def start_command(self) -> list[str]:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        return self.pg_ctl("-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop_command(self) -> list[str]:
        return self.pg_ctl("-m", "fast", "-w", "-t", "60", "stop")

    def start(self) -> float:
        """Start and wait until it accepts connections; returns the seconds it took."""
        began = time.perf_counter()
        subprocess.run(self.start_command(), check=True, capture_output=True, timeout=90)
        return time.perf_counter() - began

    def stop(self) -> float:
        """Fast shutdown (clients are disconnected); returns the seconds it took."""
        began = time.perf_counter()
        subprocess.run(self.stop_command(), check=True, capture_output=True, timeout=90)
        return time.perf_counter() - began

    def psql(self, sql: str, database: str = "postgres") -> str:
        completed = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ],
            env={**os.environ, "PGPASSWORD": PASSWORD},
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return completed.stdout.strip()

    def create_database(self, name: str) -> str:
        """A new empty database; returns its DSN."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(self.pg_ctl("-m", "immediate", "stop"), capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def create_postgres_server() -> PostgresServer:
    """initdb + start a new server; the caller removes it (`remove()`)."""
    bin_dir = _bin_dir()
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as
    # the postgres user.
    root = Path(tempfile.mkdtemp(prefix="onex-pg-"))
    server = PostgresServer(bin_dir=bin_dir, root=root, port=free_port())
    password_file = root / "password"
    password_file.write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(password_file, "postgres", "postgres")
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(server.data_dir),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={password_file}",
                "-E",
                "UTF8",
                "--no-instructions",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    server.start()
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server shared by the session (per xdist worker); tests use own databases."""
    server = create_postgres_server()
    yield server
    server.remove()


@pytest.fixture
def private_postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of one test alone, which it may stop and start."""
    server = create_postgres_server()
    yield server
    server.remove()
