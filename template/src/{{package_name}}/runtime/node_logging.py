"""Structured logging bound to one node: every line carries node_id and correlation_id.

Each line is the JSON line omnibase_core's `emit_log_event_sync` writes to the stdlib logger
"omnibase" ({"timestamp", "level", "message", "context"}), written here directly: two log lines
per operation through `emit_log_event_sync` cost more than the operation's three events, and
most of that was its per-call JSON encoder instance and caller lookup, neither of which changes
a byte of the line. (`omnibase_core.logging.emit_log_event` is not used: in 0.47.57 it imports
modules that do not exist and prints nothing; tests/test_core_workarounds.py watches for a fix.)
"""

import json
import logging
import sys
from datetime import UTC, datetime
from uuid import UUID

from omnibase_core.enums.enum_log_level import EnumLogLevel

# Relative: this module is not rendered, so it cannot name the package.
from . import tracing

# Values of structured log fields (int and bool are accepted where float is).
type LogValue = str | float | None

# The stdlib logger omnibase_core's lines go to, and its levels: a line below the configured
# level is dropped before its JSON is built.
_CORE_LOGGER = logging.getLogger("omnibase")
_STDLIB_LEVELS = {
    EnumLogLevel.DEBUG: logging.DEBUG,
    EnumLogLevel.INFO: logging.INFO,
    EnumLogLevel.WARNING: logging.WARNING,
    EnumLogLevel.ERROR: logging.ERROR,
}
# One encoder for every line (json.dumps with options builds one per call); a value that is not
# JSON becomes its str(), as omnibase_core's encoder does for UUIDs, instead of losing the line.
_LINE_ENCODER = json.JSONEncoder(default=str)


def current_trace_id() -> str | None:
    """The trace id every line carries while a span is current (None while tracing is off)."""
    return tracing.current_trace_id()


def configure_logging(level: str) -> None:
    """Send the node's JSON log lines to stderr at `level` (idempotent)."""
    root = logging.getLogger()
    if not any(getattr(h, "_onex_node_handler", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._onex_node_handler = True  # type: ignore[attr-defined]  # marker for idempotence
        root.addHandler(handler)
    root.setLevel(level)


class NodeLogger:
    """Emits structured events with the node's identity already filled in."""

    def __init__(self, node_id: UUID, node_name: str) -> None:
        self._base: dict[str, LogValue] = {"node_id": str(node_id), "node_name": node_name}

    def debug(self, message: str, correlation_id: UUID | None = None, **context: LogValue) -> None:
        self._emit(EnumLogLevel.DEBUG, message, correlation_id, context)

    def info(self, message: str, correlation_id: UUID | None = None, **context: LogValue) -> None:
        self._emit(EnumLogLevel.INFO, message, correlation_id, context)

    def warning(
        self, message: str, correlation_id: UUID | None = None, **context: LogValue
    ) -> None:
        self._emit(EnumLogLevel.WARNING, message, correlation_id, context)

    def error(self, message: str, correlation_id: UUID | None = None, **context: LogValue) -> None:
        self._emit(EnumLogLevel.ERROR, message, correlation_id, context)

    def _emit(
        self,
        level: EnumLogLevel,
        message: str,
        correlation_id: UUID | None,
        context: dict[str, LogValue],
    ) -> None:
        python_level = _STDLIB_LEVELS[level]
        if not _CORE_LOGGER.isEnabledFor(python_level):
            return
        fields = {**self._base, **context}
        if correlation_id is not None:
            fields["correlation_id"] = str(correlation_id)
        trace_id = current_trace_id()
        if trace_id is not None:
            fields["trace_id"] = trace_id
        line = _LINE_ENCODER.encode(
            {
                "timestamp": datetime.now(UTC).isoformat(),
                "level": level.value.lower(),
                "message": message,
                "context": fields,
            }
        )
        # makeRecord + handle is Logger.log without its caller lookup: the caller would be this
        # line, which no formatter of the node prints.
        _CORE_LOGGER.handle(
            _CORE_LOGGER.makeRecord(_CORE_LOGGER.name, python_level, __file__, 0, line, (), None)
        )
