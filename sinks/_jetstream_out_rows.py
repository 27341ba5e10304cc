"""The out sink's work on the writer thread: which episodes wait to be published, their bodies, their record.

The cursor is the table ``out_published`` (one row per episode the out stream acknowledged, or
that is never to be published), beside ``out_streams`` (one row per out stream this database has
fed). See ``sinks/_jetstream_out.py`` for the order of commit → publish → record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import orjson

from sinks._out_floor import Floor, Tail, read_tail
from sinks._outbox import OUTBOX_TYPES, outbox_line

__all__ = ["OutMessage", "pending_after", "pending_messages", "record_published", "shortened", "start_cursor"]

_OUTBOX_SQL = "('user.reply', 'being.message')"
assert {"user.reply", "being.message"} == OUTBOX_TYPES


@dataclass(frozen=True, slots=True)
class OutMessage:
    """One committed episode as it is published: its id (``Nats-Msg-Id``), type, what it answers, body."""

    episode_id: str
    kind: str
    in_reply_to: str | None
    body: bytes
    fields: dict[str, Any]


def start_cursor(con: duckdb.DuckDBPyConnection, stream: str, publish_episodes: bool) -> int:
    """At the sink's start: what was committed before this stream was first fed is marked never to publish.

    On the first start for ``stream`` every unrecorded episode is marked ``before_stream``; when
    ``publish_episodes`` was off at the last start and is on now, the unrecorded episodes of the other
    types (committed while only replies were published) are marked ``skipped``. One transaction;
    returns the episodes marked. The records of episodes no longer in the table (archived) are dropped.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        row = con.execute(
            "SELECT publish_episodes FROM out_streams WHERE stream = ? ORDER BY started_at DESC LIMIT 1", [stream]
        ).fetchone()
        marked = 0
        if row is None:
            marked = _mark(con, "before_stream", "")
            con.execute("INSERT INTO out_streams VALUES (?, now(), ?)", [stream, publish_episodes])
        elif publish_episodes and not row[0]:
            marked = _mark(con, "skipped", f" AND e.type NOT IN {_OUTBOX_SQL}")
            con.execute("UPDATE out_streams SET publish_episodes = true WHERE stream = ?", [stream])
        elif not publish_episodes and row[0]:
            con.execute("UPDATE out_streams SET publish_episodes = false WHERE stream = ?", [stream])
        # the records of episodes archived since (moved out of the table) are no longer needed
        con.execute("DELETE FROM out_published o WHERE NOT EXISTS (SELECT 1 FROM episodes e WHERE e.id = o.episode_id)")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return marked


def _mark(con: duckdb.DuckDBPyConnection, state: str, where: str) -> int:
    row = con.execute(
        "WITH marked AS (INSERT INTO out_published SELECT e.id, e.time, ?, NULL, now() FROM episodes e"
        f" WHERE NOT EXISTS (SELECT 1 FROM out_published o WHERE o.episode_id = e.id){where} RETURNING 1)"
        " SELECT count(*) FROM marked",
        [state],
    ).fetchone()
    return int(row[0]) if row else 0


def pending_messages(con: duckdb.DuckDBPyConnection, *, publish_episodes: bool, limit: int) -> list[OutMessage]:
    """The oldest ``limit`` committed episodes not yet recorded, in commit order, as their messages.

    Commit order is the table's insertion order (``rowid``): one writer thread inserts every batch,
    in the order the batches commit. Without ``publish_episodes`` only replies and being messages.
    """
    where = "" if publish_episodes else f"e.type IN {_OUTBOX_SQL} AND "
    rows = con.execute(
        "SELECT e.id, e.time, e.type, e.outcome, e.description, e.data::VARCHAR FROM episodes e"
        f" WHERE {where}NOT EXISTS (SELECT 1 FROM out_published o WHERE o.episode_id = e.id)"
        " ORDER BY e.rowid LIMIT ?",
        [limit],
    ).fetchall()
    return [_message(*row) for row in rows]


def pending_after(
    con: duckdb.DuckDBPyConnection, floor: Floor | None, *, publish_episodes: bool, limit: int
) -> tuple[list[OutMessage], Tail]:
    """What :func:`pending_messages` returns, read after ``floor`` only (``sinks/_out_floor.py``), and the read.

    The cost follows the episodes after the floor, not the history; ``None`` (at start) derives
    the floor from ``out_published`` first.
    """
    where = "" if publish_episodes else f"e.type IN {_OUTBOX_SQL} AND "
    tail = read_tail(con, floor, where=where, limit=limit)
    return [_message(*row[1:]) for row in tail.rows], tail


def _message(
    episode_id: str, time: datetime, kind: str, outcome: str, description: str, data: str | None
) -> OutMessage:
    details: dict[str, Any] = orjson.loads(data) if data else {}
    if kind in OUTBOX_TYPES:
        body = outbox_line(episode_id, time, kind, outcome, description, details)[:-1]  # the line, not its newline
        fields: dict[str, Any] = orjson.loads(body)
    else:
        fields = {
            "id": episode_id,
            "time": time.isoformat(),
            "type": kind,
            "outcome": outcome,
            "description": description,
            "data": details,
        }
        body = orjson.dumps(fields)
    answers = details.get("event_id") if kind == "user.reply" else None
    return OutMessage(episode_id, kind, answers if isinstance(answers, str) else None, body, fields)


_CUT_FIELDS = ("text", "message", "description")


def _cut(text: str, max_bytes: int) -> str:
    return text.encode()[: max(0, max_bytes)].decode(errors="ignore")  # never half a character


def shortened(message: OutMessage, max_bytes: int) -> bytes:
    """A body of at most ``max_bytes`` for a message too big to publish whole.

    Its long texts (``text``, ``message``, ``description``) are cut at a character boundary and its
    ``data`` left out; ``"truncated": true`` and ``"bytes"`` (the whole body's size) say so. When even
    that does not fit, only ``id``, ``time``, ``type``, ``in_reply_to`` and the two marks remain.
    """
    base = {k: v for k, v in message.fields.items() if k != "data" and k not in _CUT_FIELDS}
    base.update(truncated=True, bytes=len(message.body))
    texts = {k: v for k, v in message.fields.items() if k in _CUT_FIELDS and isinstance(v, str)}
    room = max_bytes - len(orjson.dumps(base)) - 16 * len(texts)
    share = room // max(1, len(texts))
    while share > 0:
        body = orjson.dumps({**base, **{k: _cut(v, share) for k, v in texts.items()}})
        if len(body) <= max_bytes:
            return body
        share = share * 3 // 4  # escapes (control characters, quotes) made the cut text longer than its bytes
    minimal = {k: message.fields.get(k) for k in ("id", "time", "type", "in_reply_to") if k in message.fields}
    body = orjson.dumps({**minimal, "truncated": True, "bytes": len(message.body)})
    if len(body) > max_bytes:
        raise ValueError(f"{message.episode_id}: even its id does not fit in {max_bytes} bytes")
    return body


def record_published(con: duckdb.DuckDBPyConnection, entries: Sequence[tuple[str, str, int | None]]) -> int:
    """Record ``(episode_id, state, stream_seq)`` of acknowledged publishes, once each; one transaction."""
    if not entries:
        return 0
    ids = [e[0] for e in entries]
    states = [e[1] for e in entries]
    seqs = [e[2] for e in entries]
    row = con.execute(
        "WITH given AS (SELECT unnest(?::VARCHAR[]) AS id, unnest(?::VARCHAR[]) AS state,"
        " unnest(?::BIGINT[]) AS seq),"
        " added AS (INSERT INTO out_published SELECT g.id, e.time, g.state, g.seq, now()"
        " FROM given g JOIN episodes e ON e.id = g.id"
        " WHERE NOT EXISTS (SELECT 1 FROM out_published o WHERE o.episode_id = g.id) RETURNING 1)"
        " SELECT count(*) FROM added",
        [ids, states, seqs],
    ).fetchone()
    return int(row[0]) if row else 0
