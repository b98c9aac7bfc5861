"""Counters of the Kafka event publisher (in its health report and in tests)."""

from pydantic import BaseModel, ConfigDict, Field


class ModelKafkaPublisherStats(BaseModel):
    """Every accepted event is delivered, dead-lettered, overflowed, undelivered or buffered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connected: bool
    buffered: int = Field(ge=0, description="Waiting for the broker, including the batch in flight")
    buffer_limit: int = Field(ge=1)
    accepted: int = Field(ge=0, description="publish_envelope() calls")
    delivered: int = Field(ge=0, description="Acknowledged by the broker (acks=all)")
    dead_lettered: int = Field(ge=0, description="Rejected by the broker; sent to the DLQ topic")
    overflowed: int = Field(ge=0, description="Oldest events written to the log: buffer was full")
    undelivered: int = Field(
        ge=0, description="Written to the log: not serialisable, DLQ unreachable, or left at stop()"
    )
