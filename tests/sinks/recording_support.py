"""Shared pieces of the recording tests: a recorded database and the lines of a JSON-lines recording."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sinks import (
    FORMAT_NAME,
    FORMAT_VERSION,
    EpisodeRow,
    ExchangeRow,
    RecordedEventRow,
    RecordingHeader,
    open_database,
    write_rows,
)
from streams import Event, encode_event

T0 = datetime(2026, 2, 21, 12, 0, tzinfo=UTC)


def event(n: int, kind: str = "user.message", at: datetime | None = None) -> Event:
    """An event numbered ``n``, ``n`` seconds after T0 unless ``at`` is given."""
    return Event(
        id=f"e{n}", type=kind, time=at or T0 + timedelta(seconds=n), source="inbox", payload={"text": f"привет {n}"}
    )


def recorded_database(path: Path, events: int = 5) -> Path:
    """A database at ``path`` holding ``events`` recorded events, their episodes and one exchange."""
    con = open_database(path)
    rows: list[object] = []
    for n in range(events):
        e = event(n)
        rows.append(
            RecordedEventRow(run_id="r1", seq=n, id=e.id, time=e.time, type=e.type, source=e.source, payload=e.payload)
        )
        rows.append(
            EpisodeRow(id=f"ep{n}", time=e.time, type="user.reply", description=f"reply {n}", outcome="success")
        )
    rows.append(
        ExchangeRow(
            run_id="r1",
            seq=99,
            time=T0,
            key="k1",
            operation="chat",
            backend="ollama",
            request={"operation": "chat", "messages": [{"role": "user", "content": "hi"}]},
            response={"model": "m", "content": "hello", "done_reason": "stop", "usage": None},
            error=None,
            duration_s=0.5,
            first_chunk_s=None,
        )
    )
    write_rows(con, rows)  # type: ignore[arg-type]
    con.close()
    return path


def header() -> RecordingHeader:
    """The header an export writes in these tests."""
    return RecordingHeader(service_version="1.2.3", created_at="2026-02-22T00:00:00+00:00", settings={"a": 1})


def write_jsonl(path: Path, lines: list[str], *, last_newline: bool = True) -> Path:
    """``lines`` written to ``path`` as JSON lines (the last one ended or not)."""
    path.write_text("\n".join(lines) + ("\n" if last_newline else ""), encoding="utf-8")
    return path


def head(version: int = FORMAT_VERSION) -> str:
    """A recording's header line of format ``version``."""
    return json.dumps({"format": FORMAT_NAME, "version": version, "service_version": "x", "settings": {}})


def item(e: Event) -> str:
    """A recording's line holding the event ``e``."""
    return json.dumps({"kind": "event", "event": json.loads(encode_event(e))})


def event_line(event_id: str, time: str, kind: str = "tick.heavy", **payload: object) -> str:
    """A recording's line holding an event built field by field (times and payloads the codec would not make)."""
    body = {"id": event_id, "type": kind, "time": time, "source": "ticks", "payload": payload}
    return json.dumps({"kind": "event", "event": body})


def exchange_line(**changes: object) -> str:
    """A recording's line holding a sound LLM exchange, with ``changes`` applied."""
    body: dict[str, object] = {
        "key": "k",
        "operation": "chat",
        "backend": "ollama",
        "request": {"messages": []},
        "response": {"content": "hello"},
        "error": None,
        "duration_s": 0.5,
        "first_chunk_s": None,
    }
    body.update(changes)
    return json.dumps({"kind": "exchange", "exchange": body})
