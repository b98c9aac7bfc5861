"""The generated kafka_partitioner.py on its own (a plain file, no Jinja): its murmur2 gives
aiokafka's numbers on any bytes, so keyed events land on the partition every Kafka client
chooses for their key. Fast: the module is imported from the template tree, no project made.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

from aiokafka.partitioner import DefaultPartitioner, murmur2
from conftest import TEMPLATE_ROOT
from hypothesis import example, given, settings
from hypothesis import strategies as st

MODULE = (
    TEMPLATE_ROOT
    / "template"
    / "src"
    / "{{package_name}}"
    / "integrations"
    / "kafka"
    / "kafka_partitioner.py"
)


def load_partitioner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kafka_partitioner", MODULE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


partitioner = load_partitioner()


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300))
@example(b"")  # no words, no tail
@example(b"a")  # each tail length on its own
@example(b"ab")
@example(b"abc")
@example(b"abcd")  # one word, no tail
@example(b"\xff" * 37)  # high bytes: the masks and shifts at their widest
@example(b"3f2c8a91-6b0e-4d57-9a3e-1c2b3d4e5f60")  # a correlation id, the usual key
def test_murmur2_is_aiokafkas_on_any_bytes(data: bytes) -> None:
    assert partitioner.murmur2(data) == murmur2(data)


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=1, max_value=64))
def test_a_keyed_partition_is_the_one_aiokafkas_default_partitioner_chooses(
    key: bytes, count: int
) -> None:
    partitions = list(range(count))
    chosen = partitioner.keyed_partition(key, partitions, partitions)
    assert chosen == DefaultPartitioner()(key, partitions, partitions)
