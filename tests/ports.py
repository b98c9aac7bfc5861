"""Local TCP ports for the test services."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A local port nothing listens on (bound and released just now): free to listen on, and
    refused when connected to."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
