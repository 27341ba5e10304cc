"""Reading a recording, whatever it was saved as: JSON lines, Parquet, a DuckDB file, or the predecessor's SQLite.

Bad parts of a recording never stop the rest: each malformed line, truncated last line, unknown
item kind or event too late to reorder becomes a :class:`RecordingProblem` (the replay turns each
into a dead letter) and reading goes on.

Order: events are replayed in time order. A recording written by the service is already in
order; one that was edited or concatenated may not be. Events up to ``reorder_window_s`` older
than the newest event read so far are put back in their place (a stable sort, so equal times
keep their recorded order); an event older than that is refused as a problem, because a replay
that had already moved past its time would have to rewrite history to take it. This is the
watermark rule of stream processors, and it keeps a replay honest about what a live run could
have seen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from sinks._legacy_replay import is_legacy_episodes_db, read_legacy_recording
from sinks._recording_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    ITEM_KINDS,
    Recording,
    RecordingHeader,
    RecordingProblem,
)
from sinks.errors import SinkError
from streams import DecodeError, Event, decode_event

__all__ = ["RecordingError", "read_recording"]

_MAX_LINE = 16 * 1024 * 1024


_EXCHANGE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "key": str,
    "operation": str,
    "backend": str,
    "request": dict,
    "duration_s": (int, float),
}
_EPISODE_FIELDS: dict[str, type | tuple[type, ...]] = {"id": str, "time": str, "type": str}


class RecordingError(SinkError):
    """The file is not a recording at all (not found, or not any format this version reads)."""


def _header_of(obj: Any, where: str, problems: list[RecordingProblem], source: str) -> RecordingHeader:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
        raise RecordingError(f"{where}: not a recording (expected a header with format {FORMAT_NAME!r})")
    version = obj.get("version")
    if not isinstance(version, int) or version < 1:
        raise RecordingError(f"{where}: recording format version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        problems.append(
            RecordingProblem(
                where,
                f"recording format version {version} is newer than this service reads ({FORMAT_VERSION});"
                " items it cannot read are skipped",
            )
        )
    settings = obj.get("settings")
    return RecordingHeader(
        version=version,
        service_version=str(obj.get("service_version", "unknown")),
        created_at=str(obj.get("created_at", "")),
        settings=settings if isinstance(settings, dict) else {},
        source=source,
    )


def _add_item(recording: Recording, kind: Any, body: Any, where: str, raw: str) -> None:
    if kind not in ITEM_KINDS:
        recording.problems.append(RecordingProblem(where, f"unknown item kind {kind!r}", raw[:2000]))
        return
    if kind == "event":
        try:
            recording.events.append(decode_event(json.dumps(body), line_no=0))
        except DecodeError as exc:
            recording.problems.append(RecordingProblem(where, f"event: {exc.reason}", raw[:2000]))
        return
    if not isinstance(body, dict):
        recording.problems.append(RecordingProblem(where, f"{kind}: expected an object", raw[:2000]))
        return
    wanted = _EXCHANGE_FIELDS if kind == "exchange" else _EPISODE_FIELDS
    missing = [name for name, types in wanted.items() if not isinstance(body.get(name), types)]
    if missing:
        recording.problems.append(RecordingProblem(where, f"{kind}: missing or mistyped fields {missing}", raw[:2000]))
        return
    (recording.exchanges if kind == "exchange" else recording.episodes).append(body)


def _lines(path: Path) -> Iterator[tuple[int, bytes | None, int, bool]]:
    """(number, line or ``None`` when longer than the limit, its length, ends with a newline).

    A line is never held whole past the limit: a hostile file with no newline costs at most
    one limit's worth of memory.
    """
    with path.open("rb") as handle:
        number = 0
        while line := handle.readline(_MAX_LINE + 1):
            number += 1
            if len(line) <= _MAX_LINE or line.endswith(b"\n"):
                yield number, line, len(line), line.endswith(b"\n")
                continue
            length = len(line)
            while chunk := handle.readline(_MAX_LINE + 1):
                length += len(chunk)
                if chunk.endswith(b"\n"):
                    break
            yield number, None, length, True


def _read_jsonl(path: Path) -> Recording:
    problems: list[RecordingProblem] = []
    recording: Recording | None = None
    for number, line, length, complete in _lines(path):
        where = f"{path.name}:{number}"
        if line is None or length > _MAX_LINE:
            problems.append(RecordingProblem(where, f"line of {length} bytes is longer than {_MAX_LINE}"))
            continue
        text = line.decode("utf-8", "backslashreplace").strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            if recording is None:
                raise RecordingError(f"{where}: the header is not JSON ({exc})") from exc
            reason = (
                "truncated last line (the writer was stopped while writing it)"
                if not complete
                else f"malformed line: not JSON ({exc})"
            )
            recording.problems.append(RecordingProblem(where, reason, text[:2000]))
            continue
        if recording is None:
            recording = Recording(header=_header_of(obj, where, problems, str(path)), problems=problems)
            continue
        if not isinstance(obj, dict):
            recording.problems.append(RecordingProblem(where, "malformed line: not an object", text[:2000]))
            continue
        kind = obj.get("kind")
        _add_item(recording, kind, obj.get(str(kind)) if isinstance(kind, str) else None, where, text)
    if recording is None:
        raise RecordingError(f"{path}: empty file, not a recording")
    return recording


def _read_parquet(path: Path) -> Recording:
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise RecordingError(f"{path}: not a readable Parquet file ({exc})") from exc
    metadata = table.schema.metadata or {}
    raw_header = metadata.get(FORMAT_NAME.encode())
    if raw_header is None:
        raise RecordingError(f"{path}: Parquet file without a {FORMAT_NAME!r} header in its metadata")
    problems: list[RecordingProblem] = []
    try:
        header_obj = json.loads(raw_header)
    except json.JSONDecodeError as exc:
        raise RecordingError(f"{path}: the header in the metadata is not JSON ({exc})") from exc
    recording = Recording(header=_header_of(header_obj, path.name, problems, str(path)), problems=problems)
    for index, row in enumerate(table.select(["kind", "body"]).to_pylist(), start=1):
        where = f"{path.name}#row{index}"
        body_text = row.get("body") or ""
        try:
            body = json.loads(body_text)
        except (json.JSONDecodeError, TypeError) as exc:
            recording.problems.append(RecordingProblem(where, f"malformed body: {exc}", str(body_text)[:2000]))
            continue
        _add_item(recording, row.get("kind"), body, where, str(body_text))
    return recording


def _read_duckdb(path: Path) -> Recording:
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise RecordingError(f"{path}: cannot open the database ({exc})") from exc
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "events" not in tables:
            raise RecordingError(f"{path}: the database has no events table (recorded before recording existed?)")
        recording = Recording(header=RecordingHeader(source=str(path), service_version="database"))
        rows = con.execute(
            "SELECT json_object('id', id, 'type', type, 'time', strftime(time AT TIME ZONE 'UTC',"
            " '%Y-%m-%dT%H:%M:%S.%f+00:00'), 'source', source, 'payload', payload)::VARCHAR"
            " FROM events ORDER BY time, run_id, seq"
        ).fetchall()
        for index, (text,) in enumerate(rows, start=1):
            _add_item(recording, "event", json.loads(text), f"events#{index}", text)
        if "llm_exchanges" in tables:
            for (text,) in con.execute(
                "SELECT json_object('key', key, 'operation', operation, 'backend', backend, 'request', request,"
                " 'response', response, 'error', error, 'duration_s', duration_s,"
                " 'first_chunk_s', first_chunk_s)::VARCHAR FROM llm_exchanges ORDER BY time, run_id, seq"
            ).fetchall():
                recording.exchanges.append(json.loads(text))
        for (text,) in con.execute(
            "SELECT json_object('id', id, 'time', strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ'),"
            " 'type', type, 'description', description, 'outcome', outcome, 'data', data)::VARCHAR"
            " FROM episodes ORDER BY time, id"
        ).fetchall():
            recording.episodes.append(json.loads(text))
        return recording
    except duckdb.Error as exc:
        raise RecordingError(f"{path}: cannot read the recording tables ({exc})") from exc
    finally:
        con.close()


def _order(recording: Recording, window_s: float) -> None:
    """Apply the reorder window (see the module docstring) and sort events by time, stably."""
    kept: list[Event] = []
    newest: datetime | None = None
    window = timedelta(seconds=window_s)
    for event in recording.events:
        if newest is not None and event.time < newest - window:
            late = (newest - event.time).total_seconds()
            recording.problems.append(
                RecordingProblem(
                    f"event {event.id}",
                    f"out of order: {late:.3f}s older than an earlier event, beyond the {window_s:g}s reorder"
                    " window; not replayed",
                    json.dumps({"id": event.id, "type": event.type, "time": event.time.isoformat()}),
                )
            )
            continue
        newest = event.time if newest is None or event.time > newest else newest
        kept.append(event)
    kept.sort(key=lambda e: e.time)
    recording.events = kept


def _sniff(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head[8:12] == b"DUCK":
        return "duckdb"
    return "jsonl"


def read_recording(
    path: Path,
    *,
    reorder_window_s: float = 60.0,
    since: datetime | None = None,
    until: datetime | None = None,
    legacy_zone: str = "UTC",
) -> Recording:
    """Read any recording into memory, events in replay order.

    Args:
        path: a JSON-lines or Parquet recording, a DuckDB file with an ``events`` table, or the
            predecessor's SQLite ``episodes.db``.
        reorder_window_s: how late an event may be and still be put back in its place.
        since, until: keep events (and episodes) with ``since <= time < until``.
        legacy_zone: the time zone of the predecessor's zone-less times.

    Raises:
        RecordingError: the file is missing or not a recording in any format read here.
    """
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    kind = _sniff(path)
    if kind == "sqlite":
        if not is_legacy_episodes_db(path):
            raise RecordingError(f"{path}: an SQLite file without the predecessor's episodes table")
        recording = read_legacy_recording(path, zone=legacy_zone)
    elif kind == "parquet":
        recording = _read_parquet(path)
    elif kind == "duckdb":
        recording = _read_duckdb(path)
    else:
        recording = _read_jsonl(path)
    _order(recording, reorder_window_s)
    if since is not None or until is not None:
        recording.events = [
            e for e in recording.events if (since is None or e.time >= since) and (until is None or e.time < until)
        ]
        recording.episodes = [e for e in recording.episodes if _in_window(e.get("time"), since, until)]
    return recording


def _in_window(text: Any, since: datetime | None, until: datetime | None) -> bool:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return False
    if moment.tzinfo is None:
        return False
    return (since is None or moment >= since) and (until is None or moment < until)
