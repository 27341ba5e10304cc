"""The settings error: one line naming the key, the value given and what is expected."""

from __future__ import annotations

import re
from typing import Any

from streams.errors import BeingError

__all__ = ["SettingsError", "without_credentials"]

# A URL's user:password@ (greedy up to the last @ before a path, space or quote: a password may hold @)
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/'\"]*@")


def without_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it replaced by ``***@``: what an error may show."""
    return _USERINFO.sub(r"\1***@", text)


class SettingsError(BeingError):
    """config.toml or a ``BEING_*`` variable holds something the service cannot use.

    Attributes:
        key: dotted key such as ``http.port`` (or the variable's name).
        given: the value found.
        expected: what a valid value looks like.
        origin: where it was found (a file path or ``environment``).
    """

    def __init__(self, key: str, given: Any, expected: str, origin: str) -> None:
        self.key = key
        self.given = given
        self.expected = expected
        self.origin = origin
        # the value or the section shown may hold a URL with a password (redis_url, nats.url, tracing.endpoint)
        super().__init__(without_credentials(f"setting {key} = {given!r} ({origin}): expected {expected}"))
