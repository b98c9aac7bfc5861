"""A real local HTTP upstream for the HTTP-client tests, and the `http_upstream` fixture.

A stdlib ThreadingHTTPServer in a thread that records every request it receives, so tests
count attempts at the server rather than trusting the client's own account:

    ANY  /                 200 {"ok": true}
    GET  /health           200 {"status": "ok"}
    ANY  /status/<code>    answers <code> with {"status": <code>}
    ANY  /slow?seconds=S   sleeps S seconds, then 200
    ANY  /echo             200 {"method", "path", "body"} (body decoded as JSON when present)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


class HttpUpstream:
    """The upstream server; `requests` lists (method, path) in arrival order."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> HttpUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def count(self, method: str, path: str) -> int:
        with self._lock:
            return sum(1 for m, p in self.requests if m == method and p == path)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class UpstreamRequest(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes: without TCP_NODELAY every answer
            # waits ~40 ms for the client's delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the test output is not the place for an access log."""

            def do_GET(self) -> None:
                self._answer()

            def do_HEAD(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def do_PUT(self) -> None:
                self._answer()

            def do_PATCH(self) -> None:
                self._answer()

            def do_DELETE(self) -> None:
                self._answer()

            def do_OPTIONS(self) -> None:
                self._answer()

            def _answer(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with upstream._lock:
                    upstream.requests.append((self.command, url.path))
                status, payload = upstream._route(self.command, url.path, url.query, body)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up waiting (a timeout test)

        return UpstreamRequest

    def _route(self, method: str, path: str, query: str, body: bytes) -> tuple[int, Any]:
        if path == "/":
            return 200, {"ok": True}
        if path == "/health":
            return 200, {"status": "ok"}
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            return code, {"status": code}
        if path == "/slow":
            time.sleep(float(parse_qs(query).get("seconds", ["1"])[0]))
            return 200, {"slow": True}
        if path == "/echo":
            return 200, {
                "method": method,
                "path": path,
                "body": json.loads(body) if body else None,
            }
        return 404, {"error": f"no route {path}"}


@pytest.fixture
def http_upstream() -> Iterator[HttpUpstream]:
    """A started upstream on a free port; `.base_url` is its address."""
    upstream = HttpUpstream().start()
    yield upstream
    upstream.stop()
