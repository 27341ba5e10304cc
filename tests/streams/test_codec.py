"""The JSON-lines event codec: round trips, and a typed error for every malformed line."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams import MAX_LINE_BYTES, DecodeError, Event, decode_event, encode_event

T0 = datetime(2026, 2, 21, 11, 52, 14, 123456, tzinfo=UTC)


def event(**changes: object) -> Event:
    fields: dict[str, object] = {
        "id": "e1",
        "type": "user.message",
        "time": T0,
        "source": "inbox",
        "payload": {"text": "Привет", "n": 1, "nested": {"a": [1, 2.5, None, True]}},
    }
    fields.update(changes)
    return Event(**fields)  # type: ignore[arg-type]


def test_round_trip() -> None:
    original = event()
    assert decode_event(encode_event(original)) == original


def test_encoding_is_one_line_with_fixed_key_order() -> None:
    line = encode_event(event())
    assert "\n" not in line
    assert list(json.loads(line)) == ["id", "type", "time", "source", "payload"]
    assert json.loads(line)["time"] == "2026-02-21T11:52:14.123456+00:00"


def test_bytes_and_trailing_newline_are_accepted() -> None:
    assert decode_event((encode_event(event()) + "\r\n").encode("utf-8")) == event()


def test_times_in_other_zones_become_utc() -> None:
    line = json.dumps({"id": "x", "type": "t", "time": "2026-02-21T14:52:14+03:00", "source": "s", "payload": {}})
    assert decode_event(line).time == datetime(2026, 2, 21, 11, 52, 14, tzinfo=UTC)


def test_event_refuses_naive_and_non_utc_times() -> None:
    with pytest.raises(ValueError, match="UTC"):
        event(time=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="UTC"):
        event(time=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=3))))


def test_payload_is_read_only() -> None:
    with pytest.raises(TypeError):
        event().payload["text"] = "changed"  # type: ignore[index]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "empty line"),
        ("   ", "empty line"),
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('"text"', "expected a JSON object, got str"),
        ('{"type": "t", "time": "2026-01-01T00:00:00Z", "source": "s"}', "field 'id'"),
        ('{"id": 5, "type": "t", "time": "2026-01-01T00:00:00Z", "source": "s"}', "field 'id'"),
        ('{"id": "x", "type": "", "time": "2026-01-01T00:00:00Z", "source": "s"}', "field 'type'"),
        ('{"id": "x", "type": "t", "time": "yesterday", "source": "s"}', "not an ISO 8601 time"),
        ('{"id": "x", "type": "t", "time": "2026-01-01T00:00:00", "source": "s"}', "with a zone"),
        ('{"id": "x", "type": "t", "time": "2026-01-01T00:00:00Z", "source": "s", "payload": [1]}', "field 'payload'"),
        ('{"id": "x", "type": "t", "time": "2026-01-01T00:00:00Z", "source": "s", "extra": 1}', "unknown fields"),
        ('{"id": "x", "type": "t", "time": "2026-01-01T00:00:00Z", "source": "s", "payload": {"v": NaN}}', "NaN"),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
    ],
)
def test_malformed_lines_give_a_typed_error_with_the_line_number(line: str, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_event(line, line_no=7)
    assert info.value.line_no == 7
    assert reason in info.value.reason
    assert str(info.value).startswith("line 7: ")


def test_invalid_utf8_bytes() -> None:
    with pytest.raises(DecodeError, match="not UTF-8"):
        decode_event(b'{"id": "\xff"}', line_no=3)


def test_oversized_line() -> None:
    with pytest.raises(DecodeError, match="more than"):
        decode_event("x" * (MAX_LINE_BYTES + 1), line_no=1)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_else(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_event(data, line_no=1)


@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_anything_else(text: str) -> None:
    with contextlib.suppress(DecodeError):
        decode_event(text, line_no=1)


def line_with(**fields: object) -> str:
    base: dict[str, object] = {"id": "x", "type": "t", "time": "2026-01-01T00:00:00Z", "source": "s", "payload": {}}
    return json.dumps({**base, **fields})


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        # valid times whose UTC is before year 1 or after 9999 (they crashed with OverflowError)
        (line_with(time="0001-01-01T00:00:00+01:00"), "beyond the years 1 to 9999"),
        (line_with(time="9999-12-31T23:59:59-01:00"), "beyond the years 1 to 9999"),
        # what the sinks cannot store (each crashed the sink's batch, losing it)
        (line_with(payload={"n": json.loads("[" * 300 + "]" * 300)}), "nested deeper than 64 levels"),
        (line_with(payload={"n": 10**30}), "field payload.n: integer 1000000000000000000000000000000 does not fit"),
        (line_with(payload={"n": [1, -(2**63) - 1]}), "field payload.n[1]: integer"),
        (
            '{"id": "x", "type": "t", "time": "2026-01-01T00:00:00Z", "source": "s", "payload": {"v": 1e999}}',
            "not finite",
        ),
        (
            '{"id": "x", "type": "t", "time": "2026-01-01T00:00:00Z", "source": "s", "payload": {"t": "\\ud800"}}',
            "payload.t: text is not valid Unicode",
        ),
        (
            '{"id": "x", "type": "t", "time": "2026-01-01T00:00:00Z", "source": "s", "payload": {"\\udfff": 1}}',
            "is not valid Unicode",
        ),
        (
            '{"id": "\\ud800", "type": "t", "time": "2026-01-01T00:00:00Z", "source": "s"}',
            "field 'id': text is not valid",
        ),
    ],
)
def test_times_and_payloads_the_service_cannot_hold_are_decode_errors(line: str, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_event(line, line_no=4)
    assert reason in info.value.reason


def test_the_edges_of_what_can_be_held_still_decode() -> None:
    first = decode_event(line_with(time="0001-01-01T00:00:00+00:00"))
    assert first.time == datetime(1, 1, 1, tzinfo=UTC)
    last = decode_event(line_with(time="9999-12-31T23:59:59.999999+00:00"))
    assert last.time == datetime.max.replace(tzinfo=UTC)
    deep: object = "leaf"
    for _ in range(63):
        deep = [deep]
    held = decode_event(line_with(payload={"n": deep, "big": 2**63 - 1, "small": -(2**63), "nul": "a\x00b"}))
    assert held.payload["big"] == 2**63 - 1
