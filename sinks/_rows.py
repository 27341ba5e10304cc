"""The rows the sinks write: episodes and dead letters, and how their ids are derived."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

import orjson

from sinks._mind_rows import GoalRow, MemoryBlockRow, NoteRow, PrincipleRow
from sinks._recording_rows import ExchangeRow, RecordedEventRow, RunRow, SeedPartRow

__all__ = ["Acknowledgement", "DeadLetterRow", "EpisodeRow", "Row", "to_json", "to_json_bytes", "to_json_column"]


_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def to_json_bytes(data: Any) -> bytes:
    """Canonical UTF-8 JSON for a JSON column: sorted keys, compact; NaN becomes null."""
    kind = type(data)
    # an event's payload (read-only) is copied without the ABC check; a dict is taken as it is
    if kind is MappingProxyType or (kind is not dict and isinstance(data, Mapping) and not isinstance(data, dict)):
        data = dict(data)
    return orjson.dumps(data, default=_json_default, option=_JSON_OPTIONS)


_BETWEEN = orjson.Fragment(b"\n")
"""Put between a column's values so one ``orjson.dumps`` of them all can be split again.

orjson writes no raw newline of its own (not without ``OPT_INDENT_2``; one in a text is the
escape ``\\n``), so ``,\\n,`` in its output is only ever this mark between two values.
"""


def to_json_column(values: Sequence[Any]) -> list[str | None]:
    """:func:`to_json_bytes` of each value as text (``None`` stays ``None``), for a batch's JSON column.

    A batch holds one such value per recorded event, so the values are encoded by one
    ``orjson.dumps`` of them all, with a mark between each two (:data:`_BETWEEN`), and the text
    is split at the marks: a third of the cost of a call per value. The column keeps text, not
    orjson's bytes: a bytes object orjson returns keeps the spare room of its buffer, and a
    batch holding thousands of them (until its Arrow column is built) cost about 2 µs a value
    in allocation against 0.07 µs for the decoded text (``docs/performance.md``).

    Raises:
        TypeError: a value orjson cannot encode (``orjson.JSONEncodeError``, as :func:`to_json_bytes`).
    """
    proxy, between = MappingProxyType, _BETWEEN
    marked: list[Any] = []
    add = marked.append
    nones = False
    for value in values:
        kind = type(value)
        if kind is dict:
            add(value)
        elif kind is proxy:
            add(dict(value))
        elif value is None:
            nones = True
            add(None)
        elif isinstance(value, Mapping) and not isinstance(value, dict):  # as to_json_bytes copies it
            add(dict(value))
        else:
            add(value)
        add(between)
    if not marked:
        return []
    text = orjson.dumps(marked, default=_json_default, option=_JSON_OPTIONS).decode()
    out: list[str | None] = list(text[1:-3].split(",\n,"))  # [v1,\n,v2,\n]
    if nones:
        return [None if value is None else encoded for value, encoded in zip(values, out, strict=True)]
    return out


def to_json(data: Any) -> str:
    """Canonical JSON text for the ``data`` column (see :func:`to_json_bytes`)."""
    return to_json_bytes(data).decode("utf-8")


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeRow:
    """One episode: something the being saw or did.

    Args:
        id: stable id (see :func:`streams.stable_id`).
        time: when it happened, UTC.
        type: e.g. ``user.message``, ``heavy_tick.observe``, ``system.start``.
        description: one line for a person.
        outcome: kept exactly as given (``success``, ``failure``, ``fallback``, ``skipped``...).
        data: JSON-compatible details.
        event_id: the event it came from; the sink reports it once the row is committed.
        may_exist: the row may already be stored (a recovered inbox file); the sink then skips
            rows whose id is present instead of writing them twice.
    """

    id: str
    time: datetime
    type: str
    description: str
    outcome: str
    data: Mapping[str, Any] = field(default_factory=dict)
    event_id: str | None = None
    may_exist: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetterRow:
    """Input that could not be processed, kept whole so nothing is lost.

    Args:
        id: stable id.
        time: when it was refused, UTC.
        source: where it came from (``inbox``, ``http``, ``replay``...).
        reason: why, for a person.
        raw: the input as text (undecodable bytes escaped as ``\\xNN``).
        event_id: the event it came from, reported once committed.
        may_exist: as for :class:`EpisodeRow`.
    """

    id: str
    time: datetime
    source: str
    reason: str
    raw: str
    event_id: str | None = None
    may_exist: bool = False


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Nothing to write, but the input of ``event_id`` is done: reported with the batch it rides in.

    A route emits it when an event needs no new row: a recovered message whose reply is already
    stored is acknowledged without being answered again.
    """

    event_id: str


Row = (
    EpisodeRow
    | DeadLetterRow
    | RecordedEventRow
    | ExchangeRow
    | RunRow
    | SeedPartRow
    | Acknowledgement
    | GoalRow
    | MemoryBlockRow
    | NoteRow
    | PrincipleRow
)
"""Everything the batch sink takes (an :class:`Acknowledgement` is reported, not written)."""
