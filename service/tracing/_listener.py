"""The operators' reports (design decision 7) as attributes and events of the call they happened in.

A report names only the protection; the call it belongs to is the one whose scope is current
(``service.tracing._scope``). A report made outside every traced call (the mind's calls, a timer
of no message) changes nothing but the breakers' last known states.
"""

from __future__ import annotations

from opentelemetry.trace import Span

from operators import NullListener
from service.tracing._scope import CURRENT, CallState

__all__ = ["TraceListener"]


def _call() -> CallState | None:
    scope = CURRENT.get()
    if scope is None or scope.call is None or scope.call.ended:
        return None
    return scope.call


class TraceListener(NullListener):
    """A :class:`~operators.ResilienceListener` that writes what each layer did onto the current call's spans.

    Args:
        breakers: the last state each breaker moved to, by protection name (kept here, shared with the tracing).
    """

    __slots__ = ("_breakers",)

    def __init__(self, breakers: dict[str, str]) -> None:
        self._breakers = breakers

    def breaker_state(self, name: str, old: str, new: str) -> None:
        self._breakers[name] = new
        call = _call()
        if call is not None:
            call.span.add_event("being.breaker.state", {"being.breaker.from": old, "being.breaker.to": new})

    def breaker_call(self, name: str, outcome: str, duration_s: float) -> None:
        call = _call()
        if call is None:
            return
        span: Span = call.current_try()  # a rejection opens (and ends) a try that never reached the backend
        span.set_attribute("being.breaker.outcome", outcome)
        if outcome == "rejected":
            span.set_attribute("error.type", "CircuitOpenError")
        call.end_try()

    def call_timed_out(self, name: str, timeout_s: float) -> None:
        call = _call()
        if call is not None:
            span = call.current_try()
            span.set_attribute("being.timeout_s", timeout_s)
            span.set_attribute("error.type", "CallTimeoutError")

    def retry_attempt(self, name: str, attempt: int, delay_s: float) -> None:
        call = _call()
        if call is None:
            return
        call.end_try()
        call.next_delay_s = delay_s
        call.span.add_event("being.retry", {"being.retry.attempt": attempt, "being.retry.delay_s": delay_s})

    def retry_gave_up(self, name: str, attempts: int, reason: str) -> None:
        call = _call()
        if call is not None:
            call.attributes["being.retry.gave_up"] = reason

    def rate_limit_waited(self, name: str, wait_s: float) -> None:
        call = _call()
        if call is not None:
            call.current_try().set_attribute("being.rate_limit.wait_s", wait_s)

    def rate_limit_rejected(self, name: str) -> None:
        call = _call()
        if call is not None:
            call.current_try().set_attribute("error.type", "RateLimitedError")

    def budget_remaining(self, name: str, remaining: int) -> None:
        call = _call()
        if call is not None:
            call.current_try().set_attribute("being.budget.remaining", remaining)

    def budget_rejected(self, name: str) -> None:
        call = _call()
        if call is not None:
            call.current_try().set_attribute("error.type", "BudgetExceededError")

    def cache_hit(self, name: str) -> None:
        call = _call()
        if call is not None:
            call.attributes["being.cache.hit"] = True

    def cache_miss(self, name: str) -> None:
        call = _call()
        if call is not None:
            call.attributes["being.cache.hit"] = False

    def cache_store_failed(self, name: str, operation: str, error: Exception) -> None:
        call = _call()
        if call is not None:
            call.span.add_event(
                "being.cache.store_failed", {"being.cache.operation": operation, "error.type": type(error).__name__}
            )

    def bulkhead_state(self, name: str, in_flight: int, waiting: int) -> None:
        call = _call()
        if call is not None and call.try_span is not None:
            call.try_span.add_event(
                "being.bulkhead", {"being.bulkhead.in_flight": in_flight, "being.bulkhead.waiting": waiting}
            )

    def bulkhead_rejected(self, name: str) -> None:
        call = _call()
        if call is not None:
            call.current_try().set_attribute("error.type", "BulkheadFullError")

    def fallback_used(self, name: str, reason: str, kind: str) -> None:
        call = _call()
        if call is not None:
            call.span.add_event("being.fallback", {"being.fallback.reason": reason, "being.fallback.kind": kind})
