"""One resilience listener that hands every report to several (the Prometheus series and the LLM's health)."""

from __future__ import annotations

from operators import ResilienceListener

__all__ = ["FanOutListener"]


class FanOutListener:
    """Forwards every report to each of ``listeners``, in the order given.

    A listener must not raise (the operators' contract); one that does stops that report
    there, and its error reaches the operator as it would without the fan-out.
    """

    __slots__ = ("listeners",)

    def __init__(self, *listeners: ResilienceListener) -> None:
        self.listeners: tuple[ResilienceListener, ...] = listeners

    def breaker_state(self, name: str, old: str, new: str) -> None:
        for listener in self.listeners:
            listener.breaker_state(name, old, new)

    def breaker_call(self, name: str, outcome: str, duration_s: float) -> None:
        for listener in self.listeners:
            listener.breaker_call(name, outcome, duration_s)

    def call_timed_out(self, name: str, timeout_s: float) -> None:
        for listener in self.listeners:
            listener.call_timed_out(name, timeout_s)

    def retry_attempt(self, name: str, attempt: int, delay_s: float) -> None:
        for listener in self.listeners:
            listener.retry_attempt(name, attempt, delay_s)

    def retry_gave_up(self, name: str, attempts: int, reason: str) -> None:
        for listener in self.listeners:
            listener.retry_gave_up(name, attempts, reason)

    def rate_limit_waited(self, name: str, wait_s: float) -> None:
        for listener in self.listeners:
            listener.rate_limit_waited(name, wait_s)

    def rate_limit_rejected(self, name: str) -> None:
        for listener in self.listeners:
            listener.rate_limit_rejected(name)

    def tokens_available(self, name: str, tokens: float) -> None:
        for listener in self.listeners:
            listener.tokens_available(name, tokens)

    def budget_remaining(self, name: str, remaining: int) -> None:
        for listener in self.listeners:
            listener.budget_remaining(name, remaining)

    def budget_rejected(self, name: str) -> None:
        for listener in self.listeners:
            listener.budget_rejected(name)

    def cache_hit(self, name: str) -> None:
        for listener in self.listeners:
            listener.cache_hit(name)

    def cache_miss(self, name: str) -> None:
        for listener in self.listeners:
            listener.cache_miss(name)

    def cache_evicted(self, name: str, count: int) -> None:
        for listener in self.listeners:
            listener.cache_evicted(name, count)

    def cache_size(self, name: str, entries: int) -> None:
        for listener in self.listeners:
            listener.cache_size(name, entries)

    def cache_store_failed(self, name: str, operation: str, error: Exception) -> None:
        for listener in self.listeners:
            listener.cache_store_failed(name, operation, error)

    def limits_state(self, name: str, state: str) -> None:
        for listener in self.listeners:
            listener.limits_state(name, state)

    def limits_store_failed(self, name: str, operation: str, error: Exception) -> None:
        for listener in self.listeners:
            listener.limits_store_failed(name, operation, error)

    def limits_fallback(self, name: str, limit: str) -> None:
        for listener in self.listeners:
            listener.limits_fallback(name, limit)

    def bulkhead_state(self, name: str, in_flight: int, waiting: int) -> None:
        for listener in self.listeners:
            listener.bulkhead_state(name, in_flight, waiting)

    def bulkhead_rejected(self, name: str) -> None:
        for listener in self.listeners:
            listener.bulkhead_rejected(name)

    def fallback_used(self, name: str, reason: str, kind: str) -> None:
        for listener in self.listeners:
            listener.fallback_used(name, reason, kind)

    def lane_waiting(self, name: str, waiting: int) -> None:
        for listener in self.listeners:
            listener.lane_waiting(name, waiting)
