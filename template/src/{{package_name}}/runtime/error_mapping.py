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

And the one table of HTTP statuses the HTTP API (runtime/http_api.py) answers per code
(`HTTP_STATUS_BY_CODE`, read through `http_status()`); a code not in it is a 500:

| HTTP status | ONEX error codes |
|---|---|
| 400 bad request | VALIDATION_ERROR, VALIDATION_FAILED, INVALID_INPUT, INVALID_PARAMETER, MISSING_REQUIRED_PARAMETER, PARAMETER_TYPE_MISMATCH, PARAMETER_OUT_OF_RANGE, TYPE_MISMATCH, CONVERSION_ERROR, PARSING_ERROR, CONTRACT_VIOLATION |
| 403 forbidden | PERMISSION_DENIED, PERMISSION_ERROR, AUTHENTICATION_ERROR, SECURITY_VIOLATION |
| 404 not found | NOT_FOUND, RESOURCE_NOT_FOUND, FILE_NOT_FOUND |
| 409 conflict or invalid state | INVALID_STATE, DUPLICATE_REGISTRATION |
| 429 too many requests | RATE_LIMIT_ERROR, QUOTA_EXCEEDED |
| 503 dependency unavailable | every other transient code above (DATABASE_CONNECTION_ERROR, DEPENDENCY_UNAVAILABLE, SERVICE_UNAVAILABLE, ...) |
| 504 timeout | TIMEOUT_ERROR, TIMEOUT, TIMEOUT_EXCEEDED, CACHE_TIMEOUT_ERROR |
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

# The HTTP table of the docstring, keyed by code value. Every transient code is a 503
# unless listed (timeouts 504, rate limits 429), so an HTTP client retries what the Kafka
# command consumer retries.
HTTP_STATUS_BY_CODE: dict[str, int] = {
    **{code.value: 503 for code in TRANSIENT_CODES},
    EnumCoreErrorCode.VALIDATION_ERROR.value: 400,
    EnumCoreErrorCode.VALIDATION_FAILED.value: 400,
    EnumCoreErrorCode.INVALID_INPUT.value: 400,
    EnumCoreErrorCode.INVALID_PARAMETER.value: 400,
    EnumCoreErrorCode.MISSING_REQUIRED_PARAMETER.value: 400,
    EnumCoreErrorCode.PARAMETER_TYPE_MISMATCH.value: 400,
    EnumCoreErrorCode.PARAMETER_OUT_OF_RANGE.value: 400,
    EnumCoreErrorCode.TYPE_MISMATCH.value: 400,
    EnumCoreErrorCode.CONVERSION_ERROR.value: 400,
    EnumCoreErrorCode.PARSING_ERROR.value: 400,
    EnumCoreErrorCode.CONTRACT_VIOLATION.value: 400,
    EnumCoreErrorCode.PERMISSION_DENIED.value: 403,
    EnumCoreErrorCode.PERMISSION_ERROR.value: 403,
    EnumCoreErrorCode.AUTHENTICATION_ERROR.value: 403,
    EnumCoreErrorCode.SECURITY_VIOLATION.value: 403,
    EnumCoreErrorCode.NOT_FOUND.value: 404,
    EnumCoreErrorCode.RESOURCE_NOT_FOUND.value: 404,
    EnumCoreErrorCode.FILE_NOT_FOUND.value: 404,
    EnumCoreErrorCode.INVALID_STATE.value: 409,
    EnumCoreErrorCode.DUPLICATE_REGISTRATION.value: 409,
    EnumCoreErrorCode.RATE_LIMIT_ERROR.value: 429,
    EnumCoreErrorCode.QUOTA_EXCEEDED.value: 429,
    EnumCoreErrorCode.TIMEOUT_ERROR.value: 504,
    EnumCoreErrorCode.TIMEOUT.value: 504,
    EnumCoreErrorCode.TIMEOUT_EXCEEDED.value: 504,
    EnumCoreErrorCode.CACHE_TIMEOUT_ERROR.value: 504,
}


def error_code_of(error: ModelOnexError) -> str:
    """`error`'s code as its string value (ModelOnexError keeps the enum member or a string)."""
    code = error.error_code
    return str(code.value) if isinstance(code, Enum) else str(code)


def http_status(error: ModelOnexError) -> int:
    """The HTTP status the API answers for `error`: HTTP_STATUS_BY_CODE, else 500."""
    return HTTP_STATUS_BY_CODE.get(error_code_of(error), 500)


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
