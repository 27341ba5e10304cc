"""One PING to a Redis server within the checks' time limit: what the Redis-backed checks ask.

redis is imported by the ping, not with this module: a service whose settings name no Redis
never loads it (about 7 MB resident and a second of start-up).
"""

from __future__ import annotations

from service.settings import RedisAddress

__all__ = ["RedisUnanswered", "ping_redis"]


class RedisUnanswered(Exception):
    """The server did not answer the PING (refused, timed out, refused the login); the message is redis-py's."""


def ping_redis(address: RedisAddress, limit_s: float) -> None:
    """PING ``address`` once, within ``limit_s`` to connect and to answer.

    Raises:
        RedisUnanswered: it did not answer (from redis-py's error).
    """
    import redis  # here, not above: only a check that has a Redis to ask loads it
    from redis.backoff import NoBackoff
    from redis.retry import Retry

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
    except redis.exceptions.RedisError as exc:
        raise RedisUnanswered(str(exc)) from exc
    finally:
        client.close()
