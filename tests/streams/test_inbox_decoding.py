"""Decoding inbox files: UTF-8, UTF-16 with a BOM (the predecessor's real inbox), and garbage."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams import BadLine, GoodLine, decode_inbox, sniff_encoding

LIMIT = 64 * 1024


def test_utf16_fixture_from_the_predecessor(legacy_dir: Path) -> None:
    data = (legacy_dir / "inbox-utf16.txt").read_bytes()
    assert data.startswith(codecs.BOM_UTF16_LE)
    encoding, lines = decode_inbox(data, max_line_bytes=LIMIT)
    assert encoding == "utf-16-le"
    assert lines == [GoodLine(1, "Привет! Расскажи о своих возможностях")]


def test_utf8_lines_with_crlf_and_blank_lines() -> None:
    encoding, lines = decode_inbox("один\r\n\r\ntwo\n\nthree".encode(), max_line_bytes=LIMIT)
    assert encoding == "utf-8"
    assert lines == [GoodLine(1, "один"), GoodLine(3, "two"), GoodLine(5, "three")]


def test_utf8_bom_is_removed() -> None:
    _, lines = decode_inbox(codecs.BOM_UTF8 + b"hi\n", max_line_bytes=LIMIT)
    assert lines == [GoodLine(1, "hi")]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_other_unicode_encodings_with_a_bom(encoding: str) -> None:
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(
        encoding, codecs.BOM_UTF32_LE if encoding == "utf-32-le" else codecs.BOM_UTF32_BE
    )
    data = bom + "ẞ line one\r\nline 😀 two\n".encode(encoding)
    found, lines = decode_inbox(data, max_line_bytes=LIMIT)
    assert found == encoding
    assert lines == [GoodLine(1, "ẞ line one"), GoodLine(2, "line 😀 two")]


def test_utf16_without_bom_is_recognised() -> None:
    assert sniff_encoding("hello\nworld\n".encode("utf-16-le")) == ("utf-16-le", 0)


def test_utf16_newline_inside_a_character_is_not_a_line_break() -> None:
    # U+0A0A encodes as 0x0A 0x0A: a newline byte at an odd offset must not split the line.
    data = codecs.BOM_UTF16_LE + "a\u0a0ab\nc".encode("utf-16-le")
    _, lines = decode_inbox(data, max_line_bytes=LIMIT)
    assert lines == [GoodLine(1, "a\u0a0ab"), GoodLine(2, "c")]


def test_undecodable_line_is_kept_escaped_and_the_rest_survive() -> None:
    _, lines = decode_inbox(b"good\nbad \xff\xfe here\nalso good\n", max_line_bytes=LIMIT)
    assert lines[0] == GoodLine(1, "good")
    assert isinstance(lines[1], BadLine)
    assert lines[1].number == 2
    assert lines[1].reason.startswith("undecodable")
    assert lines[1].raw == "bad \\xff\\xfe here"
    assert lines[2] == GoodLine(3, "also good")


def test_too_long_line() -> None:
    _, lines = decode_inbox(b"x" * 100 + b"\nok\n", max_line_bytes=50)
    assert isinstance(lines[0], BadLine)
    assert lines[0].reason.startswith("too long")
    assert lines[1] == GoodLine(2, "ok")


def test_nul_character_is_refused() -> None:
    _, lines = decode_inbox(b"a\x00b\n", max_line_bytes=LIMIT)
    assert isinstance(lines[0], BadLine)
    assert "NUL" in lines[0].reason


def test_odd_length_utf16_body_gives_a_bad_line() -> None:
    data = codecs.BOM_UTF16_LE + "ok\n".encode("utf-16-le") + b"\x41"
    _, lines = decode_inbox(data, max_line_bytes=LIMIT)
    assert lines[0] == GoodLine(1, "ok")
    assert isinstance(lines[1], BadLine)


@given(st.binary(max_size=2000))
def test_any_bytes_decode_without_raising(data: bytes) -> None:
    _, lines = decode_inbox(data, max_line_bytes=LIMIT)
    numbers = [line.number for line in lines]
    assert numbers == sorted(set(numbers))


@pytest.mark.parametrize(
    "text", [" ", "\t  ", "\u3000", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", " \u200b\t\u2060 ", "\r\r"]
)
def test_a_line_of_only_whitespace_or_zero_width_characters_is_an_empty_dead_letter(text: str) -> None:
    _, lines = decode_inbox(f"before\n{text}\nafter\n".encode(), max_line_bytes=LIMIT)
    assert lines[0] == GoodLine(1, "before") and lines[2] == GoodLine(3, "after")
    assert isinstance(lines[1], BadLine) and lines[1].number == 2
    assert lines[1].reason.startswith("empty: ")
    assert lines[1].raw == text.removesuffix("\r").encode("ascii", "backslashreplace").decode("ascii")


def test_truly_empty_lines_are_skipped_and_counted() -> None:
    _, lines = decode_inbox(b"a\n\n\r\n\r\nb\n", max_line_bytes=LIMIT)
    assert lines == [GoodLine(1, "a"), GoodLine(5, "b")]


def test_zero_width_characters_around_words_are_kept() -> None:
    _, lines = decode_inbox("\u200bhello\u200d\n\ufeff \u2060x\n".encode(), max_line_bytes=LIMIT)
    assert lines == [GoodLine(1, "\u200bhello\u200d"), GoodLine(2, "\ufeff \u2060x")]
