"""One stored record, and the rule both record stores apply to a replayed request."""

from datetime import datetime
from uuid import UUID

from omnibase_core.enums.enum_core_error_code import EnumCoreErrorCode
from omnibase_core.errors.model_onex_error import ModelOnexError
from pydantic import BaseModel, ConfigDict, Field, JsonValue


class ModelRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    record_id: UUID
    key: str = Field(min_length=1)
    operation: str = Field(min_length=1)
    data: dict[str, JsonValue]
    created_at: datetime


def replayed_record(
    stored: ModelRecord,
    idempotency_key: str,
    key: str,
    operation: str,
    data: dict[str, JsonValue],
) -> ModelRecord:
    """The record an insert already stored under `idempotency_key`: a replay's outcome.

    The same request again (a redelivery) gets the first outcome back and stores nothing. A
    different request under the same key is refused rather than silently dropped: the sender
    reused a correlation id for two commands.
    """
    if (stored.key, stored.operation, stored.data) == (key, operation, data):
        return stored
    raise ModelOnexError(
        message=(
            f"idempotency key {idempotency_key!r} was already used by a different request "
            f"(key {stored.key!r}, operation {stored.operation!r}); give each command its own "
            "correlation id"
        ),
        error_code=EnumCoreErrorCode.INVALID_INPUT,
        idempotency_key=idempotency_key,
        record_id=str(stored.record_id),
    )
