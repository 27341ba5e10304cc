"""``[resilience.*]``: the layers around every LLM call (see docs/operators.md); each can be switched off."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from agent._protect import ProtectPolicies
from operators import (
    BreakerPolicy,
    BudgetPolicy,
    BulkheadPolicy,
    CachePolicy,
    RateLimitPolicy,
    RetryBudgetPolicy,
    RetryPolicy,
)
from service.settings._fields import setting

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
    "TimeoutSettings",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeoutSettings:
    """``[resilience.timeout]``: each try's time limit."""

    enabled: bool = setting(True, help="fail a try that takes too long with CallTimeoutError")
    timeout_s: float = setting(120.0, help="time limit of one try", min=0.0, min_exclusive=True, max=3600.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerSettings:
    """``[resilience.breaker]``: the circuit breaker (Resilience4j's model)."""

    enabled: bool = setting(True, help="reject calls fast while the LLM server keeps failing")
    failure_rate_threshold: float = setting(
        0.5, help="open at this share of failed calls", min=0.0, min_exclusive=True, max=1.0
    )
    slow_call_rate_threshold: float = setting(
        1.0, help="open at this share of slow calls", min=0.0, min_exclusive=True, max=1.0
    )
    slow_call_duration_s: float = setting(60.0, help="a call this long is slow", min=0.0, min_exclusive=True)
    sliding_window: str = setting(
        "count", help="judge the last N calls or the last N seconds", choices=("count", "time")
    )
    window_calls: int = setting(20, help="size of a count window", min=1, max=100000)
    window_s: float = setting(60.0, help="span of a time window", min=0.0, min_exclusive=True)
    minimum_calls: int = setting(10, help="calls in the window before any rate is judged", min=1)
    open_for_s: float = setting(30.0, help="wait before probing again", min=0.0, min_exclusive=True)
    open_for_multiplier: float = setting(2.0, help="growth of the wait on each consecutive opening", min=1.0)
    open_for_max_s: float = setting(300.0, help="longest wait", min=0.0, min_exclusive=True)
    half_open_calls: int = setting(3, help="probes let through while half-open", min=1, max=1000)

    def __post_init__(self) -> None:
        self.policy()

    def policy(self) -> BreakerPolicy | None:
        """The operator's policy, or ``None`` when switched off (raises ``ValueError`` on a bad combination)."""
        policy = BreakerPolicy(
            failure_rate_threshold=self.failure_rate_threshold,
            slow_call_rate_threshold=self.slow_call_rate_threshold,
            slow_call_duration_s=self.slow_call_duration_s,
            sliding_window="time" if self.sliding_window == "time" else "count",
            window_calls=self.window_calls,
            window_s=self.window_s,
            minimum_calls=self.minimum_calls,
            open_for_s=self.open_for_s,
            open_for_multiplier=self.open_for_multiplier,
            open_for_max_s=self.open_for_max_s,
            half_open_calls=self.half_open_calls,
        )
        return policy if self.enabled else None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrySettings:
    """``[resilience.retry]``: retries of transient failures, with backoff and a retry budget."""

    enabled: bool = setting(True, help="retry timeouts, connection errors, 429/502/503/504")
    max_attempts: int = setting(3, help="tries in all, the first included", min=1, max=100)
    base_delay_s: float = setting(0.5, help="wait before the first retry (before jitter)", min=0.0, max=3600.0)
    max_delay_s: float = setting(10.0, help="longest wait; a longer Retry-After ends the retries", min=0.0)
    multiplier: float = setting(2.0, help="growth of the wait per retry", min=1.0, max=100.0)
    jitter: bool = setting(True, help="full jitter: each wait drawn from 0 to its value")
    budget_enabled: bool = setting(True, help="limit retries to a share of calls (no retry storms)")
    budget_ratio: float = setting(0.2, help="retries allowed per call in the window", min=0.0, max=100.0)
    budget_window_s: float = setting(60.0, help="window of the retry budget", min=0.0, min_exclusive=True)
    budget_min_retries: int = setting(3, help="retries allowed in a window however few calls", min=0)

    def __post_init__(self) -> None:
        self.policy()
        self.budget()

    def policy(self) -> RetryPolicy | None:
        """The operator's policy, or ``None`` when switched off."""
        policy = RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay_s=self.base_delay_s,
            max_delay_s=self.max_delay_s,
            multiplier=self.multiplier,
            jitter=self.jitter,
        )
        return policy if self.enabled else None

    def budget(self) -> RetryBudgetPolicy | None:
        """The retry budget's policy, or ``None`` when switched off."""
        policy = RetryBudgetPolicy(
            ratio=self.budget_ratio, window_s=self.budget_window_s, min_retries=self.budget_min_retries
        )
        return policy if self.enabled and self.budget_enabled else None


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitSettings:
    """``[resilience.rate_limit]``: the token bucket in front of the LLM server."""

    enabled: bool = setting(True, help="space calls out with a token bucket")
    rate_per_s: float = setting(1.0, help="tokens added per second", min=0.0, min_exclusive=True, max=1e6)
    burst: float = setting(5.0, help="bucket size: calls that may go at once", min=1.0, max=1e6)
    mode: str = setting("wait", help="wait for tokens, or reject at once", choices=("wait", "reject"))
    max_wait_s: float = setting(30.0, help="longest wait for tokens before RateLimitedError", min=0.0)

    def policy(self) -> RateLimitPolicy | None:
        """The operator's policy, or ``None`` when switched off."""
        policy = RateLimitPolicy(
            rate_per_s=self.rate_per_s,
            burst=self.burst,
            mode="reject" if self.mode == "reject" else "wait",
            max_wait_s=self.max_wait_s,
        )
        return policy if self.enabled else None


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetSettings:
    """``[resilience.budget]``: at most N calls per window."""

    enabled: bool = setting(True, help="cap the number of LLM calls")
    max_calls: int = setting(120, help="calls per window", min=1)
    window_s: float = setting(3600.0, help="sliding window; 0: until the mind resets it (each heavy tick)", min=0.0)

    def policy(self) -> BudgetPolicy | None:
        """The operator's policy, or ``None`` when switched off."""
        policy = BudgetPolicy(max_calls=self.max_calls, window_s=self.window_s or None)
        return policy if self.enabled else None


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisAddress:
    """Where a Redis server is, parsed from ``redis://[user:password@]host[:port][/db]`` (``rediss://``: TLS)."""

    host: str
    port: int
    db: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def parse(cls, url: str) -> RedisAddress:
        """Raises ``ValueError`` saying what is wrong with ``url``."""
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"redis_url: expected a redis:// or rediss:// URL, got {url!r}")
        try:
            port = parts.port or 6379
        except ValueError:
            raise ValueError(f"redis_url: expected a port from 1 to 65535, got {url!r}") from None
        path = parts.path.strip("/")
        if path and not path.isdigit():
            raise ValueError(f"redis_url: expected a database number as the path (/0), got {parts.path!r}")
        if not parts.hostname:
            raise ValueError(f"redis_url: expected a host, got {url!r}")
        return cls(
            host=parts.hostname,
            port=port,
            db=int(path or 0),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=parts.scheme == "rediss",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheSettings:
    """``[resilience.cache]``: answers kept for identical requests (in memory, LRU; optionally shared)."""

    enabled: bool = setting(True, help="serve identical requests from memory and share calls in flight")
    ttl_s: float = setting(600.0, help="an answer is served this long", min=0.0, min_exclusive=True)
    max_entries: int = setting(1024, help="answers kept; the least recently used goes first", min=1)
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
        if self.backend == "redis":
            RedisAddress.parse(self.redis_url)

    def policy(self) -> CachePolicy | None:
        """The operator's policy, or ``None`` when switched off."""
        return CachePolicy(ttl_s=self.ttl_s, max_entries=self.max_entries) if self.enabled else None

    def redis_address(self) -> RedisAddress:
        """``redis_url``, parsed (raises ``ValueError`` when it is not a Redis URL)."""
        return RedisAddress.parse(self.redis_url)

    def shown_redis_url(self) -> str:
        """``redis_url`` with its password replaced by ``***``: what logs and snapshots may show."""
        parts = urlsplit(self.redis_url)
        if parts.password is None:
            return self.redis_url
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkheadSettings:
    """``[resilience.bulkhead]``: calls in flight at once."""

    enabled: bool = setting(False, help="cap calls in flight (routes already cap them with merge)")
    max_concurrent: int = setting(4, help="calls in flight", min=1, max=10000)
    max_waiting: int = setting(16, help="calls queued for a slot; more get BulkheadFullError", min=0)

    def policy(self) -> BulkheadPolicy | None:
        """The operator's policy, or ``None`` when switched off."""
        policy = BulkheadPolicy(max_concurrent=self.max_concurrent, max_waiting=self.max_waiting)
        return policy if self.enabled else None


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackSettings:
    """``[resilience.fallback]``: what a failed call becomes."""

    enabled: bool = setting(True, help="turn failures into fallbacks and dead letters instead of errors")
    stale_for_s: float = setting(300.0, help="serve the last good answer this young; 0: never", min=0.0)
    remember: int = setting(1024, help="requests whose last good answer is kept", min=1)


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

    def policies(self) -> ProtectPolicies:
        """The policies ``agent.Protection`` is built from."""
        return ProtectPolicies(
            timeout_s=self.timeout.timeout_s if self.timeout.enabled else None,
            breaker=self.breaker.policy(),
            retry=self.retry.policy(),
            retry_budget=self.retry.budget(),
            rate_limit=self.rate_limit.policy(),
            budget=self.budget.policy(),
            cache=self.cache.policy(),
            bulkhead=self.bulkhead.policy(),
            catch=self.fallback.enabled,
            stale_for_s=self.fallback.stale_for_s,
            remember=self.fallback.remember,
        )
