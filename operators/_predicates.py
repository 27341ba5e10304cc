"""Which errors are transient (worth another try) and which are the operators' own rejections."""

from __future__ import annotations

from operators.errors import (
    BudgetExceededError,
    BulkheadFullError,
    CallTimeoutError,
    CircuitOpenError,
    DeadlineExceededError,
    RateLimitedError,
)

__all__ = ["is_rejection", "is_transient", "never", "retry_after_of"]

_REJECTIONS = (CircuitOpenError, BudgetExceededError, RateLimitedError, BulkheadFullError)
_NEVER_TRANSIENT = (*_REJECTIONS, DeadlineExceededError)


def is_rejection(error: Exception) -> bool:
    """True for an error an operator raised *instead of* making the call (it says nothing about the backend)."""
    return isinstance(error, _REJECTIONS)


def is_transient(error: Exception) -> bool:
    """The default retry predicate: another try may succeed.

    True for an error carrying ``retryable = True`` (the LLM client's 429/502/503/504 and
    connection failures), a ``CallTimeoutError``, ``TimeoutError`` or ``ConnectionError``;
    never for a rejection (an open breaker, a spent budget, a full bucket or bulkhead), nor
    for a passed deadline (``DeadlineExceededError``: the request's time is spent).
    """
    if isinstance(error, _NEVER_TRANSIENT):
        return False
    if getattr(error, "retryable", False) is True:
        return True
    return isinstance(error, CallTimeoutError | TimeoutError | ConnectionError)


def retry_after_of(error: Exception) -> float | None:
    """The wait the server asked for (``retry_after_s`` on the error), when it is a number >= 0."""
    value = getattr(error, "retry_after_s", None)
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def never(error: Exception) -> bool:
    """A predicate that is always false."""
    return False
