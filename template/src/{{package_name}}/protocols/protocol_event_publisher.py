"""The one method the node needs from an event bus.

omnibase_core's EventBusInmemory (which RuntimeLocal injects) satisfies it, and so do this
project's own publishers; only adapters import a broker client library.
"""

from typing import Protocol


class ProtocolEventPublisher(Protocol):
    """Publishes a serialisable envelope to a topic; must not raise for broker outages."""

    async def publish_envelope(
        self, envelope: object, topic: str, *, key: bytes | None = None
    ) -> None: ...
