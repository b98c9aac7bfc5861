"""The set-up every benchmark of a generated node shares: the project, its .venv, the services.

Each benchmark runs twice: `outer()` (here, with the template's own environment) generates a
project from this checkout, creates its .venv and starts the real services; then the benchmark
file runs again inside that .venv (`--inner`) to measure. These helpers are the outer part.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the suite's service fixtures and project helpers


@dataclass(frozen=True)
class BenchProject:
    path: Path
    python: Path  # the project's .venv interpreter, which runs the `--inner` half


@contextlib.contextmanager
def generated_project(
    service: str, node_type: str, integrations: list[str], vcs_ref: str = "HEAD"
) -> Iterator[BenchProject]:
    """`service` generated from this checkout as it is (HEAD, never its latest release tag,
    which copier would take otherwise), with its .venv; removed afterwards."""
    from conftest import sync_environment
    from copier import run_copy

    work = Path(tempfile.mkdtemp(prefix=f"{service}-"))
    try:
        project = work / service
        run_copy(
            str(ROOT),
            project,
            data={
                "service_name": service,
                "node_type": node_type,
                "integrations": integrations,
                "run_checks": False,
            },
            defaults=True,
            unsafe=True,
            quiet=True,
            vcs_ref=vcs_ref,  # another commit or tag: an A/B against it
        )
        yield BenchProject(project, sync_environment(project))
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the generated project and its .venv


@contextlib.contextmanager
def kafka_broker() -> Iterator[str]:
    """A tansu broker (tests/service_kafka.py) for the run: yields its bootstrap address."""
    from service_kafka import free_port, start_tansu, wait_for_port

    port = free_port()
    broker = start_tansu(port)
    try:
        wait_for_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        broker.terminate()
        broker.wait(timeout=10)


@contextlib.contextmanager
def postgres_database(name: str, delay_ms: float = 0.0) -> Iterator[str]:
    """A private PostgreSQL server (tests/service_postgres.py) with database `name`: its URL.

    With `delay_ms`, the URL leads through a TcpProxy (tests/service_kafka.py) that holds
    every packet back that long each way, as a database on another host would.
    """
    from service_kafka import TcpProxy
    from service_postgres import create_postgres_server

    postgres = create_postgres_server()
    proxy = TcpProxy(postgres.port, delay_seconds=delay_ms / 1000) if delay_ms else None
    try:
        url = postgres.create_database(name)
        if proxy is not None:
            proxy.start()
            url = url.replace(f":{postgres.port}/", f":{proxy.port}/")
        yield url
    finally:
        if proxy is not None:
            proxy.close()
        postgres.remove()


def served_node_env(prefix: str, bootstrap: str, database_url: str, package: str) -> dict[str, str]:
    """The environment of a served kafka + postgres node on the bench's services: tansu, a
    PostgreSQL database, an HTTP endpoint on a free loopback port, quiet logs."""
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": database_url,
        f"{prefix}KAFKA_ENABLE_IDEMPOTENCE": "false",  # tansu refuses it (service_kafka.py)
        f"{prefix}HTTP_HOST": "127.0.0.1",
        f"{prefix}HTTP_PORT": "0",
        f"{prefix}LOG_LEVEL": "WARNING",
        "BENCH_PACKAGE": package,
    }


def run_inner(project: BenchProject, script: str, arguments: list[str], env: dict[str, str]) -> int:
    """`script --inner arguments` inside the project's .venv; its exit code."""
    command = [str(project.python), script, "--inner", *arguments]
    return subprocess.run(command, cwd=project.path, env=env, check=False).returncode
