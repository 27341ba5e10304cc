"""An example string for a simple regular expression (a JSON schema's ``pattern``).

Simple means: literals, ``.``, ``\\d`` ``\\w`` ``\\s``, escaped punctuation, classes such as
``[a-z0-9_-]`` (not negated), groups ``(...)`` and ``(?:...)`` with ``|``, the quantifiers ``?``
``*`` ``+`` ``{n}`` ``{n,}`` ``{n,m}``, and ``^`` / ``$`` at the ends. Anything else (lookarounds,
back references, negated classes, ``\\b``) is not simple, and :func:`example_of` says ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["example_of"]

Below = Callable[[int], int]

_DIGITS = "0123456789"
_WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" + _DIGITS + "_"
_CLASSES = {"d": _DIGITS, "w": _WORD, "s": " "}
_SPECIAL = set("()[]{}|*+?^$\\.")
_MAX_REPEAT = 1000  # a {n} above this is not simple: the example would be huge


class _NotSimple(Exception):
    """The pattern uses something outside the simple subset."""


def example_of(pattern: str, below: Below) -> str | None:
    """A string ``re.search(pattern, ...)`` finds, chosen with ``below(n)`` (0 to n - 1), or ``None``."""
    body = pattern.removeprefix("^")
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    try:
        parser = _Parser(body, below)
        text = parser.alternatives()
        if parser.pos != len(body):
            return None
        return text if re.search(pattern, text) is not None else None
    except (_NotSimple, re.error, RecursionError):
        return None


class _Parser:
    """Reads the pattern once, writing an example as it goes."""

    def __init__(self, text: str, below: Below) -> None:
        self.text = text
        self.pos = 0
        self._below = below

    def alternatives(self) -> str:
        """``a|b|c`` up to a closing parenthesis or the end: one of them, chosen."""
        options = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            options.append(self._sequence())
        return options[self._below(len(options))]

    def _sequence(self) -> str:
        out: list[str] = []
        while self.pos < len(self.text) and self._peek() not in ("|", ")"):
            atom = self._atom()
            low, high = self._quantifier()
            count = low + self._below(high - low + 1)
            out.extend(atom() for _ in range(count))
        return "".join(out)

    def _atom(self) -> Callable[[], str]:
        char = self.text[self.pos]
        self.pos += 1
        if char == "(":
            if self.text.startswith("?:", self.pos):
                self.pos += 2
            elif self._peek() == "?":
                raise _NotSimple
            start = self.pos
            self.alternatives()  # checks the group once; each repeat below reads it again
            end = self.pos
            if self._peek() != ")":
                raise _NotSimple
            self.pos += 1
            group = self.text[start:end]
            return lambda: _Parser(group, self._below).alternatives()
        if char == "[":
            chars = self._class()
            return lambda: chars[self._below(len(chars))]
        if char == "\\":
            chars = self._escape()
            return lambda: chars[self._below(len(chars))]
        if char == ".":
            return lambda: _WORD[self._below(len(_WORD))]
        if char in _SPECIAL:
            raise _NotSimple
        return lambda: char

    def _escape(self) -> str:
        if self.pos >= len(self.text):
            raise _NotSimple
        char = self.text[self.pos]
        self.pos += 1
        if char in _CLASSES:
            return _CLASSES[char]
        if char.isalnum():
            raise _NotSimple  # \b, \A, \1, \D, ...
        return char

    def _class(self) -> str:
        if self._peek() == "^":
            raise _NotSimple
        chars: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != "]":
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\":
                chars.extend(self._escape())
            elif self._peek() == "-" and self.text[self.pos + 1 : self.pos + 2] not in ("", "]"):
                end = self.text[self.pos + 1]
                self.pos += 2
                if end == "\\" or ord(end) < ord(char):
                    raise _NotSimple
                chars.extend(chr(c) for c in range(ord(char), ord(end) + 1))
            else:
                chars.append(char)
        if self.pos >= len(self.text) or not chars:
            raise _NotSimple
        self.pos += 1
        return "".join(chars)

    def _quantifier(self) -> tuple[int, int]:
        char = self._peek()
        bounds: tuple[int, int] | None = None
        if char in ("?", "*", "+"):
            self.pos += 1
            bounds = {"?": (0, 1), "*": (0, 3), "+": (1, 3)}[char]
        elif char == "{":
            match = re.compile(r"\{(\d+)(,(\d*))?\}").match(self.text, self.pos)
            if match is None:
                raise _NotSimple
            self.pos = match.end()
            low = int(match.group(1))
            high = low if match.group(2) is None else (int(match.group(3)) if match.group(3) else low + 3)
            if high < low or high > _MAX_REPEAT:
                raise _NotSimple
            bounds = (low, high)
        if bounds is None:
            return 1, 1
        if self._peek() == "?":
            self.pos += 1  # lazy: the same strings match
        return bounds

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""
