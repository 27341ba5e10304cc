"""One PING to a Redis server within the checks' time limit: what the Redis-backed checks ask."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.settings import RedisAddress

__all__ = ["ping_redis"]


def ping_redis(address: RedisAddress, limit_s: float) -> None:
    """PING ``address`` once, within ``limit_s`` to connect and to answer.

    Raises:
        redis.exceptions.RedisError: it did not answer (refused, timed out, refused the login).
    """
    client = redis.Redis(
        host=address.host,
        port=address.port,
        db=address.db,
        username=address.username,
        password=address.password,
        ssl=address.tls,
        socket_timeout=limit_s,
        socket_connect_timeout=limit_s,
        retry=Retry(NoBackoff(), 0),  # one try: redis-py's default retries made a 0.5 s limit wait 8.7 s
    )
    try:
        client.ping()
    finally:
        client.close()
