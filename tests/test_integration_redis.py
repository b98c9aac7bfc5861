"""Generated Redis nodes against a real Redis (private servers, tests/service_redis.py).

A reducer (state in Redis) and a compute node (results cached in Redis; 40-character names)
pass their own checks with REDIS_URL set, so their example tests and generated integration
tests run against the server instead of being skipped. Then live nodes meet Redis down at
start-up and restarted while they run: the reducer fails with CACHE_CONNECTION_ERROR
meanwhile and recovers; the compute node keeps computing throughout.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import generate, project_python, run_checks, sync_environment
from service_redis import PASSWORD, RedisServer
from store_outage_driver import OutageProbe

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("redis")]

REDUCER = "stream_totals"
COMPUTE = "customer_subscription_lifecycle_handling"
COMPUTE_OPERATIONS = ["lookup_customer_subscription_entitlement", "score_subscription_risk"]


@pytest.fixture(scope="module")
def reducer_project(copie_session: Any) -> Path:
    return generate(
        copie_session, service_name=REDUCER, node_type="reducer", integrations=["redis"]
    )


@pytest.fixture(scope="module")
def compute_project(copie_session: Any) -> Path:
    return generate(
        copie_session,
        service_name=COMPUTE,
        node_type="compute",
        operations=COMPUTE_OPERATIONS,
        integrations=["redis"],
    )


def checks_against_redis(project: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the project's checks with REDIS_URL set; returns pytest's summary line."""
    monkeypatch.setenv("REDIS_URL", url)
    began = time.perf_counter()
    completed = run_checks(project)
    seconds = time.perf_counter() - began
    summary = re.findall(r"^\d+ passed.*$", completed.stdout, re.MULTILINE)
    assert summary, completed.stdout[-3000:]
    assert "skipped" not in summary[-1], f"tests needing Redis were skipped: {summary[-1]}"
    assert PASSWORD not in completed.stdout + completed.stderr  # the URL is never printed
    print(f"\n{project.name}: check_project.py with Redis {seconds:.1f} s; pytest: {summary[-1]}")
    return summary[-1]


def test_reducer_project_checks_pass_against_redis(
    reducer_project: Path,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks_against_redis(reducer_project, redis_server.url, monkeypatch)


def test_compute_project_checks_pass_against_redis(
    compute_project: Path,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks_against_redis(compute_project, redis_server.url, monkeypatch)


def ride_out_an_outage(
    project: Path,
    package: str,
    server: RedisServer,
    request: dict[str, Any],
    *,
    result_while_down: str,
) -> dict[str, float]:
    """Redis down at start-up, up, stopped while running, up again; returns the timings."""
    if not project_python(project).exists():
        sync_environment(project)
    timings: dict[str, float] = {"stop_1_s": server.stop()}
    probe = OutageProbe(project, package, {**os.environ, "REDIS_URL": server.url}, request)
    try:
        timings["startup_while_down_ms"] = probe.started["startup_ms"]
        for round_ in (1, 2):
            down = probe.probe()
            assert down["health"] == "unhealthy"
            assert result_while_down in down["result"], down
            timings[f"operation_while_down_{round_}_ms"] = down["operation_ms"]

            timings[f"start_{round_}_s"] = server.start()
            up, timings[f"recovery_{round_}_s"], probes = probe.probe_until_ok(timeout=30)
            assert up["result"] == "ok", up
            assert probes == 1, "the first operation after a restart must succeed"
            assert probe.probe()["health"] == "healthy"
            if round_ == 1:
                timings["stop_2_s"] = server.stop()  # while the node runs
    finally:
        probe.close()
    return timings


def test_reducer_fails_cleanly_while_redis_is_down_and_recovers(
    reducer_project: Path,
    private_redis_server: RedisServer,
) -> None:
    timings = ride_out_an_outage(
        reducer_project,
        REDUCER,
        private_redis_server,
        {"stream_key": "outage", "values": [1.0]},
        result_while_down="CACHE_CONNECTION_ERROR",
    )
    print("\nredis outage (reducer): " + ", ".join(f"{k}={v:.3f}" for k, v in timings.items()))


def test_compute_keeps_computing_while_redis_is_down(
    compute_project: Path,
    private_redis_server: RedisServer,
) -> None:
    timings = ride_out_an_outage(
        compute_project,
        COMPUTE,
        private_redis_server,
        {"values": [1.0, 3.0, 2.0]},
        result_while_down="ok",
    )
    print("\nredis outage (compute): " + ", ".join(f"{k}={v:.3f}" for k, v in timings.items()))
