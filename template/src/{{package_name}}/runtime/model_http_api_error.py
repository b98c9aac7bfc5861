"""The body of every error answer of the HTTP API (runtime/http_api.py)."""

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class ModelHttpApiError(BaseModel):
    """What failed, as an ONEX error code; the HTTP status says what kind of failure it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_code: str = Field(description="ONEX error code, e.g. ONEX_CORE_028_NOT_FOUND")
    message: str
    correlation_id: UUID | None = Field(
        default=None, description="Of the request, when it got far enough to have one"
    )
    details: list[JsonValue] = Field(
        default_factory=list, description="Validation errors of the body, one per field"
    )
