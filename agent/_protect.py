"""protect: the one place that stacks the resilience operators around an LLM call, in design order.

Outermost first: catch(fallback) → cache → budget → rate_limit → retry → bulkhead →
circuit_breaker → timeout → call. A cache hit spends no budget and no tokens; the budget
counts a call once however often it is retried; retry never retries an open breaker
(``CircuitOpenError`` is not transient) and each try has its own timeout; the bulkhead
(off by default) holds a slot per try, not during backoff.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from reactivex import Observable, abc

from operators import (
    NULL_LISTENER,
    BreakerPolicy,
    BudgetPolicy,
    Bulkhead,
    BulkheadPolicy,
    CachePolicy,
    CallBudget,
    CircuitBreaker,
    DeadLetter,
    Fallback,
    FallbackPolicy,
    FallbackRule,
    LastGood,
    RateLimitPolicy,
    ResilienceListener,
    ResponseCache,
    RetryBudget,
    RetryBudgetPolicy,
    RetryPolicy,
    SharedStore,
    TokenBucket,
    budget,
    bulkhead,
    cache,
    cache_first,
    canonical_key,
    catch_fallback,
    circuit_breaker,
    lazy,
    rate_limit,
    retry,
    timeout,
)

__all__ = ["ProtectPolicies", "Protection", "protect"]

T = TypeVar("T")
Layer = Callable[[Observable[Any]], Observable[Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtectPolicies:
    """The policy of every layer; ``None`` (or ``catch=False``) switches a layer off.

    Attributes:
        timeout_s: each try's time limit.
        breaker: the circuit breaker.
        retry: attempts and backoff.
        retry_budget: retries allowed relative to calls (``None``: no limit besides ``max_attempts``).
        rate_limit: the token bucket.
        budget: calls per window.
        cache: stored results.
        bulkhead: calls in flight (off by default: routes bound concurrency with ``merge``).
        catch: turn errors into fallbacks and dead letters.
        stale_for_s: the default fallback rule serves a last good result this young (0: never).
        remember: keys whose last good result is kept.
    """

    timeout_s: float | None = 120.0
    breaker: BreakerPolicy | None = field(default_factory=BreakerPolicy)
    retry: RetryPolicy | None = field(default_factory=RetryPolicy)
    retry_budget: RetryBudgetPolicy | None = field(default_factory=RetryBudgetPolicy)
    rate_limit: RateLimitPolicy | None = field(default_factory=RateLimitPolicy)
    budget: BudgetPolicy | None = field(default_factory=BudgetPolicy)
    cache: CachePolicy | None = field(default_factory=CachePolicy)
    bulkhead: BulkheadPolicy | None = None
    catch: bool = True
    stale_for_s: float = 300.0
    remember: int = 1024


class Protection(Generic[T]):
    """The state every protected call to one backend shares: breaker, buckets, budget, cache.

    Build one per backend (per model, if their limits differ) at start, and pass it to
    every :func:`protect`. Its parts are public so that health checks and tests can look
    at them (``protection.breaker.state``, ``protection.budget.remaining(now)``) and the
    mind can ``protection.budget.reset()`` on each heavy tick.

    Args:
        policies: the layers and their policies.
        name: the backend's name: errors, dead letters and metric labels carry it.
        dead_letter: receives every failure that became a fallback, unless a call gives its own
            receiver (``protect(..., on_dead_letter=...)``, what routes do: the record then travels
            down the call's own stream).
        fallback: the rules; default: a last good result while fresh, else skip.
        listener: told of everything the operators do.
        shared: the cache's second tier, shared beyond this process (``None``: memory only).
        random: the retry jitter's source.
        scheduler: the clock; the subscription's scheduler when ``None``.
    """

    def __init__(
        self,
        policies: ProtectPolicies,
        *,
        name: str,
        dead_letter: Callable[[DeadLetter], None] | None = None,
        fallback: FallbackPolicy[T] | None = None,
        listener: ResilienceListener = NULL_LISTENER,
        shared: SharedStore | None = None,
        random: _random.Random | None = None,
        scheduler: abc.SchedulerBase | None = None,
    ) -> None:
        p = self.policies = policies
        self.name = name
        self.listener = listener
        self.scheduler = scheduler
        self.dead_letter = dead_letter
        self.random = random if random is not None else _random.Random()
        self.breaker = CircuitBreaker(p.breaker, name=name, listener=listener) if p.breaker else None
        self.retry_budget = RetryBudget(p.retry_budget) if p.retry and p.retry_budget else None
        self.bucket = TokenBucket(p.rate_limit, name=name, listener=listener) if p.rate_limit else None
        self.budget = CallBudget(p.budget, name=name, listener=listener) if p.budget else None
        self.cache = ResponseCache(p.cache, name=name, listener=listener, shared=shared) if p.cache else None
        self.bulkhead = Bulkhead(p.bulkhead, name=name, listener=listener) if p.bulkhead else None
        self.fallback: FallbackPolicy[T] = (
            fallback if fallback is not None else FallbackPolicy(rules=(FallbackRule(stale_for_s=p.stale_for_s),))
        )
        self.last_good: LastGood[T] = LastGood(p.remember)
        # The layers that need nothing from the call are built once, not per call.
        inner: list[Layer] = []
        if p.timeout_s is not None:
            inner.append(timeout(p.timeout_s, name=name, listener=listener, scheduler=scheduler))
        if self.breaker is not None:
            inner.append(circuit_breaker(self.breaker, scheduler=scheduler))
        if self.bulkhead is not None:
            inner.append(bulkhead(self.bulkhead))
        if p.retry is not None:
            inner.append(
                retry(
                    p.retry,
                    name=name,
                    budget=self.retry_budget,
                    random=self.random,
                    listener=listener,
                    scheduler=scheduler,
                )
            )
        self._inner = tuple(inner)
        self._one_token = rate_limit(self.bucket, scheduler=scheduler) if self.bucket is not None else None
        self._budget = budget(self.budget, scheduler=scheduler) if self.budget is not None else None

    def guard(self, call: Observable[T], tokens: float = 1.0) -> Observable[T]:
        """``call`` inside every layer up to the budget (all but cache and catch, which need the call's key)."""
        guarded = call
        for layer in self._inner:
            guarded = layer(guarded)
        if self.bucket is not None and self._one_token is not None:
            limit = self._one_token if tokens == 1.0 else rate_limit(self.bucket, cost=tokens, scheduler=self.scheduler)
            guarded = limit(guarded)
        if self._budget is not None:
            guarded = self._budget(guarded)
        return guarded


def protect(
    call: Observable[T],
    protection: Protection[T],
    *,
    request: Mapping[str, Any] | None = None,
    key: str | None = None,
    tokens: float = 1.0,
    on_dead_letter: Callable[[DeadLetter], None] | None = None,
) -> Observable[T | Fallback[T]]:
    """Wrap one call's cold observable in every layer ``protection`` has switched on.

    Args:
        call: the call, cold (``streams.from_coroutine(lambda: backend.chat(...))``): each
            subscription must make a fresh call, so that retry really calls again.
        protection: the shared state of the backend's layers.
        request: what decides the answer (model, options, messages or prompt, format); its
            canonical form is the cache key. Without it (and without ``key``) the call is not
            cached and has no stale fallback.
        key: a ready key, instead of ``request``.
        tokens: the call's weight for the rate limiter.
        on_dead_letter: receives this call's failures that became fallbacks (default: the
            protection's ``dead_letter``).

    Returns:
        The call's items, or a :class:`Fallback` (or nothing, for a skip) when it failed and
        a fallback rule matched; an error no rule matches (or any error, with ``catch`` off)
        goes downstream.

    Raises:
        ValueError: fallbacks are on and neither the call nor the protection has a dead-letter receiver.
    """
    p = protection.policies
    sched = protection.scheduler
    if key is None and request is not None and (protection.cache is not None or p.catch):
        key = canonical_key(request)
    known = key
    record = on_dead_letter if on_dead_letter is not None else protection.dead_letter
    if p.catch and record is None:
        raise ValueError(f"protect({protection.name!r}): a failure must leave a record; give on_dead_letter")

    def caught(guarded: Observable[T]) -> Observable[T | Fallback[T]]:
        if not p.catch:
            return guarded
        assert record is not None  # checked above
        return catch_fallback(
            protection.fallback,
            dead_letter=record,
            name=protection.name,
            key=known,
            request=request,
            last_good=protection.last_good,
            listener=protection.listener,
            scheduler=sched,
        )(guarded)

    store = protection.cache
    if store is None or known is None:
        return caught(protection.guard(call, tokens))
    cache_key = known

    def build() -> Observable[T | Fallback[T]]:
        # the inner layers are built only when the call misses both tiers, catch only on a miss in memory
        return caught(cache(store, cache_key, scheduler=sched)(lazy(lambda: protection.guard(call, tokens))))

    def remember(served: tuple[Any, ...], now: float) -> None:
        if served:  # what catch does with a good result: the last item is the key's last good one
            protection.last_good.remember(cache_key, served[-1], now)

    return cache_first(store, cache_key, build, on_hit=remember if p.catch else None, scheduler=sched)
