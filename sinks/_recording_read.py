"""Reading a recording, whatever it was saved as: JSON lines, Parquet, a DuckDB file, or the predecessor's SQLite.

Bad parts of a recording never stop the rest: each malformed line, truncated last line, item a
replay cannot take (see ``sinks._recording_items``: an event at a time the virtual clock cannot
hold, a repeated id, a duration that is not finite seconds, what the sinks could not store) or
event too late to reorder becomes a :class:`RecordingProblem` (the replay turns each into a
dead letter) and reading goes on.

Seeds: the ``seed`` items (or a database's ``run_seeds`` rows) are put together into one
seed per run (``sinks._recording_seed``); one that does not hold together refuses the whole
recording (:class:`RecordingError`), because a replay must not think with a memory the live
run did not have. They are not cut by ``since``/``until``: a replay gives each event the
latest seed recorded at or before it.

Order: events are replayed in time order. A recording written by the service is already in
order; one that was edited or concatenated may not be. Events up to ``reorder_window_s`` older
than the newest event read so far are put back in their place (a stable sort, so equal times
keep their recorded order); an event older than that is refused as a problem, because a replay
that had already moved past its time would have to rewrite history to take it. This is the
watermark rule of stream processors, and it keeps a replay honest about what a live run could
have seen.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow.parquet as pq

from sinks._legacy_replay import is_legacy_episodes_db, read_legacy_recording
from sinks._recording_format import FORMAT_NAME, FORMAT_VERSION, Recording, RecordingHeader, RecordingProblem
from sinks._recording_items import add_item, cut, screen_events
from sinks._recording_seed import SEED_BODY, SeedError, decode_seeds
from sinks._recording_sql import EVENT_BODY, EXCHANGE_BODY
from sinks.errors import SinkError
from streams import MAX_LINE_BYTES, Event, plain_event

__all__ = ["RecordingError", "read_recording"]

_MAX_LINE = 16 * 1024 * 1024


class RecordingError(SinkError):
    """The file is not a recording at all (not found, or not any format this version reads)."""


def _header_of(obj: Any, where: str, problems: list[RecordingProblem], source: str) -> RecordingHeader:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
        raise RecordingError(f"{where}: not a recording (expected a header with format {FORMAT_NAME!r})")
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
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


_PLAIN_LINE = MAX_LINE_BYTES // 8
"""An event line up to this long (128 KiB) takes the fast way (:func:`_plain_event_line`).

The exact way measures an event by its JSON as ``json.dumps`` writes it again (at most
``MAX_LINE_BYTES``). Written again, a line grows by less than five times at most (``1e15,``
becomes ``1000000000000000.0, ``; a four-byte character ``\\ud83d\\ude00``), so one this
long always fits and the fast way need not measure it.
"""


def _plain_event_line(line: bytes) -> Event | None:
    """The event of a plainly valid event line (``streams.plain_event``), or ``None``: read it the exact way."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict or obj.get("kind") != "event":
        return None
    return plain_event(obj.get("event"))


def _read_jsonl(path: Path) -> Recording:
    problems: list[RecordingProblem] = []
    recording: Recording | None = None
    for number, line, length, complete in _lines(path):
        if recording is not None and line is not None and length <= _PLAIN_LINE:
            event = _plain_event_line(line)
            if event is not None:  # the common line, read once (else the exact way below says what it is)
                recording.events.append(event)
                continue
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
        add_item(recording, kind, obj.get(str(kind)) if isinstance(kind, str) else None, where, text)
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
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise RecordingError(f"{path}: the header in the metadata is not JSON ({exc})") from exc
    recording = Recording(header=_header_of(header_obj, path.name, problems, str(path)), problems=problems)
    missing = [name for name in ("kind", "body") if name not in table.column_names]
    if missing:
        raise RecordingError(f"{path}: a Parquet recording needs the columns kind and body; {missing} missing")
    for index, row in enumerate(table.select(["kind", "body"]).to_pylist(), start=1):
        where = f"{path.name}#row{index}"
        body_text = row.get("body") or ""
        try:
            body = json.loads(body_text)
        except (ValueError, TypeError, RecursionError) as exc:
            recording.problems.append(RecordingProblem(where, f"malformed body: {exc}", str(body_text)[:2000]))
            continue
        add_item(recording, row.get("kind"), body, where, str(body_text))
    return recording


def _add_row(recording: Recording, kind: str, text: str, where: str) -> None:
    """One row of a DuckDB recording, as the JSON object DuckDB built (``NaN`` for a NaN double)."""
    try:
        body = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        recording.problems.append(RecordingProblem(where, f"{kind}: malformed row ({exc})", text[:2000]))
        return
    add_item(recording, kind, body, where, text)


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
        rows = con.execute(f"SELECT {EVENT_BODY}::VARCHAR FROM events ORDER BY time, run_id, seq").fetchall()
        for index, (text,) in enumerate(rows, start=1):
            _add_row(recording, "event", text, f"events#{index}")
        if "llm_exchanges" in tables:
            exchanges = con.execute(
                f"SELECT {EXCHANGE_BODY}::VARCHAR FROM llm_exchanges ORDER BY time, run_id, seq"
            ).fetchall()
            for index, (text,) in enumerate(exchanges, start=1):
                _add_row(recording, "exchange", text, f"llm_exchanges#{index}")
        if "run_seeds" in tables:
            seeds = con.execute(f"SELECT {SEED_BODY}::VARCHAR FROM run_seeds ORDER BY time, run_id, seq").fetchall()
            for index, (text,) in enumerate(seeds, start=1):
                _add_row(recording, "seed", text, f"run_seeds#{index}")
        episodes = con.execute(
            "SELECT json_object('id', id, 'time', strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ'),"
            " 'type', type, 'description', description, 'outcome', outcome, 'data', data)::VARCHAR"
            " FROM episodes ORDER BY time, id"
        ).fetchall()
        for index, (text,) in enumerate(episodes, start=1):
            _add_row(recording, "episode", text, f"episodes#{index}")
        return recording
    except duckdb.Error as exc:
        raise RecordingError(f"{path}: cannot read the recording tables ({exc})") from exc
    finally:
        con.close()


def _order(recording: Recording, window_s: float) -> None:
    """Apply the reorder window (see the module docstring) and sort events by time, stably."""
    kept: list[Event] = []
    newest: datetime | None = None
    oldest_kept = datetime.min.replace(tzinfo=UTC)  # an event before this is too late (none before the first)
    try:
        window = timedelta(seconds=window_s)
    except OverflowError:  # longer than a timedelta holds: no event is too late
        window = timedelta.max
    for event in recording.events:
        moment = event.time
        if moment < oldest_kept and newest is not None:
            late = (newest - moment).total_seconds()
            recording.problems.append(
                RecordingProblem(
                    f"event {cut(event.id)}",
                    f"out of order: {late:.3f}s older than an earlier event, beyond the {window_s:g}s reorder"
                    " window; not replayed",
                    json.dumps({"id": event.id, "type": event.type, "time": moment.isoformat()}),
                )
            )
            continue
        if newest is None or moment > newest:  # the limit moves only with the newest event
            newest = moment
            oldest_kept = _minus(newest, window)
        kept.append(event)
    kept.sort(key=_time_of)
    recording.events = kept


_time_of = attrgetter("time")


def _minus(moment: datetime, window: timedelta) -> datetime:
    """``moment - window``, or the earliest time there is when that is before it (nothing is too late)."""
    try:
        return moment - window
    except OverflowError:
        return datetime.min.replace(tzinfo=moment.tzinfo)


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
        reorder_window_s: how late an event may be and still be put back in its place (seconds,
            finite and >= 0).
        since, until: keep events (and episodes) with ``since <= time < until``.
        legacy_zone: the time zone of the predecessor's zone-less times.

    Raises:
        RecordingError: the file is missing or not a recording in any format read here.
        ValueError: ``reorder_window_s`` is not a finite number >= 0.
    """
    if not (math.isfinite(reorder_window_s) and reorder_window_s >= 0):
        raise ValueError(f"reorder_window_s: expected a finite number of seconds >= 0, got {reorder_window_s!r}")
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    kind = _sniff(path)
    with _collector_paused():
        return _read_kind(path, kind, reorder_window_s, since, until, legacy_zone)


def _read_kind(
    path: Path,
    kind: str,
    reorder_window_s: float,
    since: datetime | None,
    until: datetime | None,
    legacy_zone: str,
) -> Recording:
    """:func:`read_recording` of a file of ``kind`` (what :func:`_sniff` says it is)."""
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
    try:
        recording.seeds = decode_seeds(recording.seed_items)
    except SeedError as exc:
        raise RecordingError(f"{path}: {exc}; a recording whose seed does not hold together is not replayed") from exc
    recording.seed_items = []
    screen_events(recording, payloads_checked=kind != "sqlite")  # the other readers decode with the codec
    _order(recording, reorder_window_s)
    if since is not None or until is not None:
        recording.events = [
            e for e in recording.events if (since is None or e.time >= since) and (until is None or e.time < until)
        ]
        recording.episodes = [e for e in recording.episodes if _in_window(e.get("time"), since, until)]
    return recording


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection while a recording is read.

    Reading makes millions of objects (each event, its payload, each line's parsed object)
    and keeps most of them to the end; parsed JSON holds no reference cycles, so the
    collector found next to nothing to free, yet each of its passes walked the objects read
    so far again (about a quarter of the reading's time). What reading throws away is freed
    by reference counting as it goes; a cycle it might leave (a caught exception's) waits
    for the collector, which is on again (if it was on) once the file is read.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _in_window(text: Any, since: datetime | None, until: datetime | None) -> bool:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return False
    if moment.tzinfo is None:
        return False
    return (since is None or moment >= since) and (until is None or moment < until)
