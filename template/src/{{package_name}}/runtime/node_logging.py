"""Structured logging bound to one node: every line carries node_id and correlation_id.

omnibase_core's `emit_log_event_sync` writes one JSON line to the stdlib logger "omnibase".
(`omnibase_core.logging.emit_log_event` is not used: in 0.47.57 it imports modules that do
not exist and prints nothing; tests/test_core_workarounds.py watches for a fix.)
"""

import logging
import sys
from uuid import UUID

from omnibase_core.enums.enum_log_level import EnumLogLevel
from omnibase_core.logging import emit_log_event_sync

# Values of structured log fields (int and bool are accepted where float is).
type LogValue = str | float | None

# The stdlib logger emit_log_event_sync writes to, and its levels: a line below the configured
# level is dropped before its JSON is built (emit_log_event_sync serialises first, then asks).
_CORE_LOGGER = logging.getLogger("omnibase")
_STDLIB_LEVELS = {
    EnumLogLevel.DEBUG: logging.DEBUG,
    EnumLogLevel.INFO: logging.INFO,
    EnumLogLevel.WARNING: logging.WARNING,
    EnumLogLevel.ERROR: logging.ERROR,
}


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
        if not _CORE_LOGGER.isEnabledFor(_STDLIB_LEVELS[level]):
            return
        fields = {**self._base, **context}
        if correlation_id is not None:
            fields["correlation_id"] = str(correlation_id)
        emit_log_event_sync(level, message, fields)
