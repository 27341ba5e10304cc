"""Which host names the service answers to, for the Host and Origin headers.

A browser page on another site can reach a service on 127.0.0.1 in two ways: by DNS
rebinding (its own name, now resolving to 127.0.0.1, so the request carries
``Host: evil.example``) and by a cross-site form or fetch (``Origin: http://evil.example``).
Both name a host the service does not know, so checking the name against a short list
stops both. The list: the loopback names, the address the service is bound to (unless
it is a wildcard), and ``http.allowed_hosts``. Ports are not compared: the service may
be reached through a published or forwarded port.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["LOOPBACK_NAMES", "HostRules", "host_of"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::", "*"})
_DIGITS = frozenset("0123456789")
_NOT_IN_A_NAME = frozenset("/\\@?#[]<>\"' \t\r\n,;")


def _bare(name: str) -> str:
    """A host name as compared: lower case, without IPv6 brackets or the root's trailing dot."""
    name = name.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name.removesuffix(".")


def host_of(value: str) -> str | None:
    """The host of a ``Host`` header value (``name``, ``name:port``, ``[v6]:port``); ``None`` if malformed.

    The host comes back in its compared form; a bare IPv6 address (``::1``, two colons or
    more) is taken whole.
    """
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1 :]
        if rest and not (rest.startswith(":") and set(rest[1:]) <= _DIGITS):
            return None
    elif value.count(":") == 1:
        host, port = value.split(":")
        if not set(port) <= _DIGITS:
            return None
    else:
        host = value
    host = _bare(host)
    if not host or any(c in _NOT_IN_A_NAME for c in host):
        return None
    return host


@dataclass(frozen=True, slots=True)
class HostRules:
    """The host names this service answers to.

    Attributes:
        names: compared forms (see :func:`host_of`).
    """

    names: frozenset[str]

    @classmethod
    def for_service(cls, bind_host: str = "127.0.0.1", allowed_hosts: Iterable[str] = ()) -> HostRules:
        """Loopback names, ``bind_host`` unless it is a wildcard (``0.0.0.0``, ``::``), and ``allowed_hosts``."""
        names = set(LOOPBACK_NAMES)
        if _bare(bind_host) not in _WILDCARDS:
            names.add(_bare(bind_host))
        names.update(_bare(name) for name in allowed_hosts if _bare(name))
        return cls(frozenset(names))

    def allows_host(self, value: str) -> bool:
        """True when a ``Host`` header value names this service (any port)."""
        host = host_of(value)
        return host is not None and host in self.names

    def allows_origin(self, value: str) -> bool:
        """True when an ``Origin`` header value is an http(s) origin on one of these names (``null`` never is)."""
        try:
            parts = urlsplit(value.strip())
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or parts.path or parts.query or parts.fragment:
            return False
        return self.allows_host(parts.netloc)
