"""One place that turns any exception raised by an operation into a precise ModelOnexError.

Operations and adapters should raise ModelOnexError with the most specific code they know
(adapters map their client library's errors, e.g. DATABASE_CONNECTION_ERROR); this mapping is
the safety net for everything else, so callers always see an ONEX error code and the original
exception stays reachable through `__cause__`.

It also holds the one table that says which failures are worth retrying (`TRANSIENT_CODES`):
the Kafka command consumer retries a command whose error code is in it, with backoff, and
treats every other code as permanent (the failed outcome is published and the command is done).

| kind | ONEX error codes | what the command path does |
|---|---|---|
| transient: the dependency may answer if asked again | DATABASE_CONNECTION_ERROR, CACHE_CONNECTION_ERROR, CACHE_TIMEOUT_ERROR, CACHE_BACKEND_NOT_CONNECTED, DEPENDENCY_UNAVAILABLE, SERVICE_UNAVAILABLE, RESOURCE_UNAVAILABLE, NETWORK_ERROR, TIMEOUT_ERROR, TIMEOUT, TIMEOUT_EXCEEDED, RATE_LIMIT_ERROR | retried with bounded exponential backoff and jitter; after the last attempt, dead-lettered with the attempt count |
| permanent: asking again gives the same answer | everything else, e.g. VALIDATION_ERROR, INVALID_INPUT, NOT_FOUND, PERMISSION_DENIED, DATABASE_QUERY_ERROR, OPERATION_FAILED and the business codes an operation raises | the failed outcome is published and the command is committed |
"""

from enum import Enum
from uuid import UUID

from omnibase_core.enums.enum_core_error_code import EnumCoreErrorCode
from omnibase_core.errors.model_onex_error import ModelOnexError
from pydantic import ValidationError

# Checked in order: the first matching exception type decides the code.
_CODE_BY_TYPE: tuple[tuple[type[BaseException], EnumCoreErrorCode], ...] = (
    (ValidationError, EnumCoreErrorCode.VALIDATION_ERROR),
    (TimeoutError, EnumCoreErrorCode.TIMEOUT_ERROR),
    (ConnectionError, EnumCoreErrorCode.DEPENDENCY_UNAVAILABLE),
    (PermissionError, EnumCoreErrorCode.PERMISSION_DENIED),
    (FileNotFoundError, EnumCoreErrorCode.FILE_NOT_FOUND),
    (OSError, EnumCoreErrorCode.RESOURCE_UNAVAILABLE),
    (KeyError, EnumCoreErrorCode.NOT_FOUND),
    (ValueError, EnumCoreErrorCode.INVALID_INPUT),
    (TypeError, EnumCoreErrorCode.TYPE_MISMATCH),
)


# The transient half of the table above; every code not listed here is permanent.
TRANSIENT_CODES: frozenset[EnumCoreErrorCode] = frozenset(
    {
        EnumCoreErrorCode.DATABASE_CONNECTION_ERROR,
        EnumCoreErrorCode.CACHE_CONNECTION_ERROR,
        EnumCoreErrorCode.CACHE_TIMEOUT_ERROR,
        EnumCoreErrorCode.CACHE_BACKEND_NOT_CONNECTED,
        EnumCoreErrorCode.DEPENDENCY_UNAVAILABLE,
        EnumCoreErrorCode.SERVICE_UNAVAILABLE,
        EnumCoreErrorCode.RESOURCE_UNAVAILABLE,
        EnumCoreErrorCode.NETWORK_ERROR,
        EnumCoreErrorCode.TIMEOUT_ERROR,
        EnumCoreErrorCode.TIMEOUT,
        EnumCoreErrorCode.TIMEOUT_EXCEEDED,
        EnumCoreErrorCode.RATE_LIMIT_ERROR,
    }
)


_TRANSIENT_VALUES = frozenset(code.value for code in TRANSIENT_CODES)


def is_transient(error: ModelOnexError) -> bool:
    """True when `error`'s code is in TRANSIENT_CODES: the same call may succeed later."""
    code = error.error_code
    # ModelOnexError keeps either the enum member or the code's string value.
    return (code.value if isinstance(code, Enum) else code) in _TRANSIENT_VALUES


def to_onex_error(exc: BaseException, *, operation: str, correlation_id: UUID) -> ModelOnexError:
    """`exc` itself when it is already a ModelOnexError, else a wrapper with a mapped code.

    Raise the result `from exc` so the traceback keeps the original failure.
    """
    if isinstance(exc, ModelOnexError):
        return exc
    code = next(
        (code for kind, code in _CODE_BY_TYPE if isinstance(exc, kind)),
        EnumCoreErrorCode.OPERATION_FAILED,
    )
    return ModelOnexError(
        message=f"operation {operation!r} failed: {type(exc).__name__}: {exc}",
        error_code=code,
        correlation_id=correlation_id,
        operation=operation,
        error_type=type(exc).__name__,
    )
