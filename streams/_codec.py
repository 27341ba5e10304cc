"""JSON-lines codec for events: one event per line, UTF-8, times in ISO 8601 UTC.

A line is ``{"id": ..., "type": ..., "time": "2026-01-01T00:00:00.000000+00:00",
"source": ..., "payload": {...}}``. Decoding never raises anything but
:class:`DecodeError`, which says which line and why.

A decoded event is one the sinks can store: its texts are valid Unicode (a JSON ``\\ud800``
escape makes a lone surrogate, which no UTF-8 writer takes), its payload nests at most
:data:`MAX_PAYLOAD_DEPTH` levels, its integers fit in 64 bits and its numbers are finite
(``1e999`` reads as infinity). :func:`json_problem` says why a value is not such a one.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from streams._event import Event
from streams.errors import BeingError

__all__ = [
    "MAX_LINE_BYTES",
    "MAX_PAYLOAD_DEPTH",
    "DecodeError",
    "decode_event",
    "encode_event",
    "json_problem",
    "plain_event",
]

MAX_LINE_BYTES = 1 << 20
"""Longest line the codec accepts (1 MiB); a longer one is hostile or broken."""

MAX_PAYLOAD_DEPTH = 64
"""Deepest nesting of lists and objects a payload may have (the sinks' JSON writer stops at 255)."""

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1

_FIELDS = ("id", "type", "time", "source", "payload")
_FIELD_SET = frozenset(_FIELDS)


class DecodeError(BeingError):
    """A line that is not a valid event.

    Attributes:
        line_no: 1-based line number in its file or stream (0 when unknown).
        reason: what is wrong, for a person.
        raw: the offending line, cut to 200 characters.
    """

    def __init__(self, line_no: int, reason: str, raw: str | bytes) -> None:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        self.line_no = line_no
        self.reason = reason
        self.raw = text[:200]
        super().__init__(f"line {line_no}: {reason}")


def encode_event(event: Event) -> str:
    """Encode one event as a JSON line (no trailing newline), keys in a fixed order."""
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "time": event.time.astimezone(UTC).isoformat(timespec="microseconds"),
            "source": event.source,
            "payload": dict(event.payload),
        },
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=False,
        allow_nan=False,
    )


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _short(path: str) -> str:
    return path if len(path) <= 60 else path[:59] + "…"


_FLOAT_FROM_INT = float(2**63)
"""orjson reads an integer literal beyond 64 bits as a float at least this large (see :func:`plain_event`)."""


def plain_event(obj: object) -> Event | None:
    """The event in ``obj`` when it is plainly valid, else ``None``: then :func:`decode_event` says why.

    ``obj`` is an event line's object as orjson read it (orjson refuses ``NaN``, ``Infinity``,
    lone surrogates and invalid UTF-8, so every text it gives is valid Unicode). This is the
    replay reader's fast way: one parse per line, no second encode, no second check. It
    returns an event only where :func:`decode_event` of the same line gives the same one, and
    ``None`` for anything it is unsure of (the caller then takes the exact way, which also
    makes the message): a problem of any kind, and any float of 2**63 or more, which is how
    orjson reads an integer literal too large for 64 bits (the exact way refuses those).
    """
    if type(obj) is not dict or not obj.keys() <= _FIELD_SET:
        return None
    payload = obj.get("payload", {})
    ident, kind, moment, source = obj.get("id"), obj.get("type"), obj.get("time"), obj.get("source")
    if not (
        type(payload) is dict
        and type(ident) is str
        and ident
        and type(kind) is str
        and kind
        and type(moment) is str
        and moment
        and type(source) is str
        and source
        and _plainly_storable(payload)
    ):
        return None
    try:
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            return None
        time = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return _checked_event(ident, kind, time, source, payload)


_new_object = object.__new__
_set_field = object.__setattr__


def _checked_event(ident: str, kind: str, time: datetime, source: str, payload: dict[str, Any]) -> Event:
    """``Event(...)`` of fields :func:`plain_event` has checked, without checking them again.

    ``Event.__post_init__`` refuses empty texts and a time that is not UTC; plain_event has
    made sure of both, and a replay reader builds a million events this way, where the second
    look cost more than half of each event's making. The payload is copied and frozen as
    ``Event`` freezes it, so the event is the one ``Event(...)`` makes (equal, and as read-only).
    """
    event: Event = _new_object(Event)
    _set_field(event, "id", ident)
    _set_field(event, "type", kind)
    _set_field(event, "time", time)
    _set_field(event, "source", source)
    _set_field(event, "payload", MappingProxyType(dict(payload)))
    return event


def _plainly_storable(payload: dict[str, Any]) -> bool:
    """:func:`json_problem` is ``None`` for ``payload`` (read by orjson), and no float in it could be an integer."""
    stack: list[tuple[Any, int]] = [(payload, 0)]
    while stack:
        item, depth = stack.pop()
        if depth >= MAX_PAYLOAD_DEPTH:
            return False
        members = item.values() if type(item) is dict else item
        for member in members:
            kind = type(member)
            if kind is str or kind is bool or member is None:
                continue
            if kind is int:
                if not _INT_MIN <= member <= _INT_MAX:
                    return False
            elif kind is float:
                if not -_FLOAT_FROM_INT < member < _FLOAT_FROM_INT:  # also false for NaN
                    return False
            elif kind is dict or kind is list:
                stack.append((member, depth + 1))
            else:
                return False
    return True


def _scalar_problem(value: object) -> str | None:
    if isinstance(value, str):
        return None if _valid_unicode(value) else "text is not valid Unicode (a lone surrogate)"
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if _INT_MIN <= value <= _INT_MAX else f"integer {_shown(value)} does not fit in 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"number {value!r} is not finite"
    return f"{type(value).__name__} is not a JSON value"


def json_problem(value: object, where: str = "payload", *, max_depth: int = MAX_PAYLOAD_DEPTH) -> str | None:
    """Why ``value`` (as ``json.loads`` made it) cannot be stored by the sinks, or ``None`` when it can.

    Args:
        value: the decoded JSON value.
        where: its name, the start of the path in the message (``payload.items[3].text``).
        max_depth: the deepest nesting allowed.
    """
    stack: list[tuple[object, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                return f"{_short(path)}: nested deeper than {max_depth} levels"
            if isinstance(item, dict):
                for key, member in item.items():
                    if not isinstance(key, str) or not _valid_unicode(key):
                        return f"{_short(path)}: key {_shown(key)} is not valid Unicode text"
                    stack.append((member, f"{path}.{key}", depth + 1))
            else:
                stack.extend((member, f"{path}[{n}]", depth + 1) for n, member in enumerate(item))
            continue
        problem = _scalar_problem(item)
        if problem is not None:
            return f"{_short(path)}: {problem}"
    return None


def _require_str(obj: dict[str, Any], key: str, line_no: int, raw: str | bytes) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise DecodeError(line_no, f"field {key!r}: expected a non-empty string, got {value!r}", raw)
    if not _valid_unicode(value):
        raise DecodeError(line_no, f"field {key!r}: text is not valid Unicode (a lone surrogate)", raw)
    return value


def _parse_time(text: str, line_no: int, raw: str | bytes) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise DecodeError(line_no, f"field 'time': not an ISO 8601 time: {text!r}", raw) from exc
    if parsed.tzinfo is None:
        raise DecodeError(line_no, f"field 'time': expected a time with a zone, got {text!r}", raw)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        # 0001-01-01T00:00+01:00 is a valid time whose UTC is before year 1
        raise DecodeError(line_no, f"field 'time': {text!r} in UTC is beyond the years 1 to 9999", raw) from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_event(line: str | bytes, line_no: int = 0) -> Event:
    """Decode one JSON line into an :class:`Event`.

    Args:
        line: the line, as text or UTF-8 bytes; a trailing newline is allowed.
        line_no: its 1-based number, for the error message.

    Raises:
        DecodeError: for anything that is not a valid event: too long, not UTF-8,
            not JSON, not an object, missing or mistyped fields, unknown fields, a time whose
            UTC is beyond the years 1 to 9999, or a payload the sinks cannot store
            (see :func:`json_problem`).
    """
    if len(line) > MAX_LINE_BYTES:
        raise DecodeError(line_no, f"line is {len(line)} long, more than the {MAX_LINE_BYTES} allowed", line[:200])
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(line_no, f"not UTF-8 ({exc.reason} at byte {exc.start})", line) from exc
    else:
        text = line
    text = text.rstrip("\r\n")
    if not text.strip():
        raise DecodeError(line_no, "empty line", text)
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise DecodeError(line_no, f"not JSON: {exc}", text) from exc
    if not isinstance(obj, dict):
        raise DecodeError(line_no, f"expected a JSON object, got {type(obj).__name__}", text)
    unknown = sorted(set(obj) - set(_FIELDS))
    if unknown:
        raise DecodeError(line_no, f"unknown fields {unknown}; expected only {list(_FIELDS)}", text)
    payload = obj.get("payload", {})
    if not isinstance(payload, dict):
        raise DecodeError(line_no, f"field 'payload': expected an object, got {type(payload).__name__}", text)
    problem = json_problem(payload)
    if problem is not None:
        raise DecodeError(line_no, f"field {problem}", text)
    time_text = _require_str(obj, "time", line_no, text)
    return Event(
        id=_require_str(obj, "id", line_no, text),
        type=_require_str(obj, "type", line_no, text),
        time=_parse_time(time_text, line_no, text),
        source=_require_str(obj, "source", line_no, text),
        payload=payload,
    )
