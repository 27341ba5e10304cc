"""``plain_event``: the replay reader's one-parse way gives the exact way's event, or leaves the line to it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams import DecodeError, Event, decode_event, plain_event


def _exact(line: str) -> Event | None:
    """What the recording reader's exact way makes of an event line's object (``sinks.add_item``)."""
    try:
        body = json.loads(line)
        return decode_event(json.dumps(body))
    except (DecodeError, ValueError, RecursionError):
        return None


def _plain(line: str) -> Event | None:
    try:
        return plain_event(orjson.loads(line))
    except orjson.JSONDecodeError:
        return None


def _same(a: Event, b: Event) -> bool:
    # repr tells 1 from 1.0 and True from 1, which == does not
    return (a.id, a.type, a.time, a.source, repr(dict(a.payload))) == (
        b.id,
        b.type,
        b.time,
        b.source,
        repr(dict(b.payload)),
    )


def _line(payload: str = '{"n": 1}', **fields: str) -> str:
    parts = {"id": '"e1"', "type": '"tick.light"', "time": '"2026-01-01T00:00:00+00:00"', "source": '"ticks"'}
    parts.update(fields)
    inner = ", ".join(f'"{key}": {value}' for key, value in parts.items() if value)
    return "{" + inner + (f', "payload": {payload}' if payload else "") + "}"


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


EDGES = [
    _line(),
    _line(payload=""),
    _line(payload='{"x": 1.5, "y": -0.0, "z": 1e15, "w": 1E5, "v": 12345678901234567890.0}'),
    _line(payload='{"x": 9223372036854775807, "y": -9223372036854775808}'),
    _line(payload='{"x": 9223372036854775808}'),
    _line(payload='{"x": -9223372036854775809}'),
    _line(payload='{"x": 18446744073709551616}'),
    _line(payload='{"x": 9.3e18}'),
    _line(payload='{"x": 1e400}'),
    _line(payload='{"x": NaN}'),
    _line(payload='{"x": Infinity}'),
    _line(payload='{"x": "\\ud800"}'),
    _line(payload='{"\\ud800": 1}'),
    _line(payload='{"x": "caf\\u00e9 \\ud83d\\ude00 ok", "y": [true, false, null, [], {}]}'),
    _line(payload='{"x": 1, "x": "two"}'),
    _line(payload=_nested(63)),
    _line(payload=_nested(64)),
    _line(payload=_nested(65)),
    _line(payload="[1]"),
    _line(payload="null"),
    _line(time='"2026-01-01T00:00:00"'),
    _line(time='"0001-01-01T00:00:00+01:00"'),
    _line(time='"not a time"'),
    _line(time="12"),
    _line(id='""'),
    _line(id="7"),
    _line(source='"\\ud800"'),
    _line(type=""),
    '{"id": "e1", "type": "t", "time": "2026-01-01T00:00:00+00:00", "source": "s", "extra": 1}',
    "[]",
    '"text"',
]


@pytest.mark.parametrize("line", EDGES)
def test_a_plain_event_is_the_exact_one_and_anything_else_is_left_to_the_exact_way(line: str) -> None:
    plain = _plain(line)
    if plain is not None:
        exact = _exact(line)
        assert exact is not None and _same(plain, exact)


def test_the_common_lines_take_the_fast_way() -> None:
    # a fast way that always stepped aside would pass the test above and be worth nothing
    taken = [line for line in EDGES if _plain(line) is not None]
    assert len(taken) >= 6
    assert _plain(_line()) is not None
    assert _plain(_line(payload=_nested(63))) is not None


_texts = st.text(st.characters(blacklist_categories=()), max_size=8)  # lone surrogates too
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | _texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_texts, inner, max_size=4),
    max_leaves=12,
)


@given(payload=st.dictionaries(_texts, _json_values, max_size=5), ident=_texts)
def test_any_payload_gives_the_exact_event_or_is_left_to_the_exact_way(payload: dict[str, Any], ident: str) -> None:
    line = json.dumps(
        {"id": ident, "type": "t", "time": "2026-01-01T00:00:00+00:00", "source": "s", "payload": payload}
    )
    plain = _plain(line)
    if plain is not None:
        exact = _exact(line)
        assert exact is not None and _same(plain, exact)


def test_the_event_is_the_one_event_makes_with_its_payload_copied_and_read_only() -> None:
    obj = orjson.loads(_line(payload='{"n": 1, "items": [1, 2]}', time='"2026-01-01T02:00:00+02:00"'))
    plain = plain_event(obj)
    assert plain is not None
    made = Event(
        id="e1", type="tick.light", time=datetime(2026, 1, 1, tzinfo=UTC), source="ticks", payload=obj["payload"]
    )
    assert plain == made and plain.time.tzinfo is UTC
    obj["payload"]["n"] = 2  # the parsed object changed afterwards: the event keeps what was read
    assert plain.payload["n"] == 1
    with pytest.raises(TypeError):
        plain.payload["n"] = 3  # type: ignore[index]
    with pytest.raises(AttributeError):
        plain.id = "other"  # type: ignore[misc]
