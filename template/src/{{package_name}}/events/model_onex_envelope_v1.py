"""The OnexEnvelopeV1 event format every event of this node travels in.

omnibase_core 0.47's ModelEventEnvelope has no event_version, source_node_id, causation_id or
partition_key, which consumers of OnexEnvelopeV1 rely on, so the node defines the format here.
The model is the schema: consumers validate with it, and the command consumer reads envelopes
with it. The node's own events take a faster path to the same bytes: `EnvelopeWriter` writes
an envelope's JSON from fragments encoded once per node and event type, around a payload
serialised once (a request or response model straight to JSON, never through a dict), and
hands it on as an `EncodedEnvelope`. Validating and dumping a model per event, and then
building and serialising a dict per event, were in turn the largest part of an operation's
overhead (benchmarks/bench_events.py). The bytes validate against the model and dump back
unchanged: tests/test_node_runtime.py checks it for the node's own events, and the
template's tests (tests/test_envelope_writer.py there) for any text, with Hypothesis.
"""

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import from_json, to_json


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


def envelope_json(envelope: Mapping[str, object]) -> bytes:
    """The envelope's wire bytes: compact UTF-8 JSON, as `model_dump_json()` writes it."""
    return to_json(envelope)


# Event ids made ahead, 256 from one os.urandom() call: the system call was a third of an id's
# cost, paid for each of an operation's three events. list.pop() is atomic, so threads never
# share an id; a forked child drops the parent's (it would repeat them) and makes its own.
_ID_BATCH = 256
_ready_ids: list[str] = []
os.register_at_fork(after_in_child=_ready_ids.clear)

# Where each random hex digit of an id goes in its text ("xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx"
# and a newline, 37 characters): digit k moves right by one for each dash before it. Digit 12
# gives way to the version digit 4 and digit 16 to the variant digit (_VARIANT_DIGIT).
_ID_TEXT = 37
_DIGIT_PLACES = tuple(
    (digit, digit + sum(digit >= dash for dash in (8, 12, 16, 20)))
    for digit in range(32)
    if digit not in (12, 16)
)
# The variant digit (binary 10xx) from a random hex digit's two low bits.
_VARIANT_DIGIT = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")


def _event_id_batch() -> list[str]:
    """_ID_BATCH ids in str(uuid4())'s format: version digit 4, variant digit 8, 9, a or b.

    Each assignment moves one digit of all the batch's ids at once (an extended slice), so
    the work per id is done in C: a fifth of formatting each id with an f-string.
    """
    digits = os.urandom(16 * _ID_BATCH).hex().encode()
    text = bytearray(b"\n" * (_ID_TEXT * _ID_BATCH))
    for digit, place in _DIGIT_PLACES:
        text[place::_ID_TEXT] = digits[digit::32]
    text[8::_ID_TEXT] = text[13::_ID_TEXT] = text[18::_ID_TEXT] = text[23::_ID_TEXT] = (
        b"-" * _ID_BATCH
    )
    text[14::_ID_TEXT] = b"4" * _ID_BATCH
    text[19::_ID_TEXT] = digits[16::32].translate(_VARIANT_DIGIT)
    return text.decode().split()


def new_event_id() -> str:
    """str(uuid4()): the same randomness (os.urandom) and format, without a UUID object between
    (uuid4() and its str() were ~5 us of every event)."""
    try:
        return _ready_ids.pop()
    except IndexError:
        _ready_ids.extend(_event_id_batch())
        return _ready_ids.pop()


# Every envelope's first bytes, up to its event id's value.
_HEAD = b'{"envelope_version":' + to_json(_ENVELOPE_VERSION) + b',"event_id":"'


class EncodedEnvelope(NamedTuple):
    """An envelope as the broker gets it: its JSON bytes, with the two fields a publisher logs
    and counts by (so it need not parse the bytes to find them)."""

    value: bytes
    event_id: str
    event_type: str

    def as_json(self) -> dict[str, JsonValue]:
        """The JSON form, for an event bus that takes dicts (RuntimeLocal's EventBusInmemory,
        the redaction wrapper). pydantic_core parses it: the stdlib's json.loads took ~10 us
        an envelope, more than writing it."""
        envelope: dict[str, JsonValue] = from_json(self.value)
        return envelope


class EventKind(NamedTuple):
    """What every event of one type shares: its type, its topic, and two encoded fragments."""

    event_type: str
    topic: str
    # From the event id's closing quote to the timestamp's opening quote (type, version).
    after_id: bytes
    # The metadata (node type, event category) and the envelope's closing brace.
    closing: bytes


class EnvelopeWriter:
    """Writes one source's envelopes, byte for byte what `ModelOnexEnvelopeV1.model_dump_json()`
    writes, from fragments encoded once instead of a dict serialised per event.

    Every field but the payload is either fixed for the node (versions, source, metadata per
    event type: encoded once, in `kind()`) or text the node made itself (event ids,
    timestamps, UUIDs), which needs no escaping; the payload arrives already serialised.
    """

    def __init__(self, source_node_id: str, source_service: str, node_type: str) -> None:
        self._node_type = node_type
        # From the timestamp's closing quote to the correlation id: the same for every event.
        self._source = (
            b'","source_node_id":'
            + to_json(source_node_id)
            + b',"source_service":'
            + to_json(source_service)
            + b',"correlation_id":'
        )

    def kind(self, event_type: str, topic: str, category: str) -> EventKind:
        """The fragments of `event_type`'s events, published to `topic`."""
        after_id = (
            b'","event_type":'
            + to_json(event_type)
            + b',"event_version":'
            + to_json(_EVENT_VERSION)
            + b',"event_timestamp":"'
        )
        metadata = {"node_type": self._node_type, "event_category": category}
        return EventKind(event_type, topic, after_id, b',"metadata":' + to_json(metadata) + b"}")

    def write(
        self,
        kind: EventKind,
        *,
        timestamp: str,
        correlation_id: bytes,
        causation_id: bytes,
        partition_key: bytes,
        payload: bytes,
    ) -> EncodedEnvelope:
        """One envelope of `kind`, with a new event id. `timestamp` as utc_now_text("Z")
        writes it; the ids and the key as JSON values (`json_text()`), and `payload` a JSON
        object's bytes."""
        event_id = new_event_id()
        value = b"".join(
            (
                _HEAD,
                event_id.encode(),
                kind.after_id,
                timestamp.encode(),
                self._source,
                correlation_id,
                b',"causation_id":',
                causation_id,
                b',"partition_key":',
                partition_key,
                b',"payload":',
                payload,
                kind.closing,
            )
        )
        return EncodedEnvelope(value, event_id, kind.event_type)


def json_text(text: OptionalText) -> bytes:
    """A JSON string, or null; escaped by pydantic_core whatever the text holds."""
    return b"null" if text is None else to_json(text)
