"""Structured logging: every line the process writes to its log is one JSON object on stderr.

The line format (README.md, "Logs", documents it) has the same keys on every line, null when
they do not apply, so a log pipeline can index them without guessing:

    timestamp, level, logger, message, node_id, correlation_id, trace_id, operation,
    duration_ms, error_code, context

`context` holds the line's other fields. The node's own lines are built by NodeLogger; the lines
of the libraries underneath (omnibase_core, aiokafka, aiohttp, asyncpg...) go through the same
`JsonLineFormatter`, so nothing on the stream is plain text. The stream is stderr because stdout
carries what a command prints as its result (the `--input` response, the `--health-check`
report, the "serving" handshake line), which callers parse and must never find a log line in.

At INFO a request writes one line ("operation completed" or "operation failed"); envelopes,
per-event lines, lifecycle steps and the libraries' own INFO chatter are DEBUG.

`omnibase_core.logging.emit_log_event` is not used: in 0.47.57 it imports modules that do not
exist and prints nothing (tests/test_core_workarounds.py watches for a fix).
"""

import json
import logging
import sys
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import TextIO
from uuid import UUID

from pydantic import JsonValue
from pydantic_core import to_json

# Relative: this module is not rendered, so it cannot name the package.
from . import tracing

# Values of structured log fields.
type LogValue = JsonValue
# A request's correlation id, when the line belongs to one. Named once: `onex validate --strict`
# counts every written union against its limit per source tree.
type CorrelationId = UUID | None

# The stable top-level keys of every line, in order; anything else goes under "context".
FIELDS = (
    "node_id",
    "correlation_id",
    "trace_id",
    "operation",
    "duration_ms",
    "error_code",
)
# The libraries whose INFO lines are start-up detail: shown only when the node logs at DEBUG.
LIBRARY_LOGGERS = ("omnibase", "omnibase_core", "aiokafka", "aiohttp", "asyncpg", "consul")

# The node's own logger: the top-level package's name.
_LOGGER = logging.getLogger(__name__.split(".", 1)[0])
# The stdlib encoder, for the rare line pydantic_core's refuses (see _encoded_line).
_LINE_ENCODER = json.JSONEncoder(default=str)
# The `level` value of NodeLogger's lines.
_LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
}
# Set on the records NodeLogger builds, whose message already is the finished line.
_PREBUILT = "onex_json_line"


# str(UUID) is Python code (~1.5 us); one operation's log line and events repeat its correlation
# id and the started event's id, so the text of recent ids is remembered.
_uuid_text = lru_cache(maxsize=1024)(str)
# The last id asked for and its text. An operation passes the same UUID object to its log line
# and to each of its events, and an identity check is cheaper than the UUID's hash (Python code)
# the cache above computes.
_last_uuid: tuple[CorrelationId, str] = (None, "")


def uuid_text(value: UUID) -> str:
    """str(value), remembered for the last id and the 1,024 most recent ones."""
    global _last_uuid  # a one-entry cache, read and replaced whole
    last, text = _last_uuid
    if value is not last:
        text = _uuid_text(value)
        _last_uuid = (value, text)
    return text


# The second the last timestamp fell in, and its text up to the seconds ("2026-01-31T12:00:00").
_second_text: tuple[int, str] = (-1, "")


def utc_now_text(zone: str = "+00:00") -> str:
    """`datetime.now(UTC).isoformat()`, the same text, at a fraction of the cost.

    now() reads the system clock and floors it to the microsecond, as this does from
    time.time_ns(); the date and time to the second are formatted once a second, not per line
    (the log line's and every event's timestamp were a few microseconds each). Like isoformat(),
    it leaves the fraction out on a whole second. `zone` replaces "+00:00": the envelopes write
    "Z", as pydantic does.
    """
    global _second_text  # a one-entry cache, read and replaced whole
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    second, text = _second_text
    if second != seconds:
        text = datetime.fromtimestamp(seconds, UTC).isoformat().removesuffix("+00:00")
        _second_text = (seconds, text)
    microseconds = nanoseconds // 1000
    if not microseconds:
        return text + zone
    # zfill rather than a `:06d` format spec, which costs twice as much.
    return text + "." + str(microseconds).zfill(6) + zone


def current_trace_id() -> str | None:
    """The active trace's id for the `trace_id` field; None while no trace is active.

    The one place a log line reads the trace id (runtime/tracing.py: the current span's, while
    tracing is configured).
    """
    return tracing.current_trace_id()


def json_line(
    level: str, logger: str, message: str, fields: dict[str, LogValue], when: float | None = None
) -> str:
    """One log line: the stable keys first (null when absent), the other fields in context."""
    timestamp = utc_now_text() if when is None else datetime.fromtimestamp(when, UTC).isoformat()
    return _encoded_line(timestamp, level, logger, message, dict(fields))


def _encoded_line(
    timestamp: str, level: str, logger: str, message: str, context: dict[str, LogValue]
) -> str:
    """`json_line`'s work on a dict of the caller's own, which it consumes (no copy)."""
    line: dict[str, LogValue] = {
        "timestamp": timestamp,
        "level": level,
        "logger": logger,
        "message": message,
    }
    for name in FIELDS:
        line[name] = context.pop(name, None)
    if line["trace_id"] is None:
        line["trace_id"] = current_trace_id()
    line["context"] = context
    # pydantic_core's serialiser, the one the envelopes use: compact JSON in a fifth of the
    # stdlib encoder's time. A value that is not JSON becomes its str(), as omnibase_core's
    # encoder does for UUIDs, instead of losing the line.
    try:
        return to_json(line, fallback=str).decode()
    except ValueError:  # what it cannot write at all (bytes that are not UTF-8): stdlib's str()
        return _LINE_ENCODER.encode(line)


class JsonLineFormatter(logging.Formatter):
    """Formats any stdlib record as a `json_line`; the node's own lines pass through as built."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, _PREBUILT, False):
            return record.getMessage()
        message = record.getMessage()
        fields: dict[str, LogValue] = {}
        extra = getattr(record, "onex_context", None)  # omnibase_core's stdlib emitter
        if isinstance(extra, dict):
            fields.update(extra)
        elif message.startswith("{"):  # omnibase_core's emit_log_event_sync: a JSON string
            fields.update(_core_line(message))
            message = str(fields.pop("message", message))
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return json_line(record.levelname.lower(), record.name, message, fields, record.created)


def _core_line(message: str) -> dict[str, LogValue]:
    """The message and context of a line omnibase_core already wrote as JSON, or nothing."""
    try:
        parsed = json.loads(message)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(parsed, dict):
        return {}
    context = parsed.get("context")
    return {
        **(context if isinstance(context, dict) else {}),
        "message": parsed.get("message", message),
    }


def configure_logging(level: str) -> None:
    """Send every log line of the process, as JSON, to stderr at `level` (idempotent)."""
    root = logging.getLogger()
    if not any(getattr(h, "_onex_node_handler", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLineFormatter())
        handler._onex_node_handler = True  # type: ignore[attr-defined]  # marker for idempotence
        root.addHandler(handler)
    root.setLevel(level)
    quiet = logging.DEBUG if level == "DEBUG" else max(logging.WARNING, logging.getLevelName(level))
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)


class NodeLogger:
    """Emits structured lines with the node's identity already filled in."""

    def __init__(self, node_id: UUID, node_name: str) -> None:
        self._base: dict[str, LogValue] = {"node_id": str(node_id), "node_name": node_name}

    @staticmethod
    def enabled(level: int) -> bool:
        """True when a line at stdlib `level` would be written (to skip building costly fields)."""
        return _LOGGER.isEnabledFor(level)

    def debug(
        self, message: str, correlation_id: CorrelationId = None, **context: LogValue
    ) -> None:
        self._emit(logging.DEBUG, message, correlation_id, context)

    def info(self, message: str, correlation_id: CorrelationId = None, **context: LogValue) -> None:
        self._emit(logging.INFO, message, correlation_id, context)

    def warning(
        self, message: str, correlation_id: CorrelationId = None, **context: LogValue
    ) -> None:
        self._emit(logging.WARNING, message, correlation_id, context)

    def error(
        self, message: str, correlation_id: CorrelationId = None, **context: LogValue
    ) -> None:
        self._emit(logging.ERROR, message, correlation_id, context)

    def _emit(
        self,
        level: int,
        message: str,
        correlation_id: CorrelationId,
        context: dict[str, LogValue],
    ) -> None:
        if not _LOGGER.isEnabledFor(level):  # dropped before its JSON is built
            return
        fields = {**self._base, **context}
        if correlation_id is not None:
            fields["correlation_id"] = uuid_text(correlation_id)
        line = _encoded_line(utc_now_text(), _LEVEL_NAMES[level], _LOGGER.name, message, fields)
        handler = _sole_handler(level)
        if handler is not None:
            _write(handler, level, line)
            return
        # makeRecord + handle is Logger.log without its caller lookup: the caller would be this
        # line, which no formatter of the node prints.
        _LOGGER.handle(_record(level, line))


def _record(level: int, line: str) -> logging.LogRecord:
    """The stdlib record of one of NodeLogger's finished lines."""
    return _LOGGER.makeRecord(
        _LOGGER.name, level, __file__, 0, line, (), None, extra={_PREBUILT: True}
    )


def _sole_handler(level: int) -> logging.StreamHandler[TextIO] | None:
    """configure_logging's handler when it alone would write a line at `level`, else None.

    Then stdlib logging would only pass the line through (JsonLineFormatter returns NodeLogger's
    lines as built) to that handler's stream: building its LogRecord and walking the logger
    tree were half of a line's cost. Anything else attached (a test's caplog, a user's handler
    or filter, propagation turned off) takes the full stdlib path.
    """
    root = _LOGGER.root
    handlers = root.handlers
    if _LOGGER.handlers or _LOGGER.filters or not _LOGGER.propagate or root.filters:
        return None
    if len(handlers) != 1 or _LOGGER.parent is not root:
        return None
    handler = handlers[0]
    if (
        type(handler) is logging.StreamHandler
        and getattr(handler, "_onex_node_handler", False)
        and type(handler.formatter) is JsonLineFormatter
        and not handler.filters
        and level >= handler.level
    ):
        return handler
    return None


def _write(handler: logging.StreamHandler[TextIO], level: int, line: str) -> None:
    """What `handler.handle()` does with the line's record: write it and flush, under its lock."""
    handler.acquire()
    try:
        stream = handler.stream
        stream.write(line + handler.terminator)
        stream.flush()  # StreamHandler.flush() without taking the lock this already holds
    except RecursionError:  # as StreamHandler.emit does
        raise
    except Exception:  # noqa: BLE001  # as StreamHandler.emit: reported, never raised
        handler.handleError(_record(level, line))
    finally:
        handler.release()
