"""Generated PostgreSQL nodes against a real PostgreSQL (private servers, tests/service_postgres.py).

An effect node with the postgres integration (and 40-character names, the longest the
questionnaire accepts) passes its own checks with DATABASE_URL set, so its example tests and
its generated integration tests run against the server instead of being skipped; then a live
node rides out PostgreSQL being down at start-up and stopped while it runs, and one command
delivered again after a crash, to a restarted node and to a second instance at once, is
stored once.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from conftest import generate, project_python, run_checks, sync_environment
from service_postgres import PASSWORD, PostgresServer
from store_outage_driver import OutageProbe, probe_all

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres")]

SERVICE = "customer_subscription_lifecycle_handling"
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


def test_effect_project_checks_pass_against_postgres(
    effect_project: Path,
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_server.create_database("effect_checks"))

    began = time.perf_counter()
    completed = run_checks(effect_project)
    seconds = time.perf_counter() - began

    summary = re.findall(r"^\d+ passed.*$", completed.stdout, re.MULTILINE)
    assert summary, completed.stdout[-3000:]
    assert "skipped" not in summary[-1], f"tests needing PostgreSQL were skipped: {summary[-1]}"

    # The example write operation's tests stored rows (the read tests' seed rows are
    # "seed" rows and do not count), and the replays among them stored nothing more.
    def count(where: str) -> int:
        sql = f"SELECT count(*) FROM {TABLE} WHERE {where}"
        return int(postgres_server.psql(sql, "effect_checks"))

    assert count(f"operation = '{WRITE}'") >= 4, "the example write tests stored nothing"
    assert count("key LIKE 'redelivered-%'") == 1  # one request, handled twice
    assert count("key LIKE 'duplicated-%'") == 1  # one request, handled 8 times at once
    assert PASSWORD not in completed.stdout + completed.stderr  # the DSN is never printed
    print(f"\ncheck_project.py with PostgreSQL: {seconds:.1f} s; pytest: {summary[-1]}")


def test_node_rides_out_postgres_down_at_start_and_restarted_while_running(
    effect_project: Path,
    private_postgres_server: PostgresServer,
) -> None:
    if not project_python(effect_project).exists():
        sync_environment(effect_project)
    server = private_postgres_server
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


def test_command_redelivered_after_a_crash_and_to_two_instances_is_stored_once(
    effect_project: Path,
    postgres_server: PostgresServer,
) -> None:
    if not project_python(effect_project).exists():
        sync_environment(effect_project)
    database = "redelivery"
    env = {**os.environ, "DATABASE_URL": postgres_server.create_database(database)}
    correlation_id = str(uuid4())  # fixed: every probe is the same command again
    request = {"operation": WRITE, "key": "redelivered", "data": {"n": 1}}
    command = {**request, "correlation_id": correlation_id}

    crashed = OutageProbe(effect_project, SERVICE, env, command)
    first = crashed.probe()
    crashed.kill()  # after the effect, before any commit of the command: it comes again
    instances = [OutageProbe(effect_project, SERVICE, env, command) for _ in range(2)]
    other = OutageProbe(effect_project, SERVICE, env, request)  # new commands meanwhile
    try:
        replies = [*probe_all(instances), *probe_all(instances), other.probe()]
    finally:
        for probe in [*instances, other]:
            probe.close()

    assert first["result"] == "ok", first
    assert [reply["result"] for reply in replies] == ["ok"] * 5, replies
    # Every delivery of the command got the first outcome: the same record, id and time.
    assert all(reply["response"] == first["response"] for reply in replies[:4]), replies
    rows = postgres_server.psql(
        f"SELECT idempotency_key FROM {TABLE} WHERE key = 'redelivered' ORDER BY created_at",
        database,
    ).split()
    # The command's one row (its key is its correlation id) and the other command's row.
    assert len(rows) == 2, rows
    assert rows[0] == correlation_id
    assert rows[1] == replies[4]["response"]["correlation_id"]
