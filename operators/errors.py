"""The operators' branch of the exception tree (drawn in :mod:`streams.errors`).

A resilience operator that refuses a call or gives up on it fails the stream with one
of these. Each carries the ``name`` of the step that raised it, so the message, the
logs and the metric labels say which breaker, bucket or budget it was.

:class:`PolicyError` is apart: a ``ValueError`` for a policy or an operator argument that
is out of range, raised when it is built, never down a stream.
"""

from __future__ import annotations

from streams.errors import BeingError

__all__ = [
    "BudgetExceededError",
    "BulkheadFullError",
    "CacheStoreError",
    "CallTimeoutError",
    "CircuitOpenError",
    "DeadlineExceededError",
    "LimitStoreError",
    "OperatorError",
    "PolicyError",
    "RateLimitedError",
    "RetryExhaustedError",
]


class OperatorError(BeingError):
    """A resilience operator refused a call or gave up on it.

    Attributes:
        name: the name of the operator's step (a breaker, a bucket, a route's call).
    """

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"{name}: {message}")


class CallTimeoutError(OperatorError):
    """A call did not finish within its time limit; the call was disposed (cancelled).

    Attributes:
        timeout_s: the limit that was reached.
    """

    def __init__(self, name: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(name, f"call did not finish within {timeout_s:g} s")


class DeadlineExceededError(CallTimeoutError):
    """A request did not finish within its deadline, which bounds every try and every wait together.

    The calls still running were disposed (cancelled). It is a :class:`CallTimeoutError`, so a
    fallback rule for timeouts covers it, but it is not transient: the request's time is spent,
    and no retry outside it should start again.

    Attributes:
        deadline_s: the deadline that passed (also ``timeout_s``).
    """

    def __init__(self, name: str, deadline_s: float) -> None:
        self.deadline_s = deadline_s
        self.timeout_s = deadline_s
        OperatorError.__init__(
            self, name, f"request did not finish within its deadline of {deadline_s:g} s (every try and wait counted)"
        )


class CircuitOpenError(OperatorError):
    """The circuit breaker rejected a call without making it.

    Attributes:
        state: the breaker's state when it rejected (``open``, ``half_open``, ``forced_open``).
        remaining_s: how long until the breaker lets a probe through (``None`` when forced open).
    """

    def __init__(self, name: str, state: str, remaining_s: float | None) -> None:
        self.state = state
        self.remaining_s = remaining_s
        if remaining_s is None:
            detail = "held open by hand until it is reset"
        elif state == "half_open":
            detail = "half-open and every probe is taken; wait for the probes to finish"
        else:
            detail = f"a probe is allowed in {remaining_s:.3g} s"
        super().__init__(name, f"circuit {state}: call rejected ({detail})")


class RateLimitedError(OperatorError):
    """The token bucket could not admit a call soon enough (or the mode is ``reject``).

    Attributes:
        cost: tokens the call asked for.
        wait_s: how long the call would have had to wait for them.
        max_wait_s: how long it was allowed to wait (0 in ``reject`` mode).
    """

    def __init__(self, name: str, cost: float, wait_s: float, max_wait_s: float) -> None:
        self.cost = cost
        self.wait_s = wait_s
        self.max_wait_s = max_wait_s
        super().__init__(
            name, f"rate limited: {cost:g} token(s) needed a wait of {wait_s:.3g} s, allowed {max_wait_s:g} s"
        )


class BudgetExceededError(OperatorError):
    """The call budget for the current window is spent.

    Attributes:
        max_calls: calls allowed per window.
        window_s: the window's length, or ``None`` when it lasts until the next reset.
        free_in_s: seconds until a call is free again (``None``: until the next reset).
    """

    def __init__(self, name: str, max_calls: int, window_s: float | None, free_in_s: float | None = None) -> None:
        self.max_calls = max_calls
        self.window_s = window_s
        self.free_in_s = free_in_s
        window = f"per {window_s:g} s" if window_s is not None else "until the next reset"
        super().__init__(name, f"budget of {max_calls} call(s) {window} is spent")


class BulkheadFullError(OperatorError):
    """Every call slot and every waiting place of the bulkhead is taken.

    Attributes:
        max_concurrent: calls allowed in flight.
        max_waiting: calls allowed to wait for a slot.
    """

    def __init__(self, name: str, max_concurrent: int, max_waiting: int) -> None:
        self.max_concurrent = max_concurrent
        self.max_waiting = max_waiting
        super().__init__(name, f"bulkhead full: {max_concurrent} in flight and {max_waiting} waiting")


class RetryExhaustedError(OperatorError):
    """Retry gave up; the last error is ``last_error`` (and ``__cause__``).

    Attributes:
        attempts: how many times the call was made.
        reason: ``attempts`` (all used), ``retry_budget`` (too many retries lately) or
            ``retry_after`` (the server asked for a longer wait than ``max_delay_s``).
        last_error: the error of the last attempt.
    """

    def __init__(self, name: str, attempts: int, reason: str, last_error: Exception) -> None:
        self.attempts = attempts
        self.reason = reason
        self.last_error = last_error
        super().__init__(
            name, f"gave up after {attempts} attempt(s) ({reason}): {type(last_error).__name__}: {last_error}"
        )


class CacheStoreError(OperatorError):
    """The cache's shared store failed: unreachable, too slow, or holding a payload that does not decode.

    The cache never sends it down a call's stream: a failed read is served as a miss and a
    failed write is skipped; both are reported to the listener (``cache_store_failed``).

    Attributes:
        operation: ``get`` or ``set``.
        key: the cache key (without the store's namespace).
    """

    def __init__(self, name: str, operation: str, key: str, reason: str) -> None:
        self.operation = operation
        self.key = key
        super().__init__(name, f"cache store {operation} of {key[:16]}: {reason}")


class LimitStoreError(OperatorError):
    """The shared limits' store failed: unreachable, too slow, or answering what its scripts never send.

    The rate limiter and the budget never send it down a call's stream: the call is decided on
    this process's share of the limits instead, and the failure is reported to the listener
    (``limits_store_failed``).

    Attributes:
        operation: ``take_tokens``, ``give_tokens``, ``spend_calls``, ``reset_calls`` or ``ping``.
    """

    def __init__(self, name: str, operation: str, reason: str) -> None:
        self.operation = operation
        super().__init__(name, f"limit store {operation}: {reason}")


class PolicyError(ValueError):
    """A policy field or an operator argument is out of range: raised when it is built.

    The message reads ``"<where>: expected <expected>, got <got>"``; the parts are kept so
    that a settings loader can name its own key for ``field`` without parsing the message.

    Attributes:
        where: ``Class.field`` (``RetryPolicy.max_attempts``) or ``operator('name').argument``.
        expected: what a valid value looks like (``an integer >= 1``).
        got: the value given.
    """

    def __init__(self, where: str, expected: str, got: object) -> None:
        self.where = where
        self.expected = expected
        self.got = got
        super().__init__(f"{where}: expected {expected}, got {got!r}")

    @property
    def field(self) -> str:
        """The field or argument named by ``where`` (the part after its last dot)."""
        return self.where.rpartition(".")[2]

    @property
    def owner(self) -> str:
        """The class or operator named by ``where`` (the part before its last dot)."""
        return self.where.rpartition(".")[0]
