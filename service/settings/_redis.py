"""Where a Redis server is: a ``redis://`` URL parsed and checked, and shown without its password."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["RedisAddress", "shown_redis_url"]


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


def shown_redis_url(url: str) -> str:
    """``url`` with its password replaced by ``***``: what logs and snapshots may show."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if parts.password is None:
        if not parts.username:
            return url
        return urlunsplit(parts._replace(netloc=f"***@{host}"))  # a lone user part may be the secret
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
