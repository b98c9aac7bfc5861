"""What a command consumer counts, for GET /metrics (KafkaCommandConsumer has all of it)."""

from collections.abc import Mapping
from typing import Protocol


class ProtocolCommandConsumerStats(Protocol):
    """Outcomes and retries since start-up, and the lag of each partition it reads."""

    @property
    def completed(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def dead_lettered(self) -> int: ...
    @property
    def retries(self) -> int: ...
    @property
    def lag(self) -> Mapping[int, int]:
        """Per partition: commands behind the last one committed (high watermark - next)."""
        ...
