"""Dead-letter records: the original message (or, when it is too large, a reference to it) and why.

A full record holds the original under `envelope` (parsed when it is JSON, else its text with
undecodable bytes replaced). When the record would not fit in a Kafka message
(`max_bytes`), a reference record replaces it: the original's event id, event type and size,
so an operator can find it in the source (the producer's log, or the command topic's offset).
"""

import json
from datetime import UTC, datetime

from pydantic import JsonValue

# Leading characters of an oversized original kept in its reference record.
EXCERPT_CHARS = 200


def original_json(value: bytes) -> JsonValue:
    """The original as JSON when it parses, else as text; never raises (poison included)."""
    try:
        parsed: JsonValue = json.loads(value)
    except (ValueError, RecursionError):  # not JSON, invalid UTF-8, or nested too deep
        return value.decode("utf-8", errors="replace")
    try:
        json.dumps(parsed)  # deep enough to parse can still be too deep to write back
    except RecursionError:
        return value.decode("utf-8", errors="replace")
    return parsed


def dead_letter_record(
    *,
    original_topic: str,
    value: bytes,
    reason: str,
    error_type: str,
    attempts: int,
    max_bytes: int,
    event_id: str = "",
    event_type: str = "",
    source: dict[str, JsonValue] | None = None,
) -> bytes:
    """JSON bytes for the dead-letter topic, at most `max_bytes` long.

    `source` says where the original was read from (for commands: partition and offset).
    """
    record: dict[str, JsonValue] = {
        "original_topic": original_topic,
        "reason": reason,
        "error_type": error_type,
        "attempts": attempts,
        "dead_lettered_at": datetime.now(UTC).isoformat(),
        "size_bytes": len(value),
        **({"source": source} if source else {}),
    }
    if len(value) < max_bytes:
        full = json.dumps({**record, "envelope": original_json(value)}).encode()
        if len(full) <= max_bytes:
            return full
    reference: dict[str, JsonValue] = {
        **record,
        "reference_only": True,
        "event_id": event_id,
        "event_type": event_type,
        "excerpt": value[:EXCERPT_CHARS].decode("utf-8", errors="replace"),
    }
    return json.dumps(reference).encode()
