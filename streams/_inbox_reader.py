"""Reading one inbox file line by line, in pieces of at most ``max_bytes``: a file of any size, in bounded memory.

The reader holds at most ``max_bytes`` of the file at once and turns it into lines one at a time,
only when asked (so lines wait on disk, not in memory, while the consumer is busy). A line longer
than ``max_line_bytes`` is skipped to its newline, keeping only its first
:data:`~streams._inbox_decoding.RAW_HEAD_BYTES` bytes for its dead letter. Its last line,
unterminated, is read only when the caller says the file is final.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streams._inbox_decoding import (
    RAW_HEAD_BYTES,
    BadLine,
    GoodLine,
    decode_line,
    escape,
    find_newline,
    sniff_encoding,
    too_long,
    unit_of,
)

__all__ = ["LineReader"]

_SNIFF_BYTES = 512


@dataclass(slots=True)
class _Skipping:
    """A line longer than allowed, being skipped: its number, first bytes and length so far."""

    number: int
    head: bytes = b""
    length: int = 0

    def add(self, piece: bytes) -> None:
        if len(self.head) < RAW_HEAD_BYTES:
            self.head += piece[: RAW_HEAD_BYTES - len(self.head)]
        self.length += len(piece)


class LineReader:
    """The lines of one file, read through ``read(size, offset)`` (``os.pread`` on its descriptor).

    Args:
        read: returns up to ``size`` bytes of the file from ``offset``; ``b""`` at its end.
        max_bytes: the most bytes read (and held) at once; at least ``max_line_bytes + 4``.
        max_line_bytes: a longer line becomes a "too long" :class:`BadLine`.
    """

    def __init__(self, read: Callable[[int, int], bytes], *, max_bytes: int, max_line_bytes: int) -> None:
        if max_bytes < max_line_bytes + 4:
            raise ValueError(f"LineReader.max_bytes: expected >= max_line_bytes + 4, got {max_bytes}")
        self._read = read
        self._max_bytes = max_bytes
        self._max_line_bytes = max_line_bytes
        self.encoding: str | None = None
        self._buffer = b""
        self._at = 0  # file offset of _buffer[0]
        self._cursor = 0  # where the next line starts, in _buffer
        self._number = 1  # that line's number
        self._skipping: _Skipping | None = None

    @property
    def position(self) -> int:
        """The file offset up to which every byte has been turned into lines (or skipped)."""
        return self._at + self._cursor

    def at_end(self, size: int) -> bool:
        """Whether every byte of the file, ``size`` bytes long now, has been turned into lines."""
        return self._skipping is None and self.position >= size and (self.encoding is not None or size == 0)

    def next_line(self, final: Callable[[], bool]) -> GoodLine | BadLine | None:
        """The next line (truly empty ones are skipped), or None when none is complete yet.

        Args:
            final: asked only when the file ends in an unterminated line (or is too short to tell
                its encoding): whether nothing more will be written, so it is read as it is.
        """
        if self.encoding is None and not self._sniff(final):
            return None
        encoding = self.encoding
        assert encoding is not None
        unit = unit_of(encoding)
        while True:
            start = self._cursor
            end = find_newline(self._buffer, encoding, start)
            if end != -1:
                self._cursor = end + unit
                line = self._line(self._buffer[start:end], encoding)
                if line is not None:
                    return line
                continue
            rest = len(self._buffer) - start
            if self._skipping is None and rest - (unit - 1) > self._max_line_bytes:
                # too long even if its last bytes were the start of its newline
                self._skipping = _Skipping(self._number)
            if self._skipping is not None:  # keep only a partial code unit, to stay aligned
                keep = rest % unit
                self._skipping.add(self._buffer[start : len(self._buffer) - keep])
                self._cursor = len(self._buffer) - keep
            if self._fill():
                continue
            if self._cursor == len(self._buffer) and self._skipping is None:
                return None
            if not final():
                return None
            tail = self._buffer[self._cursor :]
            self._cursor = len(self._buffer)
            return self._line(tail, encoding)

    def _line(self, piece: bytes, encoding: str) -> GoodLine | BadLine | None:
        number = self._number
        self._number += 1
        skipped = self._skipping
        if skipped is None:
            return decode_line(number, piece, encoding, max_line_bytes=self._max_line_bytes)
        self._skipping = None
        skipped.add(piece)
        return BadLine(number, too_long(skipped.length, self._max_line_bytes), escape(skipped.head, encoding))

    def _sniff(self, final: Callable[[], bool]) -> bool:
        head = self._read(min(_SNIFF_BYTES, self._max_bytes), 0)
        if not head or (len(head) < 4 and b"\n" not in head and not final()):
            return False  # a BOM may still be being written
        self.encoding, bom = sniff_encoding(head)
        self._at = bom
        return True

    def _fill(self) -> bool:
        """Read the next piece after what is held; False at the end of the file (for now)."""
        keep = self._buffer[self._cursor :]
        data = self._read(self._max_bytes - len(keep), self._at + len(self._buffer))
        self._at += self._cursor
        self._cursor = 0
        self._buffer = keep + data if data else keep
        return bool(data)
