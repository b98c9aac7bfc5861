"""One event waiting in the publisher's buffer, already serialised."""

import json
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(slots=True)
class PendingEvent:
    """What the delivery task sends: topic, key, the envelope's JSON bytes, and its history."""

    topic: str
    key: bytes | None
    value: bytes
    event_id: str
    event_type: str = ""
    attempts: int = 0
    last_error: str = ""
    # The trace context of the operation that emitted it (runtime/tracing.py), sent as headers.
    headers: Sequence[tuple[str, bytes]] = ()

    @classmethod
    def of(
        cls,
        envelope: object,
        topic: str,
        key: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> "PendingEvent":
        """Serialise `envelope` (a Pydantic model, or anything json.dumps accepts)."""
        dump = getattr(envelope, "model_dump_json", None)
        text = dump() if callable(dump) else json.dumps(envelope, default=str)
        return cls(
            topic=topic,
            key=key,
            value=str(text).encode(),
            event_id=str(getattr(envelope, "event_id", "")),
            event_type=str(getattr(envelope, "event_type", "")),
            headers=headers,
        )
