"""Prometheus series of the resilience operators: the listener that turns their reports into samples."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from agent import Protection
from operators import CircuitBreaker, NullListener
from service.metrics._children import Children

__all__ = ["ResilienceMetrics"]

_STATE_CODES = {"closed": 0, "open": 1, "half_open": 2, "forced_open": 3, "disabled": 4}
_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class ResilienceMetrics(NullListener):
    """The operators' listener, writing to the runtime's registry; ``name`` becomes the ``name`` label.

    Series (counters get Prometheus' ``_total`` suffix):

    - ``being_breaker_state`` gauge: 0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled
    - ``being_breaker_transitions_total{from,to}``, ``being_breaker_calls_total{outcome}``
      (success, failure, slow, ignored, rejected), ``being_breaker_call_duration_seconds``
    - ``being_call_timeouts_total``
    - ``being_retry_attempts_total``, ``being_retry_give_ups_total{reason}``
    - ``being_rate_limit_wait_seconds`` histogram, ``being_rate_limit_rejected_total``, ``being_rate_limit_tokens``
    - ``being_budget_remaining``, ``being_budget_rejected_total``
    - ``being_cache_hits_total``, ``being_cache_misses_total``, ``being_cache_evictions_total``, ``being_cache_entries``
    - ``being_cache_store_errors_total{operation}``
    - ``being_bulkhead_in_flight``, ``being_bulkhead_waiting``, ``being_bulkhead_rejected_total``
    - ``being_fallbacks_total{reason,kind}``
    - ``being_lane_waiting`` (items of a priority lane waiting for a slot)
    - ``being_shared_limits_shared`` (1: the limits are shared through their store; 0: an outage, each
      instance on its share), ``being_shared_limits_errors_total{operation}``,
      ``being_shared_limits_fallbacks_total{limit}`` (calls decided locally during an outage)
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, ["name", *labels], registry=registry)

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, ["name"], registry=registry)

        def histogram(name: str, doc: str) -> Histogram:
            return Histogram(name, doc, ["name"], buckets=_SECONDS, registry=registry)

        self.breaker_state_gauge = gauge(
            "being_breaker_state", "Circuit breaker state: 0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled"
        )
        self.breaker_transitions = counter("being_breaker_transitions", "Breaker state changes", "from", "to")
        self.breaker_calls = counter("being_breaker_calls", "Calls through a breaker, by outcome", "outcome")
        self.breaker_duration = histogram("being_breaker_call_duration_seconds", "Duration of calls through a breaker")
        self.timeouts = counter("being_call_timeouts", "Tries cancelled at their time limit")
        self.retry_attempts = counter("being_retry_attempts", "Retries scheduled (attempts after the first)")
        self.retry_give_ups = counter("being_retry_give_ups", "Calls retry gave up on, by reason", "reason")
        self.rate_wait = histogram("being_rate_limit_wait_seconds", "Wait for rate-limit tokens of admitted calls")
        self.rate_rejected = counter("being_rate_limit_rejected", "Calls refused by the rate limiter")
        self.tokens = gauge("being_rate_limit_tokens", "Free tokens in the bucket at its last use")
        self.budget_left = gauge("being_budget_remaining", "Calls left in the budget's window")
        self.budget_rejections = counter("being_budget_rejected", "Calls refused because the budget was spent")
        self.cache_hits = counter("being_cache_hits", "Calls served from the cache or joined to one in flight")
        self.cache_misses = counter("being_cache_misses", "Calls that went upstream")
        self.cache_evictions = counter("being_cache_evictions", "Live entries evicted to keep the cache bounded")
        self.cache_entries = gauge("being_cache_entries", "Entries in the cache")
        self.cache_store_errors = counter(
            "being_cache_store_errors",
            "Failures of the cache's shared store, by operation (get: served as a miss; set: not written)",
            "operation",
        )
        self.bulkhead_in_flight = gauge("being_bulkhead_in_flight", "Calls holding a bulkhead slot")
        self.bulkhead_waiting = gauge("being_bulkhead_waiting", "Calls queued for a bulkhead slot")
        self.bulkhead_rejections = counter("being_bulkhead_rejected", "Calls refused by a full bulkhead")
        self.fallbacks = counter(
            "being_fallbacks", "Failed calls turned into fallbacks, by reason and kind", "reason", "kind"
        )
        self.lane_waiting_gauge = gauge("being_lane_waiting", "Items of a priority lane waiting for a slot")
        self.limits_shared = gauge(
            "being_shared_limits_shared", "1 while the rate limit and budget are shared through their store, else 0"
        )
        self.limits_errors = counter(
            "being_shared_limits_errors", "Failed requests to the shared limits' store, by operation", "operation"
        )
        self.limits_fallbacks = counter(
            "being_shared_limits_fallbacks",
            "Calls decided on this instance's share of a limit because its store was down",
            "limit",
        )
        # the series every call touches, their children looked up once
        self._breaker_calls = Children(self.breaker_calls)
        self._breaker_duration = Children(self.breaker_duration)
        self._cache_hits = Children(self.cache_hits)
        self._cache_misses = Children(self.cache_misses)
        self._cache_evictions = Children(self.cache_evictions)
        self._cache_entries = Children(self.cache_entries)
        self._lane_waiting = Children(self.lane_waiting_gauge)

    def watch(self, protection: Protection[Any]) -> None:
        """Show a protection's series from the start (state closed, whole budget, full bucket, empty cache)."""
        name = protection.name
        if protection.breaker is not None:
            self.watch_breaker(protection.breaker)
        if protection.budget is not None:
            self.budget_left.labels(name=name).set(protection.budget.policy.max_calls)
        if protection.bucket is not None:
            self.tokens.labels(name=name).set(protection.bucket.policy.burst)
        if protection.cache is not None:
            self.cache_entries.labels(name=name).set(len(protection.cache))
            self.cache_hits.labels(name=name)
            self.cache_misses.labels(name=name)
            if protection.cache.shared is not None:
                for operation in ("get", "set"):
                    self.cache_store_errors.labels(name=name, operation=operation)
        if protection.limits is not None and (protection.bucket is not None or protection.budget is not None):
            self.limits_shared.labels(name=name).set(1 if protection.limits.shared else 0)
            for limit, layer in (("rate_limit", protection.bucket), ("budget", protection.budget)):
                if layer is not None:
                    self.limits_fallbacks.labels(name=name, limit=limit)
        if protection.bulkhead is not None:
            self.bulkhead_in_flight.labels(name=name).set(0)
            self.bulkhead_waiting.labels(name=name).set(0)

    def watch_breaker(self, breaker: CircuitBreaker) -> None:
        """Set the state gauge of ``breaker`` now (later changes arrive as reports)."""
        self.breaker_state_gauge.labels(name=breaker.name).set(breaker.state.code)

    def breaker_state(self, name: str, old: str, new: str) -> None:
        self.breaker_state_gauge.labels(name=name).set(_STATE_CODES.get(new, -1))
        self.breaker_transitions.labels(name=name, **{"from": old, "to": new}).inc()

    def breaker_call(self, name: str, outcome: str, duration_s: float) -> None:
        self._breaker_calls(name, outcome).inc()
        if outcome != "rejected":
            self._breaker_duration(name).observe(duration_s)

    def call_timed_out(self, name: str, timeout_s: float) -> None:
        self.timeouts.labels(name=name).inc()

    def retry_attempt(self, name: str, attempt: int, delay_s: float) -> None:
        self.retry_attempts.labels(name=name).inc()

    def retry_gave_up(self, name: str, attempts: int, reason: str) -> None:
        self.retry_give_ups.labels(name=name, reason=reason).inc()

    def rate_limit_waited(self, name: str, wait_s: float) -> None:
        self.rate_wait.labels(name=name).observe(wait_s)

    def rate_limit_rejected(self, name: str) -> None:
        self.rate_rejected.labels(name=name).inc()

    def tokens_available(self, name: str, tokens: float) -> None:
        self.tokens.labels(name=name).set(tokens)

    def budget_remaining(self, name: str, remaining: int) -> None:
        self.budget_left.labels(name=name).set(remaining)

    def budget_rejected(self, name: str) -> None:
        self.budget_rejections.labels(name=name).inc()

    def cache_hit(self, name: str) -> None:
        self._cache_hits(name).inc()

    def cache_miss(self, name: str) -> None:
        self._cache_misses(name).inc()

    def cache_evicted(self, name: str, count: int) -> None:
        self._cache_evictions(name).inc(count)

    def cache_size(self, name: str, entries: int) -> None:
        self._cache_entries(name).set(entries)

    def cache_store_failed(self, name: str, operation: str, error: Exception) -> None:
        self.cache_store_errors.labels(name=name, operation=operation).inc()

    def bulkhead_state(self, name: str, in_flight: int, waiting: int) -> None:
        self.bulkhead_in_flight.labels(name=name).set(in_flight)
        self.bulkhead_waiting.labels(name=name).set(waiting)

    def bulkhead_rejected(self, name: str) -> None:
        self.bulkhead_rejections.labels(name=name).inc()

    def fallback_used(self, name: str, reason: str, kind: str) -> None:
        self.fallbacks.labels(name=name, reason=reason, kind=kind).inc()

    def lane_waiting(self, name: str, waiting: int) -> None:
        self._lane_waiting(name).set(waiting)

    def limits_state(self, name: str, state: str) -> None:
        self.limits_shared.labels(name=name).set(1 if state == "shared" else 0)

    def limits_store_failed(self, name: str, operation: str, error: Exception) -> None:
        self.limits_errors.labels(name=name, operation=operation).inc()

    def limits_fallback(self, name: str, limit: str) -> None:
        self.limits_fallbacks.labels(name=name, limit=limit).inc()
