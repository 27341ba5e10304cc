"""protect: the one place that stacks the resilience operators around an LLM call, in design order.

Outermost first::

    catch(fallback) → cache → deadline → retry → circuit_breaker → bulkhead → rate_limit → budget → timeout → call

What the order guarantees (docs/operators.md argues it against Resilience4j's):

- a cache hit spends nothing: no budget, no token, no slot, no breaker permit;
- the deadline bounds the whole request, every try and every wait, whatever retry would still do;
- an open breaker rejects at once, before any slot, token or budget is taken or waited for;
- the bulkhead, the rate limiter and the budget count only tries that go on to the backend: the
  budget is spent right before the call, a try the budget refuses gives its tokens back, and a
  full bulkhead refuses before either is touched;
- their rejections are not backend failures: the breaker ignores them and retry does not retry them;
- every try has its own timeout, around the call alone (no wait for a slot or a token counts).
"""

from __future__ import annotations

import math
import random as _random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from reactivex import Observable, abc

from agent._trace import NO_TRACE, PipelineTrace
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
    PolicyError,
    RateLimitPolicy,
    ResilienceListener,
    ResponseCache,
    RetryBudget,
    RetryBudgetPolicy,
    RetryPolicy,
    SharedLimits,
    SharedStore,
    TokenBucket,
    budget,
    bulkhead,
    cache,
    cache_first,
    canonical_key,
    catch_fallback,
    circuit_breaker,
    deadline,
    lazy,
    rate_limit,
    refund_tokens,
    retry,
    timeout,
)

__all__ = ["ProtectPolicies", "Protection", "protect"]

T = TypeVar("T")
Layer = Callable[[Observable[Any]], Observable[Any]]


def _seconds_or_none(value: object) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtectPolicies:
    """The policy of every layer; ``None`` (or ``catch=False``) switches a layer off.

    The defaults suit a local LLM server (config.toml says why each): per-try and total time
    limits, a breaker, retries of transient failures, a cache; no rate limit and no call
    budget, which protect a hosted API's quota rather than a local server (a route bounds
    its concurrency to what the server runs at once instead).

    Attributes:
        timeout_s: each try's time limit.
        deadline_s: the whole request's time limit, every try and wait included.
        breaker: the circuit breaker.
        retry: attempts and backoff.
        retry_budget: retries allowed relative to calls (``None``: no limit besides ``max_attempts``).
        rate_limit: the token bucket (off by default).
        budget: calls per window (off by default).
        cache: stored results.
        bulkhead: calls in flight (off by default: routes bound concurrency with ``merge``).
        catch: turn errors into fallbacks and dead letters.
        stale_for_s: the default fallback rule serves a last good result this young (0: never).
        remember: keys whose last good result is kept.
    """

    timeout_s: float | None = 90.0
    deadline_s: float | None = 130.0
    breaker: BreakerPolicy | None = field(default_factory=BreakerPolicy)
    retry: RetryPolicy | None = field(default_factory=RetryPolicy)
    retry_budget: RetryBudgetPolicy | None = field(default_factory=RetryBudgetPolicy)
    rate_limit: RateLimitPolicy | None = None
    budget: BudgetPolicy | None = None
    cache: CachePolicy | None = field(default_factory=CachePolicy)
    bulkhead: BulkheadPolicy | None = None
    catch: bool = True
    stale_for_s: float = 300.0
    remember: int = 1024

    def __post_init__(self) -> None:
        w = "ProtectPolicies"
        for name in ("timeout_s", "deadline_s"):
            if not _seconds_or_none(getattr(self, name)):
                raise PolicyError(f"{w}.{name}", "seconds > 0, or None for no limit", getattr(self, name))
        stale = self.stale_for_s
        if isinstance(stale, bool) or not isinstance(stale, int | float) or not math.isfinite(stale) or stale < 0:
            raise PolicyError(f"{w}.stale_for_s", "seconds >= 0", stale)
        if isinstance(self.remember, bool) or not isinstance(self.remember, int) or self.remember < 1:
            raise PolicyError(f"{w}.remember", "an integer >= 1", self.remember)


class Protection(Generic[T]):
    """The state every protected call to one backend shares: breaker, buckets, budget, cache.

    Build one per backend (per model, if their limits differ) at start, and pass it to
    every :func:`protect`. Its parts are public so that health checks and tests can look
    at them (``protection.breaker.state``, ``protection.budget.remaining(now)``) and the
    service calls ``protection.budget.reset()`` on each heavy tick when the budget is "until reset".

    Args:
        policies: the layers and their policies.
        name: the backend's name: errors, dead letters and metric labels carry it.
        dead_letter: receives every failure that became a fallback, unless a call gives its own
            receiver (``protect(..., on_dead_letter=...)``, what routes do: the record then travels
            down the call's own stream).
        fallback: the rules; default: a last good result while fresh, else skip.
        listener: told of everything the operators do.
        shared: the cache's second tier, shared beyond this process (``None``: memory only).
        limits: where the token bucket and the call budget are shared with other processes
            (``None``: in this process only).
        random: the retry jitter's source.
        scheduler: the clock; the subscription's scheduler when ``None``.
        trace: wraps each protected call, all layers inside (``service.tracing``; default: nothing).
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
        limits: SharedLimits | None = None,
        random: _random.Random | None = None,
        scheduler: abc.SchedulerBase | None = None,
        trace: PipelineTrace = NO_TRACE,
    ) -> None:
        p = self.policies = policies
        self.trace = trace
        self.name = name
        self.listener = listener
        self.scheduler = scheduler
        self.dead_letter = dead_letter
        self.random = random if random is not None else _random.Random()
        self.breaker = CircuitBreaker(p.breaker, name=name, listener=listener) if p.breaker else None
        self.retry_budget = RetryBudget(p.retry_budget) if p.retry and p.retry_budget else None
        self.limits = limits
        self.bucket = TokenBucket(p.rate_limit, name=name, listener=listener, shared=limits) if p.rate_limit else None
        self.budget = CallBudget(p.budget, name=name, listener=listener, shared=limits) if p.budget else None
        self.cache = ResponseCache(p.cache, name=name, listener=listener, shared=shared) if p.cache else None
        self.bulkhead = Bulkhead(p.bulkhead, name=name, listener=listener) if p.bulkhead else None
        self.fallback: FallbackPolicy[T] = (
            fallback if fallback is not None else FallbackPolicy(rules=(FallbackRule(stale_for_s=p.stale_for_s),))
        )
        self.last_good: LastGood[T] = LastGood(p.remember)
        # The layers are built once, not per call; only a call of another weight gets its own.
        self._one_token = self._layers(1.0)

    def _layers(self, tokens: float) -> tuple[Layer, ...]:
        """Every layer inside the cache, innermost first (see the module docstring for why this order)."""
        p, name, listener, sched = self.policies, self.name, self.listener, self.scheduler
        layers: list[Layer] = []
        if p.timeout_s is not None:  # around the call alone: no wait counts against a try
            layers.append(timeout(p.timeout_s, name=name, listener=listener, scheduler=sched))
        if self.budget is not None:  # spent right before the call: only tries that go on count
            layers.append(budget(self.budget, scheduler=sched))
        if self.bucket is not None:
            if self.budget is not None:  # a try the budget refuses gives its tokens back
                layers.append(refund_tokens(self.bucket, cost=tokens, scheduler=sched))
            layers.append(rate_limit(self.bucket, cost=tokens, scheduler=sched))
        if self.bulkhead is not None:  # outside budget and tokens: a full bulkhead spends neither
            layers.append(bulkhead(self.bulkhead))
        if self.breaker is not None:  # outside every wait: an open breaker rejects at once
            layers.append(circuit_breaker(self.breaker, scheduler=sched))
        if p.retry is not None:  # outside the breaker: it never retries a rejection, and sees each try's outcome
            layers.append(
                retry(
                    p.retry, name=name, budget=self.retry_budget, random=self.random, listener=listener, scheduler=sched
                )
            )
        if p.deadline_s is not None:  # outside retry: all tries and backoffs together
            layers.append(deadline(p.deadline_s, name=name, scheduler=sched))
        return tuple(layers)

    def guard(self, call: Observable[T], tokens: float = 1.0) -> Observable[T]:
        """``call`` inside every layer but cache and catch (which need the call's key), in design order."""
        guarded = call
        for layer in self._one_token if tokens == 1.0 else self._layers(tokens):
            guarded = layer(guarded)
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
        return protection.trace.call(protection.name, caught(protection.guard(call, tokens)))
    cache_key = known

    def build() -> Observable[T | Fallback[T]]:
        # the inner layers are built only when the call misses both tiers, catch only on a miss in memory
        return caught(cache(store, cache_key, scheduler=sched)(lazy(lambda: protection.guard(call, tokens))))

    def remember(served: tuple[Any, ...], now: float) -> None:
        if served:  # what catch does with a good result: the last item is the key's last good one
            protection.last_good.remember(cache_key, served[-1], now)

    served = cache_first(store, cache_key, build, on_hit=remember if p.catch else None, scheduler=sched)
    return protection.trace.call(protection.name, served)
