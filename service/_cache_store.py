"""The cache's shared tier over aiocache: its memory store or Redis, as ``[resilience.cache]`` says.

The operators see only :class:`operators.SharedStore`; this module is where aiocache and
redis are imported, where answers become JSON (the recorded-exchange encoding of
``llm``, so nothing but JSON values is ever read back: no pickle), and where every
failure of the store becomes a :class:`operators.CacheStoreError` within a time limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiocache import RedisCache, SimpleMemoryCache
from aiocache.serializers import StringSerializer
from redis.exceptions import RedisError

from llm import ChatResult, decode_response, encode_response
from operators import CacheStoreError
from service.settings import CacheSettings

__all__ = ["AiocacheStore", "ResponseCodec", "shared_store"]

log = logging.getLogger("service")

_FORMAT = 1
# what a stored payload that is not an answer can raise while it is decoded
_UNDECODABLE = (ValueError, TypeError, KeyError, AttributeError)


@dataclass(frozen=True, slots=True)
class ResponseCodec:
    """A call's items as JSON text, in the encoding of recorded exchanges (``llm.encode_response``).

    Attributes:
        operation: the LLM operation whose results are stored (``chat``, ``generate``, ...).
    """

    operation: str = "chat"

    def encode(self, values: tuple[Any, ...]) -> str:
        """Raises ``TypeError`` for an item that has no JSON form."""
        payload = {"format": _FORMAT, "items": [encode_response(v) for v in values]}
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))

    def decode(self, text: str) -> tuple[Any, ...]:
        """Raises ``ValueError`` (and only that) when ``text`` is not what :meth:`encode` writes."""
        try:
            payload = json.loads(text)
            if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
                raise ValueError(f"expected a payload of format {_FORMAT}")
            items = payload["items"]
            if not isinstance(items, list):
                raise ValueError("expected a list of items")
            values = tuple(decode_response(self.operation, item) for item in items)
        except _UNDECODABLE as exc:
            raise ValueError(f"not a stored {self.operation} answer: {type(exc).__name__}: {exc}") from exc
        for value in values:
            if isinstance(value, ChatResult) and not (isinstance(value.model, str) and isinstance(value.content, str)):
                raise ValueError(f"not a stored {self.operation} answer: model and content must be text")
        return values


class AiocacheStore:
    """An :class:`operators.SharedStore` over an aiocache cache.

    Keys are namespaced (``being:llm:<key>``) so that the being's entries can be told apart in a
    shared Redis; each read and write must end within ``timeout_s`` or fails. Every failure
    (unreachable, too slow, a payload that does not decode) is raised as ``CacheStoreError``,
    which the cache reports and survives.

    Args:
        cache: an aiocache cache that stores text (``StringSerializer``) with no namespace of its own.
        name: the store's name in errors (the protection's name).
        namespace: the prefix of every key.
        timeout_s: the time limit of one read or write.
        codec: items to text and back.
        close: releases the cache's connections.
    """

    def __init__(
        self,
        cache: Any,
        *,
        name: str,
        namespace: str,
        timeout_s: float,
        codec: ResponseCodec | None = None,
        close: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self._cache = cache
        self.name = name
        self.namespace = namespace
        self.timeout_s = timeout_s
        self.codec = codec if codec is not None else ResponseCodec()
        self._close = close if close is not None else cache.close
        self._writes: set[asyncio.Task[Any]] = set()

    def full_key(self, key: str) -> str:
        """The key as the backend stores it."""
        return f"{self.namespace}:{key}"

    async def get(self, key: str) -> tuple[Any, ...] | None:
        text = await self._run("get", key, self._cache.get(self.full_key(key)))
        if text is None:
            return None
        if not isinstance(text, str):
            raise CacheStoreError(self.name, "get", key, f"expected text, got {type(text).__name__}")
        try:
            return self.codec.decode(text)
        except ValueError as exc:
            raise CacheStoreError(self.name, "get", key, str(exc)) from exc

    async def set(self, key: str, values: tuple[Any, ...], ttl_s: float) -> None:
        try:
            text = self.codec.encode(values)
        except TypeError as exc:
            raise CacheStoreError(self.name, "set", key, str(exc)) from exc
        task = asyncio.current_task()
        if task is not None:
            self._writes.add(task)
        try:
            # a float TTL is sent in milliseconds, and Redis refuses 0
            await self._run("set", key, self._cache.set(self.full_key(key), text, ttl=max(float(ttl_s), 0.001)))
        finally:
            if task is not None:
                self._writes.discard(task)

    async def aclose(self) -> None:
        """Let the writes under way end (each within its time limit), then release the backend's connections."""
        if self._writes:
            await asyncio.wait(set(self._writes))
        await self._close()

    async def _run(self, operation: str, key: str, step: Awaitable[Any]) -> Any:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await step
        except TimeoutError as exc:
            raise CacheStoreError(self.name, operation, key, f"no answer within {self.timeout_s:g} s") from exc
        except (RedisError, OSError, UnicodeDecodeError) as exc:
            raise CacheStoreError(self.name, operation, key, f"{type(exc).__name__}: {exc}") from exc


def shared_store(
    settings: CacheSettings, *, name: str = "llm", codec: ResponseCodec | None = None
) -> AiocacheStore | None:
    """The second tier ``settings`` ask for, or ``None`` (backend ``none``, or the cache is off).

    Nothing connects here: Redis is reached on the first read or write, and while it cannot be
    reached every call is a miss there (counted in ``being_cache_store_errors_total``).
    """
    if not settings.enabled or settings.backend == "none":
        return None
    namespace = f"being:{name}"
    timeout_s = settings.store_timeout_s
    if settings.backend == "memory":
        memory = SimpleMemoryCache(serializer=StringSerializer(), timeout=None)
        log.info("cache.shared_store", extra={"backend": "memory", "namespace": namespace})
        return AiocacheStore(memory, name=name, namespace=namespace, timeout_s=timeout_s, codec=codec)
    address = settings.redis_address()
    pool_options: dict[str, Any] = {"socket_timeout": timeout_s}
    if address.username is not None:
        pool_options["username"] = address.username
    redis = RedisCache(
        serializer=StringSerializer(),
        endpoint=address.host,
        port=address.port,
        db=address.db,
        password=address.password,
        ssl=address.tls,
        create_connection_timeout=timeout_s,
        connection_pool_kwargs=pool_options,
        timeout=None,  # the store applies its own limit to each read and write
    )
    where = {"backend": "redis", "host": address.host, "port": address.port, "db": address.db, "namespace": namespace}
    log.info("cache.shared_store", extra=where)
    # aiocache 0.12 closes its client with redis-py's deprecated close(); aclose() is the same without the warning
    return AiocacheStore(
        redis, name=name, namespace=namespace, timeout_s=timeout_s, codec=codec, close=redis.client.aclose
    )
