"""What the resilience operators report, and a listener that ignores it all.

Operators never touch metrics themselves (design decision 7): they call a
:class:`ResilienceListener` passed in by the runtime, and ``service/`` turns the calls into
Prometheus series. Every method is cheap and must not raise; ``name`` is the step's name.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NULL_LISTENER", "NullListener", "RecordingListener", "ResilienceListener"]


class ResilienceListener(Protocol):
    """Receives state changes, call outcomes and durations from the operators."""

    def breaker_state(self, name: str, old: str, new: str) -> None:
        """A circuit breaker moved from state ``old`` to ``new`` (``closed``, ``open``, ...)."""

    def breaker_call(self, name: str, outcome: str, duration_s: float) -> None:
        """A call through a breaker ended: ``success``, ``failure``, ``slow``, ``ignored`` or ``rejected``."""

    def call_timed_out(self, name: str, timeout_s: float) -> None:
        """A call hit its time limit and was disposed."""

    def retry_attempt(self, name: str, attempt: int, delay_s: float) -> None:
        """Attempt number ``attempt`` (2 or more) is scheduled ``delay_s`` from now."""

    def retry_gave_up(self, name: str, attempts: int, reason: str) -> None:
        """Retry stopped after ``attempts`` attempts for ``reason`` (see ``RetryExhaustedError``)."""

    def rate_limit_waited(self, name: str, wait_s: float) -> None:
        """A call was admitted after waiting ``wait_s`` (0 when a token was ready)."""

    def rate_limit_rejected(self, name: str) -> None:
        """A call was refused by the token bucket."""

    def tokens_available(self, name: str, tokens: float) -> None:
        """The bucket holds ``tokens`` free tokens now."""

    def budget_remaining(self, name: str, remaining: int) -> None:
        """The call budget has ``remaining`` calls left in its window."""

    def budget_rejected(self, name: str) -> None:
        """A call was refused because the budget is spent."""

    def cache_hit(self, name: str) -> None:
        """A call was served from the cache (or joined an identical call in flight)."""

    def cache_miss(self, name: str) -> None:
        """A call went upstream."""

    def cache_evicted(self, name: str, count: int) -> None:
        """``count`` entries left the cache to keep it within its bound (not by expiry)."""

    def cache_size(self, name: str, entries: int) -> None:
        """The cache holds ``entries`` entries now."""

    def cache_store_failed(self, name: str, operation: str, error: Exception) -> None:
        """The cache's shared store failed at ``operation`` (``get``: served as a miss; ``set``: not written)."""

    def limits_state(self, name: str, state: str) -> None:
        """The shared limits moved to ``state``: ``local`` (their store is down) or ``shared`` (it answers again)."""

    def limits_store_failed(self, name: str, operation: str, error: Exception) -> None:
        """A request to the shared limits' store failed at ``operation`` (``take_tokens``, ``spend_calls``...)."""

    def limits_fallback(self, name: str, limit: str) -> None:
        """A call was decided by this process's share of ``limit`` (``rate_limit`` or ``budget``): the store is down."""

    def bulkhead_state(self, name: str, in_flight: int, waiting: int) -> None:
        """The bulkhead has ``in_flight`` calls running and ``waiting`` queued."""

    def bulkhead_rejected(self, name: str) -> None:
        """A call was refused because the bulkhead is full."""

    def fallback_used(self, name: str, reason: str, kind: str) -> None:
        """An error (kind of error ``reason``) became a fallback of ``kind`` (value, stale or skip)."""

    def lane_waiting(self, name: str, waiting: int) -> None:
        """``waiting`` items of a priority lane wait for a slot now."""


class NullListener:
    """A listener that ignores every report; subclass it to handle only some."""

    __slots__ = ()

    def breaker_state(self, name: str, old: str, new: str) -> None:
        return None

    def breaker_call(self, name: str, outcome: str, duration_s: float) -> None:
        return None

    def call_timed_out(self, name: str, timeout_s: float) -> None:
        return None

    def retry_attempt(self, name: str, attempt: int, delay_s: float) -> None:
        return None

    def retry_gave_up(self, name: str, attempts: int, reason: str) -> None:
        return None

    def rate_limit_waited(self, name: str, wait_s: float) -> None:
        return None

    def rate_limit_rejected(self, name: str) -> None:
        return None

    def tokens_available(self, name: str, tokens: float) -> None:
        return None

    def budget_remaining(self, name: str, remaining: int) -> None:
        return None

    def budget_rejected(self, name: str) -> None:
        return None

    def cache_hit(self, name: str) -> None:
        return None

    def cache_miss(self, name: str) -> None:
        return None

    def cache_evicted(self, name: str, count: int) -> None:
        return None

    def cache_size(self, name: str, entries: int) -> None:
        return None

    def cache_store_failed(self, name: str, operation: str, error: Exception) -> None:
        return None

    def limits_state(self, name: str, state: str) -> None:
        return None

    def limits_store_failed(self, name: str, operation: str, error: Exception) -> None:
        return None

    def limits_fallback(self, name: str, limit: str) -> None:
        return None

    def bulkhead_state(self, name: str, in_flight: int, waiting: int) -> None:
        return None

    def bulkhead_rejected(self, name: str) -> None:
        return None

    def fallback_used(self, name: str, reason: str, kind: str) -> None:
        return None

    def lane_waiting(self, name: str, waiting: int) -> None:
        return None


class RecordingListener:
    """A listener that keeps every report as ``(method, args)``, in order (for tests and diagnostics)."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, tuple[object, ...]]] = []

    def of(self, method: str) -> list[tuple[object, ...]]:
        """The arguments of every report made through ``method``."""
        return [args for m, args in self.reports if m == method]

    def breaker_state(self, name: str, old: str, new: str) -> None:
        self.reports.append(("breaker_state", (name, old, new)))

    def breaker_call(self, name: str, outcome: str, duration_s: float) -> None:
        self.reports.append(("breaker_call", (name, outcome, duration_s)))

    def call_timed_out(self, name: str, timeout_s: float) -> None:
        self.reports.append(("call_timed_out", (name, timeout_s)))

    def retry_attempt(self, name: str, attempt: int, delay_s: float) -> None:
        self.reports.append(("retry_attempt", (name, attempt, delay_s)))

    def retry_gave_up(self, name: str, attempts: int, reason: str) -> None:
        self.reports.append(("retry_gave_up", (name, attempts, reason)))

    def rate_limit_waited(self, name: str, wait_s: float) -> None:
        self.reports.append(("rate_limit_waited", (name, wait_s)))

    def rate_limit_rejected(self, name: str) -> None:
        self.reports.append(("rate_limit_rejected", (name,)))

    def tokens_available(self, name: str, tokens: float) -> None:
        self.reports.append(("tokens_available", (name, tokens)))

    def budget_remaining(self, name: str, remaining: int) -> None:
        self.reports.append(("budget_remaining", (name, remaining)))

    def budget_rejected(self, name: str) -> None:
        self.reports.append(("budget_rejected", (name,)))

    def cache_hit(self, name: str) -> None:
        self.reports.append(("cache_hit", (name,)))

    def cache_miss(self, name: str) -> None:
        self.reports.append(("cache_miss", (name,)))

    def cache_evicted(self, name: str, count: int) -> None:
        self.reports.append(("cache_evicted", (name, count)))

    def cache_size(self, name: str, entries: int) -> None:
        self.reports.append(("cache_size", (name, entries)))

    def cache_store_failed(self, name: str, operation: str, error: Exception) -> None:
        self.reports.append(("cache_store_failed", (name, operation, error)))

    def limits_state(self, name: str, state: str) -> None:
        self.reports.append(("limits_state", (name, state)))

    def limits_store_failed(self, name: str, operation: str, error: Exception) -> None:
        self.reports.append(("limits_store_failed", (name, operation, error)))

    def limits_fallback(self, name: str, limit: str) -> None:
        self.reports.append(("limits_fallback", (name, limit)))

    def bulkhead_state(self, name: str, in_flight: int, waiting: int) -> None:
        self.reports.append(("bulkhead_state", (name, in_flight, waiting)))

    def bulkhead_rejected(self, name: str) -> None:
        self.reports.append(("bulkhead_rejected", (name,)))

    def fallback_used(self, name: str, reason: str, kind: str) -> None:
        self.reports.append(("fallback_used", (name, reason, kind)))

    def lane_waiting(self, name: str, waiting: int) -> None:
        self.reports.append(("lane_waiting", (name, waiting)))


NULL_LISTENER: ResilienceListener = NullListener()
