"""The check of the shared limits' Redis: a warning, since without it each instance keeps its share of the limits."""

from __future__ import annotations

from service.checks._check import Check, CheckFailed, Probe, Severity
from service.checks._redis_ping import RedisUnanswered, ping_redis

__all__ = ["SHARED_LIMITS_CHECKS"]


def _shared_limits(probe: Probe) -> str:
    shared = probe.settings.resilience.shared_limits
    if shared.backend != "redis":
        return f"backend {shared.backend}: nothing to reach"
    resilience = probe.settings.resilience
    if not (resilience.rate_limit.enabled or resilience.budget.enabled):
        return "not asked: neither resilience.rate_limit nor resilience.budget is enabled"
    limit = probe.settings.checks.remote_timeout_s
    try:
        ping_redis(shared.redis_address(), limit)
    except RedisUnanswered as exc:
        share = f"1/{shared.instances}" if shared.instances > 1 else "all"
        raise CheckFailed(
            f"{shared.shown_redis_url()} does not answer within {limit:g} s: {exc} "
            f"(until it does, each instance keeps {share} of the limits)"
        ) from exc
    return f"{shared.shown_redis_url()} answers (limits shared by {shared.instances} instance(s))"


SHARED_LIMITS_CHECKS = (Check(name="shared limits", severity=Severity.WARNING, run=_shared_limits),)
