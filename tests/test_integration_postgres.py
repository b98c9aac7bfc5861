"""Generated PostgreSQL nodes against a real PostgreSQL (private servers, tests/service_postgres.py).

An effect node with the postgres integration and 40-character names (the longest the
questionnaire accepts) passes its own checks with DATABASE_URL set in
tests/test_integration_all.py (every integration, the same names), so its example tests and
generated integration tests run against the server there. Here a live node of such a project
rides out PostgreSQL being down at start-up and stopped while it runs, and one command
delivered again after a crash, to a restarted node and to a second instance at once, is
stored once. With its circuit breaker switched on (every postgres node has one, disabled
unless the feature circuit_breaker or the environment enables it), the real server is stopped
while the breaker is watched opening, failing fast, going half-open and closing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from conftest import generate, project_python, sync_environment
from service_postgres import PostgresServer, create_postgres_server
from store_outage_driver import OutageProbe, probe_all

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres")]

SERVICE = "customer_subscription_lifecycle_handling"
ENV_PREFIX = f"{SERVICE.upper()}_"
RESET_SECONDS = 10  # the shortest reset timeout omnibase_core's ModelCircuitBreaker takes
WRITE = "persist_customer_subscription_changes"
READ = "lookup_customer_subscription_entitlement"
TABLE = f"{SERVICE}_records"


@pytest.fixture(scope="module")
def effect_project(copie_session: Any) -> Path:
    return generate(
        copie_session,
        service_name=SERVICE,
        node_type="effect",
        operations=[READ, WRITE],
        integrations=["postgres"],
    )


@pytest.fixture(scope="module")
def outage_postgres_server() -> Iterator[PostgresServer]:
    """A private server for the two tests here that stop and start it (one initdb, not two);
    each test leaves it running and uses a database of its own."""
    server = create_postgres_server()
    yield server
    server.remove()


def test_node_rides_out_postgres_down_at_start_and_restarted_while_running(
    effect_project: Path,
    outage_postgres_server: PostgresServer,
) -> None:
    if not project_python(effect_project).exists():
        sync_environment(effect_project)
    server = outage_postgres_server
    url = server.create_database("outage")
    timings: dict[str, float] = {"stop_1_s": server.stop()}
    probe = OutageProbe(
        effect_project,
        SERVICE,
        {**os.environ, "DATABASE_URL": url},
        {"operation": WRITE, "key": "outage", "data": {"n": 1}},
    )
    try:
        # 1. PostgreSQL is down before the node starts: it starts anyway.
        timings["startup_while_down_ms"] = probe.started["startup_ms"]
        down = probe.probe()
        assert down["health"] == "unhealthy"
        assert "DATABASE_CONNECTION_ERROR" in down["result"]
        timings["failed_operation_ms"] = down["operation_ms"]

        # 2. It comes up: the table is created on first contact and writes succeed.
        timings["start_1_s"] = server.start()
        up, timings["recovery_1_s"], probes_1 = probe.probe_until_ok(timeout=30)
        assert up["result"] == "ok", up
        assert probe.probe()["health"] == "healthy"

        # 3. Stopped while the node runs (fast shutdown disconnects the pool's connections).
        timings["stop_2_s"] = server.stop()
        down = probe.probe()
        assert down["health"] == "unhealthy"
        assert "DATABASE_CONNECTION_ERROR" in down["result"]
        timings["failed_operation_2_ms"] = down["operation_ms"]

        # 4. Restarted: the pool reconnects by itself.
        timings["start_2_s"] = server.start()
        up, timings["recovery_2_s"], probes_2 = probe.probe_until_ok(timeout=30)
        assert up["result"] == "ok", up
        assert probe.probe()["health"] == "healthy"
    finally:
        probe.close()

    written = int(server.psql(f"SELECT count(*) FROM {TABLE} WHERE key = 'outage'", "outage"))
    assert written == 4  # one per successful probe: two after each recovery
    assert (probes_1, probes_2) == (1, 1), "the first operation after a restart must succeed"
    print("\npostgres outage: " + ", ".join(f"{k}={v:.3f}" for k, v in timings.items()))


def test_circuit_breaker_opens_fails_fast_and_closes_across_a_real_postgres_outage(
    effect_project: Path,
    outage_postgres_server: PostgresServer,
) -> None:
    if not project_python(effect_project).exists():
        sync_environment(effect_project)
    server = outage_postgres_server
    if not (server.data_dir / "postmaster.pid").exists():  # left stopped by a failed test
        server.start()
    env = {
        **os.environ,
        "DATABASE_URL": server.create_database("breaker"),
        f"{ENV_PREFIX}CIRCUIT_BREAKER_ENABLED": "true",
        f"{ENV_PREFIX}CIRCUIT_BREAKER_FAILURE_THRESHOLD": "2",
        f"{ENV_PREFIX}CIRCUIT_BREAKER_RESET_TIMEOUT_MS": str(RESET_SECONDS * 1000),
        f"{ENV_PREFIX}RETRY_MAX_RETRIES": "1",  # each operation: two failed attempts
        f"{ENV_PREFIX}RETRY_INITIAL_DELAY_MS": "50",
    }
    probe = OutageProbe(
        effect_project, SERVICE, env, {"operation": WRITE, "key": "breaker", "data": {"n": 1}}
    )
    try:
        assert probe.probe()["result"] == "ok"
        server.stop()
        # The first operation fails with the real cause; its two attempts open the breaker.
        first = probe.probe()
        assert "DATABASE_CONNECTION_ERROR" in first["result"], first
        opened = time.monotonic()
        # Open: operations fail fast with a transient code, PostgreSQL is not dialled.
        refused = [probe.probe() for _ in range(3)]
        assert all("SERVICE_UNAVAILABLE" in r["result"] for r in refused), refused
        assert all(r["health"] == "unhealthy" for r in refused)
        fail_fast_ms = max(r["operation_ms"] for r in refused)

        server.start()
        # Back, but the breaker does not know yet: still refused; health shows the breaker.
        early = probe.probe()
        assert "SERVICE_UNAVAILABLE" in early["result"], early
        assert early["health"] == "degraded"  # SELECT 1 answers; the open breaker is an issue
        assert time.monotonic() - opened < RESET_SECONDS

        # After the reset timeout one trial call goes through (half-open) and closes it.
        time.sleep(max(0.0, opened + RESET_SECONDS + 0.2 - time.monotonic()))
        trial = probe.probe()
        assert trial["result"] == "ok", trial
        closed = probe.probe()
        assert (closed["result"], closed["health"]) == ("ok", "healthy"), closed
    finally:
        probe.close()

    written = server.psql(f"SELECT count(*) FROM {TABLE} WHERE key = 'breaker'", "breaker")
    assert written == "3"  # before the outage, the trial call, the one after: no lost write
    assert fail_fast_ms < first["operation_ms"]
    print(
        f"\npostgres breaker: first failure {first['operation_ms']} ms, refused within "
        f"{fail_fast_ms} ms, closed {trial['operation_ms']} ms after {RESET_SECONDS} s"
    )


def test_command_redelivered_after_a_crash_and_to_two_instances_is_stored_once(
    effect_project: Path,
    postgres_server: PostgresServer,
) -> None:
    if not project_python(effect_project).exists():
        sync_environment(effect_project)
    database = "redelivery"
    env = {**os.environ, "DATABASE_URL": postgres_server.create_database(database)}
    correlation_id = str(uuid4())  # fixed: every probe is the same command again
    command = {"operation": WRITE, "key": "redelivered", "data": {"n": 1}}
    command["correlation_id"] = correlation_id

    # The table as an older release created it, without the idempotency column, and a row.
    postgres_server.psql(
        f"CREATE TABLE {TABLE} (record_id uuid PRIMARY KEY, key text NOT NULL, "
        "operation text NOT NULL, data jsonb NOT NULL, created_at timestamptz NOT NULL "
        f"DEFAULT now()); INSERT INTO {TABLE} VALUES (gen_random_uuid(), 'older', 'seed', '{{}}')",
        database,
    )
    crashed = OutageProbe(effect_project, SERVICE, env, command)
    first = crashed.probe()
    crashed.kill()  # after the effect, before any commit of the command: it comes again
    instances = [OutageProbe(effect_project, SERVICE, env, command) for _ in range(2)]
    try:
        replies = [*probe_all(instances), *probe_all(instances)]
    finally:
        for probe in instances:
            probe.close()

    assert first["result"] == "ok", first
    # Every delivery of the command got the first outcome: the same record, id and time.
    assert [reply["response"] for reply in replies] == [first["response"]] * 4, replies
    rows = postgres_server.psql(
        f"SELECT idempotency_key FROM {TABLE} WHERE key = 'redelivered'", database
    ).split()
    assert rows == [correlation_id]  # one row, keyed by the command's correlation id
    assert (
        postgres_server.psql(f"SELECT count(*) FROM {TABLE} WHERE key = 'older'", database) == "1"
    )
