"""One event waiting in the publisher's buffer, already serialised."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

# Relative: this module is not rendered, so it cannot name the package.
from ...events.model_onex_envelope_v1 import EncodedEnvelope, envelope_json


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
    # The trace context of the operation that emitted it (runtime/tracing.py), sent as headers;
    # a list, as aiokafka's compiled record builder accepts no other sequence.
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        envelope: object,
        topic: str,
        key: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> "PendingEvent":
        """The event of `envelope`: one of the node's own, already serialised
        (events/node_events.py), or a JSON form (a dict), a Pydantic model, or anything
        json.dumps accepts, serialised here."""
        # Positional arguments: keywords cost a dataclass's __init__ a microsecond.
        if isinstance(envelope, EncodedEnvelope):
            return cls(
                topic,
                key,
                envelope.value,
                envelope.event_id,
                envelope.event_type,
                0,
                "",
                [] if headers is None else headers,
            )
        # dict before the Mapping ABC, whose check alone costs more than the rest of this.
        if isinstance(envelope, (dict, Mapping)):
            return cls(
                topic,
                key,
                envelope_json(envelope),
                str(envelope.get("event_id", "")),
                str(envelope.get("event_type", "")),
                0,
                "",
                [] if headers is None else headers,
            )
        dump = getattr(envelope, "model_dump_json", None)
        text = dump() if callable(dump) else json.dumps(envelope, default=str)
        return cls(
            topic=topic,
            key=key,
            value=str(text).encode(),
            event_id=str(getattr(envelope, "event_id", "")),
            event_type=str(getattr(envelope, "event_type", "")),
            headers=headers if headers is not None else [],
        )
