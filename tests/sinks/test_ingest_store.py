"""The ingest table: each id stored once, in one commit for many, and what a restart must emit again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sinks import (
    EpisodeRow,
    IngestedMessage,
    mark_messages_done,
    open_database,
    pending_messages,
    read_message,
    store_messages,
    write_rows,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def message(n: int, text: str | None = None) -> IngestedMessage:
    return IngestedMessage(
        id=f"{n:032x}",
        client="",
        idempotency_key=f"k{n}",
        received_at=T0 + timedelta(seconds=n),
        type="user.message",
        text=text or f"m{n}",
        sender=None,
    )


def test_a_group_stores_each_id_once_and_a_repeat_gets_the_first_copy(tmp_path: Path) -> None:
    con = open_database(tmp_path / "db.duckdb")
    answers = store_messages(con, [message(1), message(2), message(1, "again")])
    assert [(m.text, new) for m, new in answers] == [("m1", True), ("m2", True), ("m1", False)]
    later = store_messages(con, [message(2, "later"), message(3)])
    assert [(m.text, new) for m, new in later] == [("m2", False), ("m3", True)]
    assert con.execute("SELECT count(*), count(DISTINCT id) FROM ingest").fetchall() == [(3, 3)]


def test_pending_messages_are_those_not_done_oldest_first(tmp_path: Path) -> None:
    con = open_database(tmp_path / "db.duckdb")
    store_messages(con, [message(3), message(1), message(2)])
    mark_messages_done(con, [message(2).id])
    assert [m.id for m in pending_messages(con)] == [message(1).id, message(3).id]
    assert pending_messages(con)[0].received_at == T0 + timedelta(seconds=1)


def test_a_message_is_read_with_its_replies_oldest_first(tmp_path: Path) -> None:
    con = open_database(tmp_path / "db.duckdb")
    store_messages(con, [message(1)])
    replies = [
        EpisodeRow(
            id="r2",
            time=T0 + timedelta(seconds=9),
            type="user.reply",
            description="real",
            outcome="deferred",
            data={"reply": "the real answer"},
        ),
        EpisodeRow(
            id="r1",
            time=T0 + timedelta(seconds=2),
            type="user.reply",
            description="not now",
            outcome="fallback",
            data={"fallback": {"kind": "value"}},
        ),
    ]
    write_rows(con, replies)
    found = read_message(con, message(1).id, ["r1", "r2", "nope"])
    assert found is not None
    stored, read = found
    assert stored.text == "m1"
    assert [(r["id"], r["outcome"], r["text"]) for r in read] == [
        ("r1", "fallback", "not now"),
        ("r2", "deferred", "the real answer"),
    ]
    assert read_message(con, "f" * 32, []) is None
