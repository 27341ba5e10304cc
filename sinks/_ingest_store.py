"""The ``ingest`` table: messages sent over HTTP, committed before the service answers 202.

A message is stored once per id (the id derives from the client's ``Idempotency-Key``, so a
retried POST finds its first copy instead of storing a second), is ``done`` once its reply (or,
with replies off, its episode) is stored, and a restart emits again the ones not done. Every
function here runs on the writer thread (through a writer job), or on a read cursor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from sinks._sql import translated

__all__ = [
    "IngestedMessage",
    "mark_messages_done",
    "pending_messages",
    "read_message",
    "reply_text",
    "store_message",
    "store_messages",
]

_COLUMNS = "id, client, idempotency_key, received_at, type, text, sender, done"


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestedMessage:
    """One message sent over HTTP, as stored.

    Args:
        id: the message's event id (32 hex digits).
        client: who sent it (the scope of its idempotency key).
        idempotency_key: the key it was sent with (``None``: none).
        received_at: when the service took it (the scheduler's clock), UTC.
        type: ``user.message`` or ``user.urgent``.
        text: the message.
        sender: who is talking, as the body said (``None``: not said).
        done: its reply (or, with replies off, its episode) is stored.
    """

    id: str
    client: str
    idempotency_key: str | None
    received_at: datetime
    type: str
    text: str
    sender: str | None
    done: bool = False

    def same_request(self, other: IngestedMessage) -> bool:
        """Whether ``other`` says the same as this message (what a retry with the same key must do)."""
        return (self.type, self.text, self.sender) == (other.type, other.text, other.sender)


def _message(row: Sequence[Any]) -> IngestedMessage:
    id_, client, key, received_at, type_, text, sender, done = row
    return IngestedMessage(
        id=id_,
        client=client,
        idempotency_key=key,
        received_at=received_at,
        type=type_,
        text=text,
        sender=sender,
        done=bool(done),
    )


@translated("store messages")
def store_messages(
    con: duckdb.DuckDBPyConnection, messages: Sequence[IngestedMessage], *, done: Sequence[str] = ()
) -> list[tuple[IngestedMessage, bool]]:
    """Insert each message whose id is not stored, in one transaction; returns (the stored one, whether new) each.

    Several messages share one commit (a group commit: the WAL is synced once for all of them).
    A message whose id is stored, or came earlier in ``messages``, is not inserted: its first copy
    answers. When this returns, every new message survives a kill. The messages of ``done`` are
    marked done in the same transaction (their replies are stored).
    """
    if not messages and not done:
        return []
    ids = sorted({m.id for m in messages})
    con.execute("BEGIN TRANSACTION")
    try:
        mark_messages_done(con, done)
        rows = con.execute(f"SELECT {_COLUMNS} FROM ingest WHERE id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()
        known = {row[0]: _message(row) for row in rows}
        answers: list[tuple[IngestedMessage, bool]] = []
        new: list[IngestedMessage] = []
        for message in messages:
            first = known.get(message.id)
            if first is not None:
                answers.append((first, False))
                continue
            known[message.id] = message
            new.append(message)
            answers.append((message, True))
        if new:
            table = pa.table(
                {
                    "id": pa.array([m.id for m in new], pa.string()),
                    "client": pa.array([m.client for m in new], pa.string()),
                    "idempotency_key": pa.array([m.idempotency_key for m in new], pa.string()),
                    "received_at": pa.array([m.received_at for m in new], pa.timestamp("us", tz="UTC")),
                    "type": pa.array([m.type for m in new], pa.string()),
                    "text": pa.array([m.text for m in new], pa.string()),
                    "sender": pa.array([m.sender for m in new], pa.string()),
                }
            )
            con.register("_ingest_batch", table)
            try:
                con.execute(
                    "INSERT INTO ingest (id, client, idempotency_key, received_at, type, text, sender, done)"
                    " SELECT id, client, idempotency_key, received_at, type, text, sender, false FROM _ingest_batch"
                )
            finally:
                con.unregister("_ingest_batch")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return answers


def store_message(con: duckdb.DuckDBPyConnection, message: IngestedMessage) -> tuple[IngestedMessage, bool]:
    """:func:`store_messages` of one message."""
    return store_messages(con, [message])[0]


@translated("pending messages")
def pending_messages(con: duckdb.DuckDBPyConnection, *, limit: int | None = None) -> list[IngestedMessage]:
    """The messages not done yet, oldest first (what a restart emits again as recovered)."""
    sql = f"SELECT {_COLUMNS} FROM ingest WHERE NOT done ORDER BY received_at, id"
    rows = con.execute(sql + (" LIMIT ?" if limit is not None else ""), [] if limit is None else [limit]).fetchall()
    return [_message(row) for row in rows]


@translated("mark messages done")
def mark_messages_done(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> None:
    """Mark the messages of ``ids`` done (their reply is stored); one transaction."""
    if ids:
        con.execute("UPDATE ingest SET done = true WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)])


def reply_text(outcome: str, description: str, data: dict[str, Any]) -> str:
    """The text a person reads of a reply or a being's message episode (its whole text where ``data`` holds it)."""
    for key in ("reply", "text"):
        value = data.get(key)
        if isinstance(value, str) and (key == "text" or outcome in ("success", "deferred")):
            return value
    return description


@translated("read message")
def read_message(
    con: duckdb.DuckDBPyConnection, message_id: str, reply_ids: Sequence[str]
) -> tuple[IngestedMessage, list[dict[str, Any]]] | None:
    """The message of ``message_id`` and its stored replies (of the episode ids ``reply_ids``), oldest first."""
    rows = con.execute(f"SELECT {_COLUMNS} FROM ingest WHERE id = ?", [message_id]).fetchall()
    if not rows:
        return None
    found = con.execute(
        "SELECT id, time, outcome, description, data::VARCHAR FROM episodes"
        " WHERE id IN (SELECT unnest(?::VARCHAR[])) AND type = 'user.reply' ORDER BY time, id",
        [list(reply_ids)],
    ).fetchall()
    replies = [
        {
            "id": id_,
            "time": time.isoformat(),
            "outcome": outcome,
            "text": reply_text(outcome, description, json.loads(data) if data else {}),
        }
        for id_, time, outcome, description, data in found
    ]
    return _message(rows[0]), replies
