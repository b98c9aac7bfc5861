"""The dead-letter record: the original message and why it could not be delivered or handled."""

import json
from datetime import UTC, datetime

from pydantic import JsonValue


def dead_letter_record(
    *,
    original_topic: str,
    value: bytes,
    reason: str,
    error_type: str,
    attempts: int,
) -> bytes:
    """JSON bytes for the dead-letter topic; `envelope` holds the original (parsed if it is JSON)."""
    original: JsonValue
    try:
        original = json.loads(value)
    except ValueError:
        original = value.decode("utf-8", errors="replace")
    record: dict[str, JsonValue] = {
        "original_topic": original_topic,
        "reason": reason,
        "error_type": error_type,
        "attempts": attempts,
        "dead_lettered_at": datetime.now(UTC).isoformat(),
        "envelope": original,
    }
    return json.dumps(record).encode()
