"""The ids a start seeds the JetStream source with: the newest messages with a ``Nats-Msg-Id``, oldest first.

Rows are made the way the service makes them (``delivery_event`` through the message route) and
stored in a real DuckDB file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent import route_one
from sinks import EpisodeRow, Row, open_database, recent_nats_ids, write_rows
from streams import MessageLimits, delivery_event, message_event, stable_id

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def nats_row(n: int, msg_id: str | None, *, urgent: bool = False) -> Row:
    body = json.dumps({"text": f"message {n}", "urgent": urgent}).encode()
    headers = {"Nats-Msg-Id": msg_id} if msg_id is not None else None
    event = delivery_event(
        body,
        headers,
        stream="BEING_BEING_IN",
        instance="2026-03-01T12:00:00.000001+00:00",
        sequence=n,
        time=T0 + timedelta(seconds=n),
        limits=MessageLimits(),
        recovered=False,
    )
    row = route_one(event)
    assert row is not None
    return row


def test_only_nats_messages_with_a_msg_id_are_read_newest_kept_oldest_first(tmp_path: Path) -> None:
    con = open_database(tmp_path / "being.duckdb")
    try:
        http = route_one(message_event("h-1", urgent=False, text="over http", sender=None, time=T0))
        assert http is not None
        reply = EpisodeRow(
            id="r-1",
            time=T0 + timedelta(seconds=9),
            type="user.reply",
            description="a reply",
            outcome="success",
            data={"event_id": stable_id("nats", "m-3"), "message": "message 3"},
        )
        rows = [
            nats_row(3, "m-3"),
            nats_row(1, "m-1"),
            nats_row(2, None),  # its id is the stream sequence's: not known again after a restart
            nats_row(4, "m-4", urgent=True),
            nats_row(5, "m-5"),
            http,
            reply,
        ]
        write_rows(con, rows)
        assert recent_nats_ids(con, limit=10) == [stable_id("nats", m) for m in ("m-1", "m-3", "m-4", "m-5")]
        assert recent_nats_ids(con, limit=2) == [stable_id("nats", "m-4"), stable_id("nats", "m-5")]
    finally:
        con.close()


def test_an_empty_database_gives_nothing_and_the_limit_is_checked(tmp_path: Path) -> None:
    con = open_database(tmp_path / "being.duckdb")
    try:
        assert recent_nats_ids(con, limit=4096) == []
        with pytest.raises(ValueError, match="limit: expected >= 1, got 0"):
            recent_nats_ids(con, limit=0)
    finally:
        con.close()
