"""The OnexEnvelopeV1 event format every event of this node travels in.

omnibase_core 0.47's ModelEventEnvelope has no event_version, source_node_id, causation_id or
partition_key, which consumers of OnexEnvelopeV1 rely on, so the node defines the format here.
The model is the schema: consumers validate with it, and the command consumer reads envelopes
with it. The node's own events take a faster path to the same bytes: `new_envelope()` builds
the JSON form (`OnexEnvelopeV1Json`, a plain dict, what `model_dump(mode="json")` gives) and
`envelope_json()` serialises it once. Validating and dumping a model per event was the largest
part of an operation's overhead (benchmarks/bench_events.py); the generated tests check that
the fast path's bytes validate against the model and dump back to the same bytes.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypedDict
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import to_json

# Relative: this module is not rendered, so it cannot name the package.
from ..runtime.node_logging import utc_now_text


class ModelOnexEnvelopeV1(BaseModel):
    """One event: identity, routing and tracing fields around a JSON payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    envelope_version: str = Field(default="1.0", pattern=r"^1\.\d+$")
    event_id: UUID = Field(default_factory=uuid4)
    event_type: str = Field(min_length=1, description="e.g. effect.create_record.completed")
    event_version: str = Field(default="1.0", min_length=1)
    event_timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source_node_id: UUID
    source_service: str = Field(min_length=1)
    correlation_id: UUID | None = None
    causation_id: UUID | None = Field(default=None, description="event_id of the cause")
    partition_key: str | None = Field(default=None, description="Kafka key; keeps order")
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict)


_ENVELOPE_VERSION: str = ModelOnexEnvelopeV1.model_fields["envelope_version"].default
_EVENT_VERSION: str = ModelOnexEnvelopeV1.model_fields["event_version"].default


# A JSON string or null (the JSON form of the model's optional ids and key). Named once:
# `onex validate --strict` counts every written union against its limit per source tree.
type OptionalText = str | None


class OnexEnvelopeV1Json(TypedDict):
    """ModelOnexEnvelopeV1 in its JSON form, keys in the model's field order."""

    envelope_version: str
    event_id: str
    event_type: str
    event_version: str
    event_timestamp: str
    source_node_id: str
    source_service: str
    correlation_id: OptionalText
    causation_id: OptionalText
    partition_key: OptionalText
    payload: dict[str, JsonValue]
    metadata: dict[str, str]


def new_envelope(
    *,
    event_id: str,
    event_type: str,
    source_node_id: str,
    source_service: str,
    correlation_id: OptionalText,
    causation_id: OptionalText,
    partition_key: OptionalText,
    payload: dict[str, JsonValue],
    metadata: dict[str, str],
    event_timestamp: str = "",
) -> OnexEnvelopeV1Json:
    """An envelope of the node's own making, from values it already holds as JSON.

    Nothing is validated: every value comes from the node (payloads from model_dump(mode="json")).
    The timestamp ("" for now) is written as pydantic writes a UTC datetime ("...Z"), so the
    bytes are those of `ModelOnexEnvelopeV1(...).model_dump_json()`.
    """
    return {
        "envelope_version": _ENVELOPE_VERSION,
        "event_id": event_id,
        "event_type": event_type,
        "event_version": _EVENT_VERSION,
        "event_timestamp": event_timestamp or utc_now_text("Z"),
        "source_node_id": source_node_id,
        "source_service": source_service,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "partition_key": partition_key,
        "payload": payload,
        "metadata": metadata,
    }


def envelope_json(envelope: Mapping[str, object]) -> bytes:
    """The envelope's wire bytes: compact UTF-8 JSON, as `model_dump_json()` writes it."""
    return to_json(envelope)
