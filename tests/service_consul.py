"""A stand-in for the Consul agent HTTP API, and the `consul_stand_in` fixture.

No Consul binary can be installed on these machines (docs: services-and-toolchain), so the
Consul integration is tested with the real client library (py-consul, inside the generated
project) against this stand-in. It is NOT Consul: it implements only the endpoints a generated
node uses, with the request and response shapes of the Consul HTTP API documentation:

    PUT /v1/agent/service/register             register a service and its checks
    PUT /v1/agent/service/deregister/<id>      remove it (404 when unknown, like the agent)
    GET /v1/agent/services                     {id: service} of this agent
    GET /v1/health/service/<name>[?passing]    [{Node, Service, Checks}], X-Consul-Index header
    GET /v1/status/leader                      "host:port" of the Raft leader (a JSON string)

Like an agent it runs every registered HTTP check itself: a GET of the check URL every
Interval (the first after a random stagger within one interval, as Consul does), with the
check's Timeout; 2xx is passing, 429 warning, anything else or no answer critical. A new
check starts critical, Consul's default. DeregisterCriticalServiceAfter is accepted but the
stand-in never reaps a critical service. Every request is recorded in `requests`; requests
to any other endpoint answer 404 and are recorded in `unhandled`, so tests can prove the node
uses nothing else.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

NODE_NAME = "consul-stand-in"
NODE_ADDRESS = "127.0.0.1"
LEADER = "127.0.0.1:8300"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration(text: str) -> float:
    """Seconds in a Go duration string such as "10s", "1m30s" or "500ms" (Consul's format)."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _lower_keys(value: Any) -> Any:
    """Consul decodes request JSON case-insensitively ("Name" == "name"); so does the stand-in."""
    if isinstance(value, dict):
        return {str(k).lower(): v for k, v in value.items()}
    return value


@dataclass
class HttpCheck:
    """One registered HTTP check and what the stand-in's checker last saw."""

    check_id: str
    name: str
    service_id: str
    url: str
    interval: float
    timeout: float
    status: str = "critical"
    output: str = ""
    runs: int = 0
    next_run: float = 0.0

    def as_consul(self, service_name: str) -> dict[str, Any]:
        return {
            "Node": NODE_NAME,
            "CheckID": self.check_id,
            "Name": self.name,
            "Status": self.status,
            "Notes": "",
            "Output": self.output,
            "ServiceID": self.service_id,
            "ServiceName": service_name,
            "ServiceTags": [],
            "Type": "http",
        }


@dataclass
class Registration:
    service_id: str
    name: str
    address: str
    port: int
    tags: list[str]
    meta: dict[str, str]
    checks: list[HttpCheck] = field(default_factory=list)

    def as_agent_service(self) -> dict[str, Any]:
        return {
            "ID": self.service_id,
            "Service": self.name,
            "Tags": list(self.tags),
            "Meta": dict(self.meta),
            "Port": self.port,
            "Address": self.address,
            "Weights": {"Passing": 1, "Warning": 1},
            "EnableTagOverride": False,
            "Datacenter": "dc1",
        }


class ConsulAgentStandIn:
    """The Consul agent API stand-in: an HTTP server and a check runner, each in a thread."""

    def __init__(self, port: int = 0) -> None:
        self._requested_port = port
        self._lock = threading.Lock()
        self._services: dict[str, Registration] = {}
        self._index = 1
        self.requests: list[tuple[str, str]] = []
        self.unhandled: list[tuple[str, str]] = []
        self.registrations: list[dict[str, Any]] = []  # request bodies, as sent
        self.deregistrations: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> ConsulAgentStandIn:
        self._server = ThreadingHTTPServer((NODE_ADDRESS, self._requested_port), self._handler())
        self._server.daemon_threads = True
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._server.serve_forever, daemon=True),
            threading.Thread(target=self._run_checks, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for thread in self._threads:
            thread.join(timeout=10)

    @property
    def port(self) -> int:
        """The listening port; before start() the port it was asked to use (if not 0)."""
        if self._server is None:
            assert self._requested_port, "stand-in on a free port: start it first"
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def http_addr(self) -> str:
        """The value for CONSUL_HTTP_ADDR."""
        return f"http://{NODE_ADDRESS}:{self.port}"

    # -- what tests read -----------------------------------------------------------------------
    def services(self) -> dict[str, Registration]:
        with self._lock:
            return dict(self._services)

    def check_status(self, service_id: str) -> str | None:
        """Aggregated status of one service's checks ("passing" only when all pass)."""
        with self._lock:
            registration = self._services.get(service_id)
            if registration is None:
                return None
            return _aggregate([c.status for c in registration.checks])

    def check_runs(self, service_id: str) -> int:
        with self._lock:
            registration = self._services.get(service_id)
            return sum(c.runs for c in registration.checks) if registration else 0

    # -- the agent API ---------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        agent = self

        class AgentRequest(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes: without TCP_NODELAY every answer
            # waits ~40 ms for the client's delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the test output is not the place for an access log."""

            def do_GET(self) -> None:
                self._answer("GET")

            def do_PUT(self) -> None:
                self._answer("PUT")

            def do_POST(self) -> None:
                self._answer("POST")

            def do_DELETE(self) -> None:
                self._answer("DELETE")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, headers = agent._route(method, self.path, body)
                data = b"" if payload is None else json.dumps(payload).encode()
                if isinstance(payload, str) and status >= 400:
                    data = payload.encode()  # Consul's errors are plain text
                self.send_response(status)
                self.send_header(
                    "Content-Type",
                    "text/plain; charset=utf-8" if status >= 400 else "application/json",
                )
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return AgentRequest

    def _route(self, method: str, raw_path: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        url = urlsplit(raw_path)
        path = url.path
        query = parse_qs(url.query, keep_blank_values=True)
        with self._lock:
            self.requests.append((method, path))
        if method == "PUT" and path == "/v1/agent/service/register":
            return self._register(body)
        if method == "PUT" and path.startswith("/v1/agent/service/deregister/"):
            return self._deregister(unquote(path.rsplit("/", 1)[1]))
        if method == "GET" and path == "/v1/agent/services":
            with self._lock:
                services = {sid: r.as_agent_service() for sid, r in self._services.items()}
            return 200, services, {}
        if method == "GET" and path.startswith("/v1/health/service/"):
            return self._health_service(unquote(path.rsplit("/", 1)[1]), "passing" in query)
        if method == "GET" and path == "/v1/status/leader":
            return 200, LEADER, {}
        with self._lock:
            self.unhandled.append((method, path))
        return 404, f"stand-in does not implement {method} {path}", {}

    def _register(self, body: bytes) -> tuple[int, Any, dict[str, str]]:
        try:
            request = _lower_keys(json.loads(body or b"{}"))
        except json.JSONDecodeError as exc:
            return 400, f"Request decode failed: {exc}", {}
        name = request.get("name")
        if not name:
            return 400, "Missing service name", {}
        service_id = request.get("id") or name
        raw_checks = [_lower_keys(c) for c in request.get("checks") or []]
        if request.get("check"):
            raw_checks.insert(0, _lower_keys(request["check"]))
        checks: list[HttpCheck] = []
        for number, raw in enumerate(raw_checks, start=1):
            if not raw.get("http"):
                return 400, "stand-in supports HTTP checks only", {}
            try:
                interval = go_duration(str(raw.get("interval", "")))
                timeout = go_duration(str(raw["timeout"])) if raw.get("timeout") else 10.0
            except ValueError as exc:
                return 400, f"Invalid check: {exc}", {}
            if interval <= 0:
                return 400, "Interval must be > 0 for Script, HTTP, or TCP checks", {}
            check_id = (
                raw.get("checkid")
                or raw.get("id")
                or (
                    f"service:{service_id}"
                    if len(raw_checks) == 1
                    else f"service:{service_id}:{number}"
                )
            )
            checks.append(
                HttpCheck(
                    check_id=check_id,
                    name=raw.get("name") or f"Service '{name}' check",
                    service_id=service_id,
                    url=raw["http"],
                    interval=interval,
                    timeout=timeout,
                    status=raw.get("status") or "critical",
                    next_run=time.monotonic() + random.uniform(0, interval),
                )
            )
        registration = Registration(
            service_id=service_id,
            name=name,
            address=request.get("address") or "",
            port=int(request.get("port") or 0),
            tags=list(request.get("tags") or []),
            meta={str(k): str(v) for k, v in (request.get("meta") or {}).items()},
            checks=checks,
        )
        with self._lock:
            self._services[service_id] = registration
            self.registrations.append(json.loads(body))
            self._index += 1
        return 200, None, {}

    def _deregister(self, service_id: str) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            if self._services.pop(service_id, None) is None:
                return (
                    404,
                    f'Unknown service ID "{service_id}". Ensure that the service ID is passed, not the service name.',
                    {},
                )
            self.deregistrations.append(service_id)
            self._index += 1
        return 200, None, {}

    def _health_service(self, name: str, passing_only: bool) -> tuple[int, Any, dict[str, str]]:
        node = {
            "ID": "00000000-0000-0000-0000-000000000001",
            "Node": NODE_NAME,
            "Address": NODE_ADDRESS,
            "Datacenter": "dc1",
            "TaggedAddresses": {"lan": NODE_ADDRESS, "wan": NODE_ADDRESS},
            "Meta": {},
        }
        serf = {
            "Node": NODE_NAME,
            "CheckID": "serfHealth",
            "Name": "Serf Health Status",
            "Status": "passing",
            "Notes": "",
            "Output": "Agent alive and reachable",
            "ServiceID": "",
            "ServiceName": "",
            "ServiceTags": [],
            "Type": "",
        }
        entries = []
        with self._lock:
            for registration in self._services.values():
                if registration.name != name:
                    continue
                checks = [serf] + [c.as_consul(name) for c in registration.checks]
                if passing_only and any(c["Status"] != "passing" for c in checks):
                    continue
                entries.append(
                    {"Node": node, "Service": registration.as_agent_service(), "Checks": checks}
                )
            index = self._index
        return 200, entries, {"X-Consul-Index": str(index)}

    # -- the agent's check runner ------------------------------------------------------------------
    def _run_checks(self) -> None:
        while not self._stopping.wait(0.05):
            now = time.monotonic()
            with self._lock:
                due = [c for r in self._services.values() for c in r.checks if c.next_run <= now]
            for check in due:
                status, output = _probe(check.url, check.timeout)
                with self._lock:
                    check.status, check.output = status, output
                    check.runs += 1
                    check.next_run = time.monotonic() + check.interval


def _probe(url: str, timeout: float) -> tuple[str, str]:
    """One run of an HTTP check, judged as Consul judges it."""
    try:
        # The URL is the one the node registered, as a real agent would call it.
        with urllib.request.urlopen(url, timeout=timeout) as response:
            code = response.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (OSError, ValueError) as exc:
        return "critical", f"Get {url!r}: {exc}"
    output = f"HTTP GET {url}: {code}"
    if 200 <= code < 300:
        return "passing", output
    if code == 429:
        return "warning", output
    return "critical", output


def _aggregate(statuses: list[str]) -> str:
    if any(s == "critical" for s in statuses):
        return "critical"
    if any(s == "warning" for s in statuses):
        return "warning"
    return "passing"


def wait_until(condition: Any, *, timeout: float, interval: float = 0.05) -> float:
    """Poll `condition()` until it is truthy; returns the seconds it took, fails on timeout."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - start


@pytest.fixture
def consul_stand_in() -> Iterator[ConsulAgentStandIn]:
    """A started Consul agent stand-in on a free port; its address is `.http_addr`."""
    stand_in = ConsulAgentStandIn().start()
    yield stand_in
    stand_in.stop()
