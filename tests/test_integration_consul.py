"""The Consul integration of a generated node, run against the Consul agent stand-in.

The generated code uses the real py-consul client; only the agent is a stand-in
(tests/service_consul.py, see docs: no Consul binary can be installed here).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    generate,
    project_python,
    project_spec,
    run_checks,
    run_python,
    sync_environment,
)
from ports import free_port
from service_consul import ConsulAgentStandIn, wait_until

pytestmark = pytest.mark.slow

ANSWERS: dict[str, Any] = {
    "service_name": "fulfilment_router",
    "business_description": "Routes fulfilment requests to the warehouse services.",
    "node_type": "orchestrator",
    "integrations": ["consul"],
}


@pytest.fixture(scope="module")
def consul_project(copie_session: Any) -> Path:
    project = generate(copie_session, **ANSWERS)
    sync_environment(project)
    return project


def registered_names(stand_in: ConsulAgentStandIn) -> list[str]:
    # py-consul sends the agent API's keys in lower case ("name", "id"), which Consul accepts.
    return [body["name"] for body in stand_in.registrations]


def test_checks_and_integration_tests_pass_against_the_stand_in(
    consul_project: Path,
    consul_stand_in: ConsulAgentStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONSUL_HTTP_ADDR", consul_stand_in.http_addr)

    run_checks(consul_project)

    names = registered_names(consul_stand_in)
    # The generated integration test ran (not skipped): it registered a served node under a
    # name of its own, and its discover() saw that node passing the stand-in's check.
    assert any(name.startswith("itest-") for name in names), names
    # Every registration was removed on shutdown, and nothing but the documented endpoints
    # was asked for.
    assert consul_stand_in.services() == {}
    assert sorted(consul_stand_in.deregistrations) == sorted(
        body["id"] for body in consul_stand_in.registrations
    )
    assert consul_stand_in.unhandled == []


def get_health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
        report: dict[str, Any] = json.loads(response.read())
    return report


@pytest.fixture
def late_stand_in() -> Iterator[ConsulAgentStandIn]:
    """A stand-in on a reserved port that is NOT started: the test starts it when it wants."""
    stand_in = ConsulAgentStandIn(port=free_port())
    yield stand_in
    stand_in.stop()


def test_node_serves_without_consul_and_registers_once_it_comes_up(
    consul_project: Path,
    late_stand_in: ConsulAgentStandIn,
    tmp_path: Path,
) -> None:
    spec = project_spec(consul_project)
    prefix = spec.env_prefix
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefix)}
    env.update(
        {
            "CONSUL_HTTP_ADDR": late_stand_in.http_addr,
            f"{prefix}HTTP_HOST": "127.0.0.1",
            f"{prefix}HTTP_PORT": "0",
            f"{prefix}CONSUL_RETRY_INITIAL_SECONDS": "0.2",
            f"{prefix}CONSUL_RETRY_MAX_SECONDS": "1",
            f"{prefix}CONSUL_CHECK_INTERVAL_SECONDS": "0.5",
        }
    )
    log_path = tmp_path / "node.log"
    with log_path.open("w") as log:
        node = subprocess.Popen(
            [
                str(project_python(consul_project)),
                "-m",
                f"{spec.package_name}.runtime.service_entry",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        assert node.stdout is not None
        ready, _, _ = select.select([node.stdout], [], [], 60)
        assert ready, f"the node did not start:\n{log_path.read_text()}"
        port = json.loads(node.stdout.readline())["port"]

        # Consul is down: the node serves anyway and says it is degraded, not unhealthy.
        report = get_health(port)
        assert report["status"] == "degraded"
        assert any("consul" in issue["message"] for issue in report["issues"])
        time.sleep(1.0)  # let a few registration attempts fail

        late_stand_in.start()
        registered_after = wait_until(lambda: late_stand_in.services(), timeout=15)
        (service_id, registration), *others = late_stand_in.services().items()
        assert others == []
        assert registration.name == "fulfilment-router"
        assert registration.port == port
        assert registration.meta["node_type"] == "orchestrator"
        assert service_id == f"fulfilment-router-{registration.meta['node_id']}"
        assert registration.checks[0].url == f"http://127.0.0.1:{port}/health"

        # The stand-in calls the node's /health like an agent; the check turns passing.
        passing_after = wait_until(
            lambda: late_stand_in.check_status(service_id) == "passing", timeout=15
        )
        assert get_health(port)["status"] == "healthy"

        node.send_signal(signal.SIGTERM)
        assert node.wait(timeout=30) == 0
        assert late_stand_in.services() == {}
        assert late_stand_in.deregistrations == [service_id]
        assert late_stand_in.unhandled == []
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    failed = [line for line in lines if line["message"] == "consul registration failed; retrying"]
    accepted = [line for line in lines if line["message"] == "consul registered"]
    assert failed, "the node never retried"
    assert len(accepted) == 1
    assert accepted[0]["context"]["attempt"] == len(failed) + 1
    print(
        f"\nconsul fault: {len(failed)} failed registration attempts while down; registered "
        f"{registered_after:.2f} s after the stand-in came up; check passing "
        f"{passing_after:.2f} s later"
    )


# Runs inside the generated project's environment: argv[1] is the stand-in as host:port (no
# scheme, as CONSUL_HTTP_ADDR is often written), argv[2] a port nothing listens on.
DISCOVERY_PROBE = """
import asyncio, json, sys
from uuid import uuid4
from aiohttp import web
from omnibase_core.errors.model_onex_error import ModelOnexError
from {package}.integrations.consul.consul_registry import ConsulRegistry
from {package}.integrations.consul.model_consul_settings import ModelConsulSettings
from {package}.runtime.node_logging import NodeLogger

def registry(address, ttl):
    settings = ModelConsulSettings(
        http_addr=address,
        service_name="warehouse",
        check_interval_seconds=0.2,
        cache_ttl_seconds=ttl,
        retry_initial_seconds=0.1,
    )
    return ConsulRegistry(settings, NodeLogger(uuid4(), "probe"))

async def main():
    agent, closed = sys.argv[1], sys.argv[2]
    app = web.Application()
    app.router.add_get("/health", lambda request: web.json_response({{"status": "healthy"}}))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]

    healthy, broken, fresh, cached = (registry(agent, ttl) for ttl in (0, 0, 0, 60))
    for started in (healthy, broken, fresh, cached):
        await started.start()
    healthy.register_in_background(node_id=uuid4(), port=port)
    broken.register_in_background(node_id=uuid4(), port=int(closed))  # its check fails
    for _ in range(100):
        if healthy.registered and broken.registered and await fresh.discover("warehouse"):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # several check runs of both
    result = {{"passing_ports": [i.port for i in await fresh.discover("warehouse")], "port": port}}
    for name, reader in (("fresh", fresh), ("cached", cached)):
        await reader.discover("shipping-" + name)
        await reader.discover("shipping-" + name)

    down = registry(f"127.0.0.1:{{closed}}", 0)
    await down.start()
    result["down_health"] = (await down.check_health()).status
    try:
        await down.discover("warehouse")
    except ModelOnexError as exc:
        result["down_discover"] = exc.error_code.name
        result["down_cause"] = type(exc.__cause__).__name__
    for started in (healthy, broken, fresh, cached, down):
        await started.stop()
    await runner.cleanup()
    print(json.dumps(result))

asyncio.run(main())
"""


def test_discovery_lists_passing_instances_caches_and_reports_a_down_agent(
    consul_project: Path,
    consul_stand_in: ConsulAgentStandIn,
) -> None:
    package = project_spec(consul_project).package_name
    agent = f"127.0.0.1:{consul_stand_in.port}"
    completed = run_python(
        consul_project,
        f"import sys; sys.argv[1:] = [{agent!r}, '{free_port()}']\n"
        + DISCOVERY_PROBE.format(package=package),
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout.splitlines()[-1])

    # Two instances registered; only the one whose /health answers is discovered.
    assert len(consul_stand_in.registrations) == 2
    assert result["passing_ports"] == [result["port"]]
    # cache_ttl_seconds=60 asks the agent once for two discover() calls; 0 asks every time.
    assert consul_stand_in.requests.count(("GET", "/v1/health/service/shipping-cached")) == 1
    assert consul_stand_in.requests.count(("GET", "/v1/health/service/shipping-fresh")) == 2
    # An unreachable agent: health degraded, discovery a DEPENDENCY_UNAVAILABLE error.
    assert result["down_health"] == "degraded"
    assert result["down_discover"] == "DEPENDENCY_UNAVAILABLE"
    assert result["down_cause"] == "ClientConnectorError"
    # stop() deregistered both instances.
    assert consul_stand_in.services() == {}
    assert len(consul_stand_in.deregistrations) == 2
