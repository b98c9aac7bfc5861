"""A generated node's log: every line one JSON object on stderr, one line per request at INFO.

Runs the default project's console script with `--input` (issue 9 item 4): each stderr line is
parsed as JSON and must carry the documented keys; at INFO a request writes its one outcome
line and nothing else of the runtime's; at DEBUG even omnibase_core's start-up lines (one of
which used to be plain text) and asyncio's are JSON lines on the same stream.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from conftest import project_answers

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("default_project")]

# The keys every line has (README.md.jinja, "Logs"), in order.
KEYS = [
    "timestamp",
    "level",
    "logger",
    "message",
    "node_id",
    "correlation_id",
    "trace_id",
    "operation",
    "duration_ms",
    "error_code",
    "context",
]


def run_once(
    project: Path, request: dict[str, Any], level: str, data_dir: Path
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """`<script> --input request` at `level`; (the process, every stderr line parsed)."""
    answers = project_answers(project)
    prefix = answers["service_name"].upper() + "_"
    script = project / ".venv" / "bin" / answers["service_name"].replace("_", "-")
    completed = subprocess.run(
        [str(script), "--input", json.dumps(request)],
        cwd=project,
        env={**os.environ, f"{prefix}LOG_LEVEL": level, f"{prefix}DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = []
    for number, line in enumerate(completed.stderr.splitlines(), 1):
        try:
            parsed = json.loads(line)
        except ValueError:
            pytest.fail(f"stderr line {number} is not JSON: {line!r}")
        assert list(parsed) == KEYS, line
        lines.append(parsed)
    return completed, lines


def test_a_failed_request_is_one_line_with_every_field(
    default_project: Path, tmp_path: Path
) -> None:
    correlation_id = str(uuid4())
    request = {"operation": "get_record", "key": "missing", "correlation_id": correlation_id}
    completed, lines = run_once(default_project, request, "INFO", tmp_path)

    assert completed.returncode == 1, completed.stderr[-2000:]
    assert json.loads(completed.stdout)["error_code"].endswith("NOT_FOUND")  # stdout: the result
    assert len(lines) == 1, completed.stderr
    (line,) = lines
    assert (line["level"], line["message"], line["operation"]) == (
        "error",
        "operation failed",
        "get_record",
    )
    assert line["correlation_id"] == correlation_id
    assert line["error_code"].endswith("NOT_FOUND")
    assert line["duration_ms"] >= 0
    assert line["trace_id"] is None  # no active trace
    assert line["node_id"]
    assert line["logger"] == project_answers(default_project)["package_name"]


def test_a_request_writes_one_outcome_line_at_info_and_all_json_at_debug(
    default_project: Path, tmp_path: Path
) -> None:
    correlation_id = str(uuid4())
    request = {"operation": "create_record", "key": "k", "correlation_id": correlation_id}
    completed, info = run_once(default_project, request, "INFO", tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert json.loads(completed.stdout)["correlation_id"] == correlation_id

    # Exactly one line at INFO, the request's outcome: no start-up, lifecycle, envelope or
    # started line, and the example handler's own line ("record stored") is DEBUG.
    assert [line["message"] for line in info] == ["operation completed"], info
    (outcome,) = info
    assert outcome["duration_ms"] >= 0
    assert outcome["operation"] == "create_record"
    assert outcome["correlation_id"] == correlation_id

    second = str(uuid4())  # a request of its own: the same key would be a replay
    completed, debug = run_once(
        default_project, {**request, "correlation_id": second}, "DEBUG", tmp_path
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    loggers = {line["logger"] for line in debug}
    assert {"omnibase", "asyncio"} <= loggers, loggers  # the libraries' lines are JSON too
    messages = [line["message"] for line in debug]
    assert "ServiceRegistry initialized for container" in messages  # was plain text
    envelopes = [line["context"]["envelope"] for line in debug if line["message"] == "event"]
    assert envelopes
    assert all(isinstance(envelope, dict) for envelope in envelopes)
    started = [env for env in envelopes if env["event_type"].endswith("create_record.started")]
    assert len(started) == 1
    assert started[0]["correlation_id"] == second
