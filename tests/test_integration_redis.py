"""Generated Redis nodes against a real Redis (private servers, tests/service_redis.py).

A reducer (state in Redis) and a compute node (results cached in Redis; 40-character names)
pass their own checks with REDIS_URL set, so their example tests and generated integration
tests run against the server instead of being skipped. Then live nodes meet Redis down at
start-up and restarted while they run: the reducer fails with CACHE_CONNECTION_ERROR
meanwhile and recovers; the compute node keeps computing throughout. And one batch delivered
again after a crash, to a restarted reducer and to a second instance at once, is folded once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from conftest import generate, project_python, run_checks, sync_environment
from service_redis import PASSWORD, RedisServer
from store_outage_driver import OutageProbe, probe_all

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("redis")]

REDUCER = "stream_totals"
COMPUTE = "customer_subscription_lifecycle_handling"
COMPUTE_OPERATIONS = ["lookup_customer_subscription_entitlement", "score_subscription_risk"]


@pytest.fixture(scope="module")
def reducer_project(copie_session: Any) -> Path:
    # With the default state machine beside the plain fold (first, so the probes below use
    # it): its generated tests walk every transition in Redis, and two instances race.
    return generate(
        copie_session,
        service_name=REDUCER,
        node_type="reducer",
        integrations=["redis"],
        features=["state_machine"],
        operations=["aggregate_values", "activate", "suspend", "resume", "complete", "cancel"],
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
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Redis down at start-up, up, stopped while running, up again.

    Returns the timings and the replies of the operations that succeeded after each restart.
    """
    if not project_python(project).exists():
        sync_environment(project)
    timings: dict[str, float] = {"stop_1_s": server.stop()}
    probe = OutageProbe(project, package, {**os.environ, "REDIS_URL": server.url}, request)
    succeeded: list[dict[str, Any]] = []
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
            healthy = probe.probe()
            assert healthy["health"] == "healthy"
            succeeded += [up, healthy]
            if round_ == 1:
                timings["stop_2_s"] = server.stop()  # while the node runs
    finally:
        probe.close()
    return timings, succeeded


def test_reducer_fails_cleanly_while_redis_is_down_and_recovers(
    reducer_project: Path,
    private_redis_server: RedisServer,
) -> None:
    timings, succeeded = ride_out_an_outage(
        reducer_project,
        REDUCER,
        private_redis_server,
        {"stream_key": "outage", "values": [1.0]},
        result_while_down="CACHE_CONNECTION_ERROR",
    )
    # Each batch that succeeded was folded into the state in Redis, and only those: the
    # failed ones during the outage changed nothing. The test server keeps no data across a
    # restart (no persistence: tests/service_redis.py), so each round starts from nothing.
    assert [reply["response"]["count"] for reply in succeeded] == [1, 2, 1, 2], succeeded
    print("\nredis outage (reducer): " + ", ".join(f"{k}={v:.3f}" for k, v in timings.items()))


def test_compute_keeps_computing_while_redis_is_down(
    compute_project: Path,
    private_redis_server: RedisServer,
) -> None:
    timings, succeeded = ride_out_an_outage(
        compute_project,
        COMPUTE,
        private_redis_server,
        {"values": [1.0, 3.0, 2.0]},
        result_while_down="ok",
    )
    assert all(reply["response"]["values"] == [0.0, 1.0, 0.5] for reply in succeeded)
    print("\nredis outage (compute): " + ", ".join(f"{k}={v:.3f}" for k, v in timings.items()))


def test_batch_redelivered_after_a_crash_and_to_two_instances_is_folded_once(
    reducer_project: Path,
    redis_server: RedisServer,
) -> None:
    if not project_python(reducer_project).exists():
        sync_environment(reducer_project)
    env = {**os.environ, "REDIS_URL": redis_server.url}
    batch = {"stream_key": f"redelivered-{uuid4().hex[:8]}", "values": [2.0, 4.0]}
    command = {**batch, "correlation_id": str(uuid4())}  # every probe: the same command again

    crashed = OutageProbe(reducer_project, REDUCER, env, command)
    first = crashed.probe()
    crashed.kill()  # after the fold, before any commit of the command: it comes again
    instances = [OutageProbe(reducer_project, REDUCER, env, command) for _ in range(2)]
    try:
        replies = [*probe_all(instances), *probe_all(instances)]
    finally:
        for probe in instances:
            probe.close()

    assert first["result"] == "ok", first
    assert (first["response"]["count"], first["response"]["total"]) == (2, 6.0)
    # Every delivery of the command got the first outcome, and folded nothing more: the
    # state in Redis holds the one fold.
    assert [reply["response"] for reply in replies] == [first["response"]] * 4, replies
    state_key = f"{REDUCER}:state:{first['response']['operation']}:{batch['stream_key']}"
    stored = subprocess.run(
        ["redis-cli", "-p", str(redis_server.port), "GET", state_key],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        env={**os.environ, "REDISCLI_AUTH": PASSWORD},
    ).stdout
    assert json.loads(stored)["count"] == 2, stored
