"""The settings error: one line naming the key, the value given and what is expected."""

from __future__ import annotations

from typing import Any

from streams.errors import BeingError

__all__ = ["SettingsError"]


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
        super().__init__(f"setting {key} = {given!r} ({origin}): expected {expected}")
