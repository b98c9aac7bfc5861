"""The generated node's EnvelopeWriter writes, for any text, the bytes ModelOnexEnvelopeV1 does.

The writer (template/src/{{package_name}}/events/model_onex_envelope_v1.py, a file the
template copies as it is) builds each event's JSON from fragments encoded once, around a
payload already serialised, instead of dumping a model per event. Its promise is that a
consumer cannot tell: the bytes parse as JSON, validate against the model, and the model
dumps them back unchanged. Hypothesis feeds it arbitrary text wherever text goes (the source
service, event type and category, the causation id a caller may pass, every string and key of
the payload: quotes, backslashes, control characters, emoji, right-to-left marks) and
arbitrary JSON payloads; only lone surrogates are left out, which no JSON text can carry.

The module is loaded from the template itself, in this process: it needs pydantic and
nothing of the generated package.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from uuid import UUID, uuid4

from conftest import TEMPLATE_ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

WRITER_FILE = (
    TEMPLATE_ROOT / "template" / "src" / "{{package_name}}" / "events" / "model_onex_envelope_v1.py"
)
PROPERTY = settings(max_examples=200, derandomize=True, database=None, deadline=None)

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
NAME = TEXT.filter(bool)  # event_type and source_service must not be empty
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)
PAYLOAD = st.dictionaries(TEXT, JSON, max_size=5)


def load_writer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("onex_envelope_writer_under_test", WRITER_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the model's annotations through it
    spec.loader.exec_module(module)
    return module


WRITER = load_writer()
NODE_ID = uuid4()


def timestamp_text(moment: int) -> str:
    """An event_timestamp as the node writes it (utc_now_text("Z")): microseconds, or none on a
    whole second."""
    seconds, micros = divmod(moment, 1_000_000)
    text = datetime.fromtimestamp(seconds, UTC).isoformat().removesuffix("+00:00")
    return (text + f".{micros:06d}" if micros else text) + "Z"


@PROPERTY
@given(
    service=NAME,
    event_type=NAME,
    category=TEXT,
    node_type=TEXT,
    payload=PAYLOAD,
    correlated=st.booleans(),
    causation=st.one_of(st.none(), st.uuids().map(str)),
    moment=st.integers(0, 4_102_444_800_000_000),  # up to 2100
)
def test_the_bytes_are_the_models_to_the_byte(
    service: str,
    event_type: str,
    category: str,
    node_type: str,
    payload: dict[str, object],
    correlated: bool,
    causation: str | None,
    moment: int,
) -> None:
    writer = WRITER.EnvelopeWriter(str(NODE_ID), service, node_type)
    kind = writer.kind(event_type, "onex.evt.test.v1", category)
    correlation = str(uuid4()) if correlated else None
    key = correlation or str(NODE_ID)
    envelope = writer.write(
        kind,
        timestamp=timestamp_text(moment),
        correlation_id=WRITER.json_text(correlation),
        causation_id=WRITER.json_text(causation),
        partition_key=WRITER.json_text(key),
        payload=to_json(payload),
    )

    event_id = envelope.event_id
    assert str(UUID(event_id)) == event_id
    assert UUID(event_id).version == 4
    assert json.loads(envelope.value) == {
        "envelope_version": "1.0",
        "event_id": event_id,
        "event_type": event_type,
        "event_version": "1.0",
        "event_timestamp": timestamp_text(moment),
        "source_node_id": str(NODE_ID),
        "source_service": service,
        "correlation_id": correlation,
        "causation_id": causation,
        "partition_key": key,
        "payload": payload,
        "metadata": {"node_type": node_type, "event_category": category},
    }
    model = WRITER.ModelOnexEnvelopeV1.model_validate_json(envelope.value)
    assert model.model_dump_json().encode() == envelope.value
    assert (envelope.event_id, envelope.event_type) == (event_id, event_type)
    assert envelope.as_json() == json.loads(envelope.value)


@PROPERTY
@given(causation=TEXT)
def test_any_causation_text_is_escaped(causation: str) -> None:
    """A caller may pass any text as a causation id: it is a JSON string whatever it holds
    (the model refuses what is not a UUID, as it should; the bytes still parse)."""
    writer = WRITER.EnvelopeWriter(str(NODE_ID), "svc", "effect")
    kind = writer.kind("effect.x.completed", "onex.evt.test.v1", "operation")
    null = WRITER.json_text(None)
    envelope = writer.write(
        kind,
        timestamp="2026-01-31T12:00:00Z",
        correlation_id=null,
        causation_id=WRITER.json_text(causation),
        partition_key=null,
        payload=b"{}",
    )
    assert json.loads(envelope.value)["causation_id"] == causation
    if not _is_uuid(causation):
        return
    model = WRITER.ModelOnexEnvelopeV1.model_validate_json(envelope.value)
    assert str(model.causation_id) == str(UUID(causation))


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def test_the_writer_needs_nothing_of_the_generated_package() -> None:
    """It is loaded above from the template file alone; a relative import would fail there."""
    assert Path(WRITER.__file__) == WRITER_FILE
