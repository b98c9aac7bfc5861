"""A publisher that takes the node's envelopes as the broker gets them: already serialised.

The node's own publishers (Kafka's and the log's) implement it, so an event is serialised once,
by events/model_onex_envelope_v1.EnvelopeWriter. Any other event bus (RuntimeLocal's
EventBusInmemory, the redaction wrapper) gets `publish_envelope()` with the JSON form instead.
"""

from typing import Protocol, runtime_checkable

# Relative: this module is not rendered, so it cannot name the package.
from ..events.model_onex_envelope_v1 import EncodedEnvelope

# A record's key, or None for none. Named once: `onex validate --strict` counts every written
# union against its limit per source tree.
type EventKey = bytes | None


@runtime_checkable
class ProtocolEncodedEventPublisher(Protocol):
    """Takes an encoded envelope for `topic`; never waits for a broker and never raises for
    an outage (a plain method: it only buffers, or logs, and returns)."""

    def publish_encoded(
        self, envelope: EncodedEnvelope, topic: str, *, key: EventKey = None
    ) -> None: ...
