"""What one send attempt of one buffered event came to."""

from enum import Enum


class EnumSendOutcome(Enum):
    """Delivered; broker unreachable (keep and wait); rejected but retriable; dead-letter it."""

    DELIVERED = "delivered"
    UNREACHABLE = "unreachable"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"
