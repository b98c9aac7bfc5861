"""One place that turns any exception raised by an operation into a precise ModelOnexError.

Operations and adapters should raise ModelOnexError with the most specific code they know
(adapters map their client library's errors, e.g. DATABASE_CONNECTION_ERROR); this mapping is
the safety net for everything else, so callers always see an ONEX error code and the original
exception stays reachable through `__cause__`.
"""

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
