"""Reading claims in pieces of at most max_bytes: backlogs of any size, over-long lines, the exact boundaries."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.settings import SettingsError, load_settings
from streams import INVALID_INPUT, BadLine, GoodLine, InboxPolicy, sniff_encoding
from streams._inbox_decoding import decode_lines
from streams._inbox_reader import LineReader
from tests.streams.inbox_support import QUIET, Harness


class Reads:
    """A file in memory read like ``os.pread``, remembering the sizes asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sizes: list[int] = []

    def __call__(self, size: int, offset: int) -> bytes:
        self.sizes.append(size)
        return self.data[offset : offset + size]


def read_all(data: bytes, *, max_bytes: int, max_line_bytes: int) -> list[GoodLine | BadLine]:
    reader = LineReader(Reads(data), max_bytes=max_bytes, max_line_bytes=max_line_bytes)
    lines: list[GoodLine | BadLine] = []
    while (line := reader.next_line(lambda: True)) is not None:
        lines.append(line)
    assert reader.at_end(len(data))
    return lines


def test_a_backlog_larger_than_max_bytes_is_read_whole(tmp_path: Path) -> None:
    # As 36,000 messages (2.2 MB) against the default 1 MiB were; smaller here to stay fast.
    path = tmp_path / "inbox.txt"
    messages = [f"message number {n:05d} from the backlog, some sixty bytes long" for n in range(6_000)]
    path.write_text("".join(f"{m}\n" for m in messages), encoding="utf-8")
    policy = InboxPolicy(max_bytes=128 * 1024, max_pending_events=10_000, quiet_s=QUIET)
    assert path.stat().st_size > 2 * policy.max_bytes
    events = Harness(path, policy).tick(1.0)
    assert [e.payload["text"] for e in events] == messages
    assert sorted(p.name.rsplit(".", 1)[-1] for p in tmp_path.iterdir()) == ["claimed"]


def test_reads_never_ask_for_more_than_max_bytes() -> None:
    data = b"".join(b"line %05d\n" % n for n in range(2000)) + b"y" * 5000 + b"\nlast\n"
    reads = Reads(data)
    reader = LineReader(reads, max_bytes=256, max_line_bytes=100)
    count = 0
    while reader.next_line(lambda: True) is not None:
        count += 1
    assert count == 2002
    assert max(reads.sizes) <= 256


def test_an_over_long_line_is_skipped_to_its_newline_keeping_its_first_bytes() -> None:
    long_line = (bytes(range(256)) * 20_000).replace(b"\n", b"x")  # 5 MB, all byte values but the newline
    data = b"before\n" + long_line + b"\nafter\n"
    lines = read_all(data, max_bytes=8192, max_line_bytes=100)
    assert lines[0] == GoodLine(1, "before")
    bad = lines[1]
    assert isinstance(bad, BadLine) and bad.number == 2
    assert bad.reason == f"too long: {len(long_line)} bytes, more than the 100 allowed"
    assert bad.raw == long_line[:4096].decode("utf-8", "backslashreplace")
    assert lines[2] == GoodLine(3, "after")


def test_an_over_long_line_becomes_one_dead_letter_in_the_inbox(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_bytes(b"ok\n" + b"z" * 50_000 + b"\nstill ok\n")
    harness = Harness(path, InboxPolicy(max_bytes=2048, max_line_bytes=1000, quiet_s=QUIET))
    events = harness.tick(1.0)
    assert [e.type for e in events] == ["user.message", INVALID_INPUT, "user.message"]
    assert events[1].payload["reason"] == "too long: 50000 bytes, more than the 1000 allowed"
    assert events[1].payload["raw"] == "z" * 4096


@pytest.mark.parametrize("length", [99, 100, 101])
@pytest.mark.parametrize("max_bytes", [104, 105, 1000])
def test_max_line_bytes_boundary(length: int, max_bytes: int) -> None:
    data = b"a\n" + b"x" * length + b"\nb\n" + b"y" * length  # the last line unterminated
    lines = read_all(data, max_bytes=max_bytes, max_line_bytes=100)
    assert lines[0] == GoodLine(1, "a") and lines[2] == GoodLine(3, "b")
    for line in (lines[1], lines[3]):
        if length <= 100:
            assert isinstance(line, GoodLine) and len(line.text) == length
        else:
            assert isinstance(line, BadLine)
            assert line.reason == "too long: 101 bytes, more than the 100 allowed"


def test_a_line_with_crlf_counts_its_cr() -> None:
    lines = read_all(b"x" * 100 + b"\r\n" + b"y" * 99 + b"\r\n", max_bytes=104, max_line_bytes=100)
    assert isinstance(lines[0], BadLine) and lines[0].reason.startswith("too long: 101 bytes")
    assert lines[1] == GoodLine(2, "y" * 99)


@pytest.mark.parametrize("size", [1023, 1024, 1025])
def test_max_bytes_boundary_files_are_read_whole(tmp_path: Path, size: int) -> None:
    body = b"".join(b"%09d\n" % n for n in range(size // 10))
    data = body + b"t" * (size - len(body))  # unterminated tail makes up the size
    assert len(data) == size
    path = tmp_path / "inbox.txt"
    path.write_bytes(data)
    harness = Harness(path, InboxPolicy(max_bytes=1024, max_line_bytes=100, quiet_s=QUIET))
    texts = [str(e.payload["text"]) for e in harness.tick(1.0) + harness.tick(1.0 + QUIET)]
    assert texts == [f"{n:09d}" for n in range(size // 10)] + (["t" * (size % 10)] if size % 10 else [])


@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_a_newline_at_the_edge_of_a_read(shift: int) -> None:
    # The second line's newline is the last byte of the first read (shift 0), the one before
    # it (-1), or the first byte of the next read (+1).
    first = b"f" * (3 + shift)
    data = first + b"\n" + b"s" * 99 + b"\n" + b"third\n"
    lines = read_all(data, max_bytes=104, max_line_bytes=100)
    assert lines == [GoodLine(1, first.decode()), GoodLine(2, "s" * 99), GoodLine(3, "third")]


def test_empty_and_one_byte_claims(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    for n, data in enumerate([b"", b"x", b"\n", b"\xff", b" "]):
        (tmp_path / f"inbox.txt.2020010{n}T000000000000Z.claimed").write_bytes(data)
    harness = Harness(path)
    assert harness.tick(1.0) == []  # nothing is complete: a one-byte line waits until final
    events = harness.tick(1.0 + QUIET)
    assert [(e.payload["claim"][10:18], e.type, e.payload.get("text")) for e in events] == [
        ("20200101", "user.message", "x"),
        ("20200103", INVALID_INPUT, None),
        ("20200104", INVALID_INPUT, None),
    ]
    assert str(events[1].payload["reason"]).startswith("undecodable")
    assert str(events[2].payload["reason"]).startswith("empty:")
    assert len(harness.claimed()) == 3  # the empty file and the lone newline are let go of
    harness.ack(events)
    harness.tick(2.0 + QUIET)
    assert harness.claimed() == []


def test_a_bom_still_being_written_waits() -> None:
    reads = Reads(codecs.BOM_UTF16_LE[:1])
    reader = LineReader(reads, max_bytes=104, max_line_bytes=100)
    assert reader.next_line(lambda: False) is None
    assert reader.encoding is None
    reads.data = codecs.BOM_UTF16_LE + "hi\n".encode("utf-16-le")
    assert reader.next_line(lambda: False) == GoodLine(1, "hi")
    assert reader.encoding == "utf-16-le"


def test_max_bytes_must_hold_the_longest_line() -> None:
    with pytest.raises(ValueError, match=r"max_bytes: expected >= max_line_bytes \+ 4 = 104"):
        InboxPolicy(max_bytes=103, max_line_bytes=100)
    InboxPolicy(max_bytes=104, max_line_bytes=100)


def test_the_settings_refuse_a_max_bytes_smaller_than_a_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[inbox]\nmax_bytes = 2048\nmax_line_bytes = 4096\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="max_line_bytes"):
        load_settings(config, env={})


_ENCODINGS = ["utf-8", "utf-16-le", "utf-16-be", "utf-32-le"]


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(st.text(alphabet=st.sampled_from("ab \r\u00e9\u200b\U0001f600"), max_size=12), max_size=12),
    garbage=st.binary(max_size=6),
    encoding=st.sampled_from(_ENCODINGS),
    bom=st.booleans(),
    terminated=st.booleans(),
    max_line_bytes=st.integers(min_value=1, max_value=40),
    slack=st.integers(min_value=4, max_value=30),
)
def test_reading_in_pieces_gives_what_reading_whole_gives(
    lines: list[str],
    garbage: bytes,
    encoding: str,
    bom: bool,
    terminated: bool,
    max_line_bytes: int,
    slack: int,
) -> None:
    boms = {"utf-8": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}
    head = boms.get(encoding, codecs.BOM_UTF32_LE) if bom else b""
    body = "\n".join(lines).encode(encoding) + garbage + ("\n".encode(encoding) if terminated else b"")
    data = head + body
    max_bytes = max_line_bytes + slack
    found, bom_length = sniff_encoding(data[: min(512, max_bytes)])  # the reader sniffs one read
    _, whole = decode_lines(data[bom_length:], found, max_line_bytes=max_line_bytes)
    pieces = read_all(data, max_bytes=max_bytes, max_line_bytes=max_line_bytes)
    assert pieces == whole


@pytest.mark.parametrize("length", [99, 100, 101])
def test_max_line_bytes_boundary_in_the_inbox(tmp_path: Path, length: int) -> None:
    path = tmp_path / "inbox.txt"
    path.write_bytes(b"x" * length + b"\n")
    (event,) = Harness(path, InboxPolicy(max_line_bytes=100, quiet_s=QUIET)).tick(1.0)
    assert event.type == ("user.message" if length <= 100 else INVALID_INPUT)
