"""The check of the shared limits' Redis: a warning, since without it each instance keeps its share of the limits."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from service.checks._check import Check, CheckFailed, Probe, Severity

__all__ = ["SHARED_LIMITS_CHECKS"]


def _shared_limits(probe: Probe) -> str:
    shared = probe.settings.resilience.shared_limits
    if shared.backend != "redis":
        return f"backend {shared.backend}: nothing to reach"
    resilience = probe.settings.resilience
    if not (resilience.rate_limit.enabled or resilience.budget.enabled):
        return "not asked: neither resilience.rate_limit nor resilience.budget is enabled"
    address = shared.redis_address()
    limit = probe.settings.checks.remote_timeout_s
    client = redis.Redis(
        host=address.host,
        port=address.port,
        db=address.db,
        username=address.username,
        password=address.password,
        ssl=address.tls,
        socket_timeout=limit,
        socket_connect_timeout=limit,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    except RedisError as exc:
        share = f"1/{shared.instances}" if shared.instances > 1 else "all"
        raise CheckFailed(
            f"{shared.shown_redis_url()} does not answer within {limit:g} s: {exc} "
            f"(until it does, each instance keeps {share} of the limits)"
        ) from exc
    finally:
        client.close()
    return f"{shared.shown_redis_url()} answers (limits shared by {shared.instances} instance(s))"


SHARED_LIMITS_CHECKS = (Check(name="shared limits", severity=Severity.WARNING, run=_shared_limits),)
