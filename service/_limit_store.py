"""The shared limits over Redis: an :class:`operators.LimitStore` whose every acquire is one atomic Lua script.

The operators see only the Protocol; this module is where redis is imported. Each request runs
its script by SHA (``EVALSHA``) and loads it on ``NOSCRIPT`` (a restarted or flushed Redis), and
must end within ``timeout_s``; every failure (refused, reset, too slow, an answer of the wrong
shape) is raised as :class:`operators.LimitStoreError`, which the operators treat as an outage.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from typing import Any

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from operators import BudgetPolicy, CallGrant, LimitStoreError, RateLimitPolicy, TokenGrant
from service._limit_lua import BUCKET, BUDGET_COUNT, BUDGET_RESET, BUDGET_WINDOW
from service.settings import SharedLimitsSettings

__all__ = ["RedisLimitStore", "limit_store"]

log = logging.getLogger("service")


class _Script:
    """One Lua script and its SHA1, run by SHA and loaded when Redis does not know it."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def run(self, client: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await client.script_load(self.source)
            return await client.evalsha(self.sha, len(keys), *keys, *args)


_BUCKET, _WINDOW, _COUNT, _RESET = (_Script(s) for s in (BUCKET, BUDGET_WINDOW, BUDGET_COUNT, BUDGET_RESET))


def _number(value: Any) -> float:
    """A number the script sent as text (``ValueError`` for anything else)."""
    text = value.decode() if isinstance(value, bytes) else value
    if not isinstance(text, str | int):
        raise ValueError(f"expected a number, got {value!r}")
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


class RedisLimitStore:
    """Token buckets and call budgets in one Redis, keyed ``<prefix>:limits:<name>:<part>``.

    Args:
        client: a ``redis.asyncio.Redis`` (its own socket time limits should not exceed ``timeout_s``).
        prefix: the start of every key; instances with the same prefix share the limits.
        timeout_s: the time limit of one request (connecting included).
        idle_ttl_s: how long an until-reset budget is kept after its last call.
        where: how the server is named in errors (its URL without the password).
    """

    def __init__(
        self, client: Any, *, prefix: str, timeout_s: float, idle_ttl_s: float = 86400.0, where: str = "redis"
    ) -> None:
        self._client = client
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.idle_ms = max(1, round(idle_ttl_s * 1000))
        self.where = where

    def key(self, name: str, part: str) -> str:
        """The key of ``part`` (``bucket``, ``window``, ``seq``, ``count``) of the limits called ``name``."""
        return f"{self.prefix}:limits:{name}:{part}"

    async def take_tokens(self, name: str, policy: RateLimitPolicy, cost: float) -> TokenGrant:
        reply = await self._bucket("take_tokens", name, policy, cost, "take")
        return TokenGrant(granted=_number(reply[0]) == 1, wait_s=_number(reply[1]), tokens=_number(reply[2]))

    async def give_tokens(self, name: str, policy: RateLimitPolicy, cost: float) -> float:
        reply = await self._bucket("give_tokens", name, policy, cost, "give")
        return _number(reply[2])

    async def spend_calls(self, name: str, policy: BudgetPolicy, cost: int) -> CallGrant:
        if policy.window_s is None:
            keys, args, script = [self.key(name, "count")], [policy.max_calls, cost, self.idle_ms], _COUNT
        else:
            window_us = round(policy.window_s * 1_000_000)
            keys = [self.key(name, "window"), self.key(name, "seq")]
            args, script = [policy.max_calls, window_us, cost], _WINDOW
        reply = await self._run("spend_calls", name, script, keys, args)
        try:
            free_text = reply[2].decode() if isinstance(reply[2], bytes) else reply[2]
            free_in = _number(free_text) if free_text else None
            return CallGrant(granted=_number(reply[0]) == 1, remaining=int(_number(reply[1])), free_in_s=free_in)
        except (ValueError, TypeError, IndexError, AttributeError) as exc:
            raise LimitStoreError(name, "spend_calls", f"an answer of the wrong shape: {reply!r}") from exc

    async def reset_calls(self, name: str, policy: BudgetPolicy) -> None:
        keys = [self.key(name, part) for part in ("count", "window", "seq")]
        await self._run("reset_calls", name, _RESET, keys, [])

    async def ping(self) -> None:
        """Ask the server for an answer once, within the time limit (``LimitStoreError`` when there is none)."""
        await self._within("ping", "-", self._client.ping())

    async def aclose(self) -> None:
        """Release the connections."""
        await self._client.aclose()

    async def _bucket(self, operation: str, name: str, policy: RateLimitPolicy, cost: float, mode: str) -> Any:
        allowed = policy.max_wait_s if policy.mode == "wait" else 0.0
        args = [repr(float(policy.rate_per_s)), repr(float(policy.burst)), repr(float(cost)), repr(allowed), mode]
        reply = await self._run(operation, name, _BUCKET, [self.key(name, "bucket")], args)
        try:
            for part in reply:
                _number(part)
        except ValueError as exc:
            raise LimitStoreError(name, operation, f"an answer of the wrong shape: {reply!r}") from exc
        return reply

    async def _run(self, operation: str, name: str, script: _Script, keys: list[str], args: list[Any]) -> Any:
        reply = await self._within(operation, name, script.run(self._client, keys, args))
        if operation != "reset_calls" and (not isinstance(reply, list) or len(reply) != 3):
            raise LimitStoreError(name, operation, f"an answer of the wrong shape: {reply!r}")
        return reply

    async def _within(self, operation: str, name: str, step: Any) -> Any:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await step
        except TimeoutError as exc:
            raise LimitStoreError(name, operation, f"{self.where} gave no answer within {self.timeout_s:g} s") from exc
        except (RedisError, OSError) as exc:
            raise LimitStoreError(name, operation, f"{self.where}: {type(exc).__name__}: {exc}") from exc


def limit_store(settings: SharedLimitsSettings) -> RedisLimitStore | None:
    """The store ``settings`` ask for, or ``None`` (backend ``process``).

    Nothing connects here: Redis is reached on the first call, and while it cannot be reached
    every call is decided on this process's share of the limits.
    """
    if settings.backend != "redis":
        return None
    address = settings.redis_address()
    limit = settings.timeout_s
    client = redis.asyncio.Redis(
        host=address.host,
        port=address.port,
        db=address.db,
        username=address.username,
        password=address.password,
        ssl=address.tls,
        socket_timeout=limit,
        socket_connect_timeout=limit,
        retry=Retry(NoBackoff(), 0),  # one try: a retry would exceed the time limit a call may wait
    )
    where = settings.shown_redis_url()
    log.info("shared_limits.store", extra={"backend": "redis", "where": where, "prefix": settings.key_prefix})
    return RedisLimitStore(
        client, prefix=settings.key_prefix, timeout_s=limit, idle_ttl_s=settings.idle_ttl_s, where=where
    )
