"""Decoding an inbox file: BOM sniffing, line splitting, and refusing what cannot be read.

Accepted: UTF-8 (with or without a BOM), UTF-16 and UTF-32 with a BOM, and UTF-16 LE
without a BOM when the bytes plainly are (NULs in every other byte). A line that cannot be
decoded, is too long, or holds a NUL becomes a :class:`BadLine` with its bytes escaped,
so it can be kept as a dead letter; the other lines are unaffected.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ["BadLine", "GoodLine", "complete_length", "decode_inbox", "decode_lines", "sniff_encoding"]


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
    newline = "\n".encode(encoding)
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


def _escape(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, "backslashreplace")


def complete_length(data: bytes, encoding: str) -> int:
    """How many bytes of ``data`` end with a newline (at a code-unit boundary): what can be read now.

    The rest is a line still being written; it waits for its newline (or for the file to go quiet).
    """
    unit = _UNIT[encoding]
    newline = "\n".encode(encoding)
    pos = data.rfind(newline)
    while pos != -1 and pos % unit != 0:
        pos = data.rfind(newline, 0, pos)
    return 0 if pos == -1 else pos + unit


def decode_lines(
    body: bytes, encoding: str, *, first_number: int = 1, max_line_bytes: int
) -> tuple[int, list[GoodLine | BadLine]]:
    """Decode ``body`` (no BOM) into lines numbered from ``first_number``.

    A final newline ends the last line (it starts no empty one). Blank lines are skipped, but
    their numbers count. Never raises for any input.

    Returns:
        How many lines ``body`` held, and the readable and unreadable ones in order.
    """
    pieces = _split_units(body, encoding)
    if pieces and pieces[-1] == b"":
        pieces.pop()
    lines: list[GoodLine | BadLine] = []
    for index, piece in enumerate(pieces, start=first_number):
        if len(piece) > max_line_bytes:
            reason = f"too long: {len(piece)} bytes, more than the {max_line_bytes} allowed"
            lines.append(BadLine(index, reason, _escape(piece[:4096], encoding)))
            continue
        try:
            text = piece.decode(encoding)
        except UnicodeDecodeError as exc:
            reason = f"undecodable: not {encoding} ({exc.reason} at byte {exc.start} of the line)"
            lines.append(BadLine(index, reason, _escape(piece, encoding)))
            continue
        text = text.removesuffix("\r")
        if "\x00" in text:
            lines.append(BadLine(index, "undecodable: line holds a NUL character", text.replace("\x00", "\\x00")))
            continue
        if text.strip():
            lines.append(GoodLine(index, text))
    return len(pieces), lines


def decode_inbox(data: bytes, *, max_line_bytes: int) -> tuple[str, list[GoodLine | BadLine]]:
    """Decode a whole inbox file into lines (its encoding sniffed from its first bytes).

    Blank lines are skipped (their numbers still count). Never raises for any input.

    Returns:
        The encoding used and the lines in file order.
    """
    encoding, bom = sniff_encoding(data)
    _, lines = decode_lines(data[bom:], encoding, max_line_bytes=max_line_bytes)
    return encoding, lines
