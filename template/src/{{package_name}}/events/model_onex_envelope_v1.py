"""The OnexEnvelopeV1 event format every event of this node travels in.

omnibase_core 0.47's ModelEventEnvelope has no event_version, source_node_id, causation_id or
partition_key, which consumers of OnexEnvelopeV1 rely on, so the node defines the format here.
It serialises with `model_dump_json()`; any bus with `publish_envelope` accepts it.
`built()` makes one from values the node typed itself, without validating them again.
"""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, JsonValue


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

    @classmethod
    def built(
        cls,
        *,
        event_type: str,
        source_node_id: UUID,
        source_service: str,
        correlation_id: UUID | None,
        causation_id: UUID | None,
        partition_key: str | None,
        payload: dict[str, JsonValue],
        metadata: dict[str, str],
    ) -> "ModelOnexEnvelopeV1":
        """An envelope of the node's own making, not validated again (model_construct).

        Validating a payload that came from model_dump(mode="json") walks every value through
        JsonValue's union: a third of an operation's overhead (benchmarks/bench_events.py).
        Every field is passed, because model_construct inspects each default_factory it calls;
        the versions are the fields' own defaults.
        """
        return cls.model_construct(
            envelope_version=_ENVELOPE_VERSION,
            event_id=uuid4(),
            event_type=event_type,
            event_version=_EVENT_VERSION,
            event_timestamp=datetime.now(UTC),
            source_node_id=source_node_id,
            source_service=source_service,
            correlation_id=correlation_id,
            causation_id=causation_id,
            partition_key=partition_key,
            payload=payload,
            metadata=metadata,
        )


_ENVELOPE_VERSION: str = ModelOnexEnvelopeV1.model_fields["envelope_version"].default
_EVENT_VERSION: str = ModelOnexEnvelopeV1.model_fields["event_version"].default
