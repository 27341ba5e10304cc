"""Decoding an inbox file: BOM sniffing, line splitting, and refusing what cannot be read.

Accepted: UTF-8 (with or without a BOM), UTF-16 and UTF-32 with a BOM, and UTF-16 LE
without a BOM when the bytes plainly are (NULs in every other byte). A line that cannot be
decoded, is too long, holds a NUL, or holds nothing to say (only whitespace and zero-width
characters) becomes a :class:`BadLine` with its bytes escaped, so it can be kept as a dead
letter; the other lines are unaffected. A truly empty line (no bytes, or only ``\r``) is
skipped, its number still counted.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = [
    "RAW_HEAD_BYTES",
    "BadLine",
    "GoodLine",
    "blank",
    "decode_inbox",
    "decode_line",
    "decode_lines",
    "escape",
    "find_newline",
    "sniff_encoding",
    "too_long",
    "unit_of",
]

RAW_HEAD_BYTES = 4096
"""How many bytes of a too-long line its dead letter keeps."""

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")


@dataclass(frozen=True, slots=True)
class GoodLine:
    """A readable line (1-based ``number``), without its line ending."""

    number: int
    text: str


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be read: why, and its bytes with the unreadable ones escaped."""

    number: int
    reason: str
    raw: str


_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_UNIT = {"utf-8": 1, "utf-16-le": 2, "utf-16-be": 2, "utf-32-le": 4, "utf-32-be": 4}
_NEWLINE = {name: "\n".encode(name) for name in _UNIT}


def unit_of(encoding: str) -> int:
    """The code-unit size of ``encoding`` in bytes (1, 2 or 4): also the length of its newline."""
    return _UNIT[encoding]


def find_newline(data: bytes, encoding: str, start: int = 0) -> int:
    """Where the first newline at or after ``start`` begins (at a code-unit boundary from ``start``); -1: none."""
    unit = _UNIT[encoding]
    newline = _NEWLINE[encoding]
    pos = data.find(newline, start)
    while pos != -1 and (pos - start) % unit != 0:
        pos = data.find(newline, pos + 1)
    return pos


def sniff_encoding(data: bytes) -> tuple[str, int]:
    """The encoding of ``data`` and the length of its BOM (0 when it has none)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    head = data[:512]
    if len(head) >= 4:
        odd_nuls = head[1::2].count(0)
        even_nuls = head[0::2].count(0)
        if odd_nuls * 10 >= len(head[1::2]) * 9 and even_nuls == 0:
            return "utf-16-le", 0
    return "utf-8", 0


def _split_units(data: bytes, encoding: str) -> list[bytes]:
    """Split on the encoded newline at code-unit boundaries (never inside a character)."""
    unit = _UNIT[encoding]
    if unit == 1:
        return data.split(b"\n")
    newline = _NEWLINE[encoding]
    pieces: list[bytes] = []
    start = 0
    pos = data.find(newline, 0)
    while pos != -1:
        if (pos - start) % unit == 0:
            pieces.append(data[start:pos])
            start = pos + unit
            pos = data.find(newline, start)
        else:
            pos = data.find(newline, pos + 1)
    pieces.append(data[start:])
    return pieces


def escape(raw: bytes, encoding: str) -> str:
    """``raw`` decoded, with the bytes that cannot be decoded written as ``\\xNN``."""
    return raw.decode(encoding, "backslashreplace")


def too_long(length: int, max_line_bytes: int) -> str:
    """The reason of a line of ``length`` bytes that is longer than allowed."""
    return f"too long: {length} bytes, more than the {max_line_bytes} allowed"


def blank(text: str) -> bool:
    """Whether ``text`` holds nothing to say: only whitespace and zero-width characters."""
    stripped = text.strip()
    if stripped and stripped[0] not in _ZERO_WIDTH:
        return False  # the common case, decided without looking at every character
    return all(c.isspace() or c in _ZERO_WIDTH for c in stripped)


def _visible(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii")


def decode_line(number: int, piece: bytes, encoding: str, *, max_line_bytes: int) -> GoodLine | BadLine | None:
    """Decode one line's bytes (without its newline); None for a truly empty line (no bytes, or only ``\\r``).

    Never raises for any input.
    """
    if len(piece) > max_line_bytes:
        return BadLine(number, too_long(len(piece), max_line_bytes), escape(piece[:RAW_HEAD_BYTES], encoding))
    try:
        text = piece.decode(encoding)
    except UnicodeDecodeError as exc:
        reason = f"undecodable: not {encoding} ({exc.reason} at byte {exc.start} of the line)"
        return BadLine(number, reason, escape(piece, encoding))
    text = text.removesuffix("\r")
    if "\x00" in text:
        return BadLine(number, "undecodable: line holds a NUL character", text.replace("\x00", "\\x00"))
    if not text:
        return None
    if blank(text):
        return BadLine(number, "empty: only whitespace or zero-width characters", _visible(text))
    return GoodLine(number, text)


def decode_lines(
    body: bytes, encoding: str, *, first_number: int = 1, max_line_bytes: int
) -> tuple[int, list[GoodLine | BadLine]]:
    """Decode ``body`` (no BOM) into lines numbered from ``first_number``.

    A final newline ends the last line (it starts no empty one). Truly empty lines are skipped,
    but their numbers count. Never raises for any input.

    Returns:
        How many lines ``body`` held, and the readable and unreadable ones in order.
    """
    pieces = _split_units(body, encoding)
    if pieces and pieces[-1] == b"":
        pieces.pop()
    lines: list[GoodLine | BadLine] = []
    for index, piece in enumerate(pieces, start=first_number):
        line = decode_line(index, piece, encoding, max_line_bytes=max_line_bytes)
        if line is not None:
            lines.append(line)
    return len(pieces), lines


def decode_inbox(data: bytes, *, max_line_bytes: int) -> tuple[str, list[GoodLine | BadLine]]:
    """Decode a whole inbox file into lines (its encoding sniffed from its first bytes).

    Truly empty lines are skipped (their numbers still count). Never raises for any input.

    Returns:
        The encoding used and the lines in file order.
    """
    encoding, bom = sniff_encoding(data)
    _, lines = decode_lines(data[bom:], encoding, max_line_bytes=max_line_bytes)
    return encoding, lines
