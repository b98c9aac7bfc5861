"""An event publisher that counts what became of its events (the Kafka one does)."""

from typing import Protocol, runtime_checkable

from pydantic import BaseModel


@runtime_checkable
class ProtocolPublisherStats(Protocol):
    """`stats()` has the fields runtime/operation_metrics.py exposes: buffered, buffer_limit,
    connected, and the counts accepted, delivered, dead_lettered, overflowed, undelivered."""

    def stats(self) -> BaseModel: ...
