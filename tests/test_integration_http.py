"""The HTTP client of a generated node against a real local HTTP server (tests/service_http.py).

Attempts are counted at the server, not taken from the client's own account. A generated
node's checks and HTTP integration tests against this server run in tests/test_integration_all.py
(an effect node with every integration, http among them), so no second project is checked here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import generate, project_spec, run_python, sync_environment
from ports import free_port
from service_http import HttpUpstream

pytestmark = pytest.mark.slow

ANSWERS: dict[str, Any] = {
    "service_name": "payment_gateway",
    "business_description": "Sends payment requests to the card processor's API.",
    "node_type": "effect",
    "integrations": ["http"],
}
MAX_RETRIES = 2
TIMEOUT_SECONDS = 0.5

# Runs inside the generated project's environment: argv[1] is the upstream, argv[2] a port
# nothing listens on. Prints {case: outcome} as JSON.
PROBE = """
import asyncio, json, sys, time
from uuid import uuid4
from omnibase_core.errors.model_onex_error import ModelOnexError
from {package}.integrations.http.http_client import HttpClient
from {package}.integrations.http.model_http_settings import ModelHttpSettings
from {package}.runtime.node_logging import NodeLogger

async def outcome(client, method, url):
    start = time.perf_counter()
    try:
        response = await client.request(method, url)
    except ModelOnexError as exc:
        result = {{"code": exc.error_code.name, "cause": type(exc.__cause__).__name__}}
    else:
        result = {{"status": response.status_code}}
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result

async def main():
    settings = ModelHttpSettings(
        base_url=sys.argv[1],
        max_retries={max_retries},
        retry_backoff_seconds=0.05,
        timeout_seconds={timeout},
    )
    client = HttpClient(settings, NodeLogger(uuid4(), "probe"))
    await client.start()
    results = {{}}
    for method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS", "POST", "PATCH"):
        results[method + " 503"] = await outcome(client, method, "/status/503")
    for status in (400, 401, 403, 404, 409, 422, 429, 500):
        results[f"GET {{status}}"] = await outcome(client, "GET", f"/status/{{status}}")
    results["GET ok"] = await outcome(client, "GET", "/")
    results["GET timeout"] = await outcome(client, "GET", "/slow?seconds=3")
    results["POST timeout"] = await outcome(client, "POST", "/slow?seconds=3")
    results["GET refused"] = await outcome(client, "GET", f"http://127.0.0.1:{{sys.argv[2]}}/")
    results["POST refused"] = await outcome(client, "POST", f"http://127.0.0.1:{{sys.argv[2]}}/")
    results["health"] = (await client.check_health()).status
    await client.stop()
    client = HttpClient(ModelHttpSettings(), NodeLogger(uuid4(), "probe"))  # no base URL
    await client.start()
    results["GET relative without base"] = await outcome(client, "GET", "/")
    await client.stop()
    print(json.dumps(results))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def http_project(copie_session: Any) -> Path:
    project = generate(copie_session, **ANSWERS)
    sync_environment(project)
    return project


def test_retries_only_idempotent_calls_and_maps_failures_to_onex_codes(
    http_project: Path,
    http_upstream: HttpUpstream,
) -> None:
    package = project_spec(http_project).package_name
    code = PROBE.format(package=package, max_retries=MAX_RETRIES, timeout=TIMEOUT_SECONDS)
    completed = run_python(
        http_project,
        f"import sys; sys.argv[1:] = [{http_upstream.base_url!r}, '{free_port()}']\n{code}",
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    results = json.loads(completed.stdout.splitlines()[-1])

    attempts = 1 + MAX_RETRIES
    for method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS"):
        assert http_upstream.count(method, "/status/503") == attempts, method
    for method in ("POST", "PATCH"):
        assert http_upstream.count(method, "/status/503") == 1, method
    for method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS", "POST", "PATCH"):
        assert results[f"{method} 503"]["code"] == "SERVICE_UNAVAILABLE", method
        assert results[f"{method} 503"]["cause"] == "HTTPStatusError", method

    expected = {
        400: "INVALID_INPUT",
        401: "AUTHENTICATION_ERROR",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        409: "INVALID_STATE",
        422: "VALIDATION_ERROR",
        500: "DEPENDENCY_FAILED",
    }
    for status, error_code in expected.items():
        assert results[f"GET {status}"]["code"] == error_code, status
        assert http_upstream.count("GET", f"/status/{status}") == 1, status  # permanent: no retry
    # 429's RATE_LIMIT_ERROR is transient (runtime/error_mapping.py), so retried like a 503.
    assert results["GET 429"]["code"] == "RATE_LIMIT_ERROR"
    assert http_upstream.count("GET", "/status/429") == attempts
    assert results["GET ok"]["status"] == 200

    # A read timeout: an idempotent GET is retried, a POST is sent once.
    assert results["GET timeout"] == results["GET timeout"] | {
        "code": "TIMEOUT_ERROR",
        "cause": "ReadTimeout",
    }
    assert http_upstream.count("GET", "/slow") == attempts
    assert results["GET timeout"]["seconds"] >= attempts * TIMEOUT_SECONDS
    assert results["POST timeout"]["code"] == "TIMEOUT_ERROR"
    assert http_upstream.count("POST", "/slow") == 1

    assert results["GET refused"]["code"] == "DEPENDENCY_UNAVAILABLE"
    assert results["GET refused"]["cause"] == "ConnectError"
    assert results["POST refused"]["code"] == "DEPENDENCY_UNAVAILABLE"
    assert results["health"] == "healthy"  # no health_url configured: nothing to probe
    assert results["GET relative without base"]["code"] == "CONFIGURATION_ERROR"
    print(
        "\nhttp: "
        + ", ".join(f"{case} {result}" for case, result in results.items() if case != "health")
    )
