"""All five integrations in one node, each against its real server (Consul: the agent stand-in).

One effect project with postgres, kafka, redis, http and consul is generated and its own checks
run with every service address set, so none of its integration tests is skipped: the records go
to PostgreSQL, the events to the tansu broker, the health probes reach Redis, the HTTP upstream
and the Consul stand-in, and the service registers with the stand-in and deregisters on SIGTERM.
It asks for retry and circuit_breaker (as the seeds' postgres_crud example does), so its own
tests/integration/test_resilience_integration.py stops and restarts PostgreSQL, Redis and the
HTTP upstream behind TCP relays and watches each breaker open, fail fast, half-open and close.

Its names are 40 characters long, the longest the questionnaire accepts (PostgreSQL cuts
identifiers at 63). This run is the checked effect + postgres and effect + http project of
tests/test_integration_postgres.py and tests/test_integration_http.py: they probe live nodes of
projects of their own and check no second one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import generate, run_checks
from service_consul import ConsulAgentStandIn
from service_http import HttpUpstream
from service_kafka import KafkaService
from service_postgres import PASSWORD as POSTGRES_PASSWORD
from service_postgres import PostgresServer
from service_redis import PASSWORD as REDIS_PASSWORD
from service_redis import RedisServer

pytestmark = [pytest.mark.slow]

SERVICE = "customer_subscription_lifecycle_handling"
PREFIX = SERVICE.upper() + "_"
READ = "lookup_customer_subscription_entitlement"
WRITE = "persist_customer_subscription_changes"


def test_all_five_integrations_pass_their_checks_against_real_services(
    copie: Any,
    kafka_service: KafkaService,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    http_upstream: HttpUpstream,
    consul_stand_in: ConsulAgentStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project: Path = generate(
        copie,
        service_name=SERVICE,
        node_type="effect",
        operations=[READ, WRITE],
        integrations=["postgres", "kafka", "redis", "http", "consul"],
        features=["retry", "circuit_breaker"],
    )
    for folder in ("postgres", "kafka", "redis", "http", "consul"):
        assert (project / "src" / SERVICE / "integrations" / folder).is_dir(), folder
    monkeypatch.setenv("DATABASE_URL", postgres_server.create_database("all_five"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_service.bootstrap)
    # tansu refuses aiokafka's idempotent producer (see service_kafka.py); acks=all still holds.
    monkeypatch.setenv(f"{PREFIX}KAFKA_ENABLE_IDEMPOTENCE", "false")
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv(f"{PREFIX}HTTP_CLIENT_BASE_URL", http_upstream.base_url)
    monkeypatch.setenv(f"{PREFIX}HTTP_CLIENT_HEALTH_URL", "/health")
    monkeypatch.setenv("CONSUL_HTTP_ADDR", consul_stand_in.http_addr)

    completed = run_checks(project)

    summary = re.findall(r"^\d+ passed.*$", completed.stdout, re.MULTILINE)
    assert summary, completed.stdout[-3000:]
    assert "skipped" not in summary[-1], f"integration tests were skipped: {summary[-1]}"

    # The example write operation's tests stored rows (the read tests' seed rows are
    # "seed" rows and do not count), and the replays among them stored nothing more.
    def count(where: str) -> int:
        sql = f"SELECT count(*) FROM {SERVICE}_records WHERE {where}"
        return int(postgres_server.psql(sql, "all_five"))

    assert count(f"operation = '{WRITE}'") >= 4, "the example write tests stored nothing"
    assert count("key LIKE 'redelivered-%'") == 1  # one request, handled twice
    assert count("key LIKE 'duplicated-%'") == 1  # one request, handled 8 times at once
    # Neither the DSN's nor Redis's password is ever printed.
    output = completed.stdout + completed.stderr
    assert POSTGRES_PASSWORD not in output
    assert REDIS_PASSWORD not in output
    # The generated HTTP integration tests ran (not skipped): their requests reached the server
    # (tests/test_integration_http.py checks no project of its own: this one covers it).
    assert http_upstream.count("GET", "/health") >= 2
    assert any(path.startswith("/onex-integration-test-") for _, path in http_upstream.requests)
    resilience = "test_resilience_integration.test_breaker_opens_fails_fast_half_opens_and_closes"
    assert any(resilience in name for name in completed.passed), completed.passed
    print(f"\nall five integrations: {summary[-1]}")
