"""``[resilience.*]``: the layers around every LLM call (see docs/operators.md); each can be switched off.

Every key that sets a policy field is declared with :func:`from_policy`: its default is
the policy's and its range is the policy's own check (the loader names the key when the
policy refuses a value), so no default or bound is written twice. ``enabled`` defaults to
whether ``agent.ProtectPolicies`` has the layer on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent import ProtectPolicies
from operators import (
    BreakerPolicy,
    BudgetPolicy,
    BulkheadPolicy,
    CachePolicy,
    RateLimitPolicy,
    RetryBudgetPolicy,
    RetryPolicy,
)
from service.settings._fields import enabled_from, from_policy, policy_kwargs, setting
from service.settings._redis import RedisAddress, shown_redis_url
from service.settings._shared_limits import SharedLimitsSettings

__all__ = [
    "BreakerSettings",
    "BudgetSettings",
    "BulkheadSettings",
    "CacheSettings",
    "FallbackSettings",
    "RateLimitSettings",
    "RedisAddress",
    "ResilienceSettings",
    "RetrySettings",
    "SharedLimitsSettings",
    "TimeoutSettings",
]

_P = ProtectPolicies


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeoutSettings:
    """``[resilience.timeout]``: each try's time limit, and the whole request's deadline."""

    enabled: bool = enabled_from(
        _P, "timeout_s", help="time limits: a try's (CallTimeoutError), a request's (deadline)"
    )
    timeout_s: float = from_policy(_P, "timeout_s")
    deadline_s: float = from_policy(_P, "deadline_s", none_as=0.0)

    def __post_init__(self) -> None:
        ProtectPolicies(**policy_kwargs(self, ProtectPolicies))


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerSettings:
    """``[resilience.breaker]``: the circuit breaker (Resilience4j's model)."""

    enabled: bool = enabled_from(_P, "breaker", help="reject calls fast while the LLM server keeps failing")
    failure_rate_threshold: float = from_policy(BreakerPolicy, "failure_rate_threshold")
    slow_call_rate_threshold: float = from_policy(BreakerPolicy, "slow_call_rate_threshold")
    slow_call_duration_s: float = from_policy(BreakerPolicy, "slow_call_duration_s")
    sliding_window: str = from_policy(BreakerPolicy, "sliding_window")
    window_calls: int = from_policy(BreakerPolicy, "window_calls")
    window_s: float = from_policy(BreakerPolicy, "window_s")
    minimum_calls: int = from_policy(BreakerPolicy, "minimum_calls")
    open_for_s: float = from_policy(BreakerPolicy, "open_for_s")
    open_for_multiplier: float = from_policy(BreakerPolicy, "open_for_multiplier")
    open_for_max_s: float = from_policy(BreakerPolicy, "open_for_max_s")
    half_open_calls: int = from_policy(BreakerPolicy, "half_open_calls")

    def __post_init__(self) -> None:
        self._policy()

    def _policy(self) -> BreakerPolicy:
        return BreakerPolicy(**policy_kwargs(self, BreakerPolicy))

    def policy(self) -> BreakerPolicy | None:
        """The operator's policy, or ``None`` when switched off."""
        return self._policy() if self.enabled else None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrySettings:
    """``[resilience.retry]``: retries of transient failures, with backoff and a retry budget."""

    enabled: bool = enabled_from(_P, "retry", help="retry timeouts, connection errors, 429/502/503/504")
    max_attempts: int = from_policy(RetryPolicy, "max_attempts")
    base_delay_s: float = from_policy(RetryPolicy, "base_delay_s")
    max_delay_s: float = from_policy(RetryPolicy, "max_delay_s")
    multiplier: float = from_policy(RetryPolicy, "multiplier")
    jitter: bool = from_policy(RetryPolicy, "jitter")
    budget_enabled: bool = enabled_from(_P, "retry_budget", help="limit retries to a share of calls (no retry storms)")
    budget_ratio: float = from_policy(RetryBudgetPolicy, "ratio")
    budget_window_s: float = from_policy(RetryBudgetPolicy, "window_s")
    budget_min_retries: int = from_policy(RetryBudgetPolicy, "min_retries")

    def __post_init__(self) -> None:
        RetryPolicy(**policy_kwargs(self, RetryPolicy))
        RetryBudgetPolicy(**policy_kwargs(self, RetryBudgetPolicy))

    def policy(self) -> RetryPolicy | None:
        """The operator's policy, or ``None`` when switched off."""
        return RetryPolicy(**policy_kwargs(self, RetryPolicy)) if self.enabled else None

    def budget(self) -> RetryBudgetPolicy | None:
        """The retry budget's policy, or ``None`` when switched off."""
        on = self.enabled and self.budget_enabled
        return RetryBudgetPolicy(**policy_kwargs(self, RetryBudgetPolicy)) if on else None


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitSettings:
    """``[resilience.rate_limit]``: the token bucket in front of the LLM server (off by default)."""

    enabled: bool = enabled_from(_P, "rate_limit", help="space calls out with a token bucket")
    rate_per_s: float = from_policy(RateLimitPolicy, "rate_per_s")
    burst: float = from_policy(RateLimitPolicy, "burst")
    mode: str = from_policy(RateLimitPolicy, "mode")
    max_wait_s: float = from_policy(RateLimitPolicy, "max_wait_s")

    def __post_init__(self) -> None:
        RateLimitPolicy(**policy_kwargs(self, RateLimitPolicy))

    def policy(self) -> RateLimitPolicy | None:
        """The operator's policy, or ``None`` when switched off."""
        return RateLimitPolicy(**policy_kwargs(self, RateLimitPolicy)) if self.enabled else None


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetSettings:
    """``[resilience.budget]``: at most N calls per window (off by default)."""

    enabled: bool = enabled_from(_P, "budget", help="cap the number of LLM calls")
    max_calls: int = from_policy(BudgetPolicy, "max_calls")
    window_s: float = from_policy(BudgetPolicy, "window_s", none_as=0.0)

    def __post_init__(self) -> None:
        BudgetPolicy(**policy_kwargs(self, BudgetPolicy))

    def policy(self) -> BudgetPolicy | None:
        """The operator's policy, or ``None`` when switched off (``window_s = 0``: until the next heavy tick)."""
        return BudgetPolicy(**policy_kwargs(self, BudgetPolicy)) if self.enabled else None


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheSettings:
    """``[resilience.cache]``: answers kept for identical requests (in memory, LRU; optionally shared)."""

    enabled: bool = enabled_from(_P, "cache", help="serve identical requests from memory and share calls in flight")
    ttl_s: float = from_policy(CachePolicy, "ttl_s")
    max_entries: int = from_policy(CachePolicy, "max_entries")
    backend: str = setting(
        "none",
        help="second tier asked when memory misses: none, aiocache's memory store, or Redis",
        choices=("none", "memory", "redis"),
    )
    redis_url: str = setting("redis://127.0.0.1:6379/0", help="the Redis server when backend is redis")
    store_timeout_s: float = setting(
        0.25, help="longest wait for the second tier per read or write", min=0.0, min_exclusive=True, max=60.0
    )

    def __post_init__(self) -> None:
        CachePolicy(**policy_kwargs(self, CachePolicy))
        if self.backend == "redis":
            RedisAddress.parse(self.redis_url)

    def policy(self) -> CachePolicy | None:
        """The operator's policy, or ``None`` when switched off."""
        return CachePolicy(**policy_kwargs(self, CachePolicy)) if self.enabled else None

    def redis_address(self) -> RedisAddress:
        """``redis_url``, parsed (raises ``ValueError`` when it is not a Redis URL)."""
        return RedisAddress.parse(self.redis_url)

    def shown_redis_url(self) -> str:
        """``redis_url`` with its password replaced by ``***``: what logs and snapshots may show."""
        return shown_redis_url(self.redis_url)


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkheadSettings:
    """``[resilience.bulkhead]``: calls in flight at once (off by default: ``[reply] max_concurrent`` bounds them)."""

    enabled: bool = enabled_from(_P, "bulkhead", help="cap calls in flight (routes already cap them with merge)")
    max_concurrent: int = from_policy(BulkheadPolicy, "max_concurrent")
    max_waiting: int = from_policy(BulkheadPolicy, "max_waiting")

    def __post_init__(self) -> None:
        BulkheadPolicy(**policy_kwargs(self, BulkheadPolicy))

    def policy(self) -> BulkheadPolicy | None:
        """The operator's policy, or ``None`` when switched off."""
        return BulkheadPolicy(**policy_kwargs(self, BulkheadPolicy)) if self.enabled else None


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackSettings:
    """``[resilience.fallback]``: what a failed call becomes."""

    enabled: bool = enabled_from(_P, "catch", help="turn failures into fallbacks and dead letters instead of errors")
    stale_for_s: float = from_policy(_P, "stale_for_s")
    remember: int = from_policy(_P, "remember")

    def __post_init__(self) -> None:
        ProtectPolicies(**policy_kwargs(self, ProtectPolicies))


@dataclass(frozen=True, slots=True, kw_only=True)
class ResilienceSettings:
    """``[resilience]``: every layer of ``agent.protect``."""

    timeout: TimeoutSettings = field(default_factory=TimeoutSettings)
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    retry: RetrySettings = field(default_factory=RetrySettings)
    rate_limit: RateLimitSettings = field(default_factory=RateLimitSettings)
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    bulkhead: BulkheadSettings = field(default_factory=BulkheadSettings)
    fallback: FallbackSettings = field(default_factory=FallbackSettings)
    shared_limits: SharedLimitsSettings = field(default_factory=SharedLimitsSettings)

    def __post_init__(self) -> None:
        budget, shared = self.budget, self.shared_limits
        if budget.enabled and budget.window_s == 0 and shared.backend != "process":
            raise ValueError(
                "resilience.budget.window_s: expected seconds > 0 with resilience.shared_limits.backend = "
                f"{shared.backend!r}, got 0 (until reset: every instance's heavy tick would start the shared "
                "budget again)"
            )

    def policies(self) -> ProtectPolicies:
        """The policies ``agent.Protection`` is built from."""
        on = self.timeout.enabled
        times = policy_kwargs(self.timeout, ProtectPolicies) if on else {"timeout_s": None, "deadline_s": None}
        return ProtectPolicies(
            **times,
            breaker=self.breaker.policy(),
            retry=self.retry.policy(),
            retry_budget=self.retry.budget(),
            rate_limit=self.rate_limit.policy(),
            budget=self.budget.policy(),
            cache=self.cache.policy(),
            bulkhead=self.bulkhead.policy(),
            catch=self.fallback.enabled,
            **policy_kwargs(self.fallback, ProtectPolicies),
        )
