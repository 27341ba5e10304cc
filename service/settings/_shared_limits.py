"""``[resilience.shared_limits]``: where the rate limit's bucket and the call budget live (this process, or Redis).

A sub-table of ``[resilience]`` because it changes where two of its layers keep their state,
not what they do: ``[resilience.rate_limit]`` and ``[resilience.budget]`` still say the limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from operators import SharedLimitsPolicy
from service.settings._fields import from_policy, policy_kwargs, setting
from service.settings._redis import RedisAddress, shown_redis_url

__all__ = ["SharedLimitsSettings"]

_PREFIX = re.compile(r"[A-Za-z0-9_.:{}-]{1,100}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedLimitsSettings:
    """``[resilience.shared_limits]``: one token bucket and one call budget for every instance of a being."""

    backend: str = setting(
        "process",
        help="where the bucket and the budget live: this process, or Redis (shared by every instance)",
        choices=("process", "redis"),
    )
    redis_url: str = setting("redis://127.0.0.1:6379/0", help="the Redis server when backend is redis")
    key_prefix: str = setting("being", help="the start of every key; instances with the same prefix share the limits")
    instances: int = from_policy(SharedLimitsPolicy, "instances")
    timeout_s: float = setting(
        0.1, help="longest wait for Redis per call; slower counts as an outage", min=0.0, min_exclusive=True, max=5.0
    )
    retry_interval_s: float = from_policy(SharedLimitsPolicy, "retry_interval_s")
    idle_ttl_s: float = setting(
        86400.0,
        help="a budget without a window (until reset) is forgotten this long after its last call",
        min=1.0,
        max=31_536_000.0,
    )

    def __post_init__(self) -> None:
        SharedLimitsPolicy(**policy_kwargs(self, SharedLimitsPolicy))
        if not isinstance(self.key_prefix, str) or not _PREFIX.fullmatch(self.key_prefix):
            raise ValueError(f"key_prefix: expected 1 to 100 letters, digits or _ . : - {{ }}, got {self.key_prefix!r}")
        if self.backend == "redis":
            RedisAddress.parse(self.redis_url)

    def policy(self) -> SharedLimitsPolicy | None:
        """The fallback's policy, or ``None`` when the limits stay in this process."""
        return SharedLimitsPolicy(**policy_kwargs(self, SharedLimitsPolicy)) if self.backend == "redis" else None

    def redis_address(self) -> RedisAddress:
        """``redis_url``, parsed (raises ``ValueError`` when it is not a Redis URL)."""
        return RedisAddress.parse(self.redis_url)

    def shown_redis_url(self) -> str:
        """``redis_url`` with its password replaced by ``***``."""
        return shown_redis_url(self.redis_url)
