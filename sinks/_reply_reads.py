"""What the reply routes ask the database: is a reply stored, and which fallbacks still wait.

Both run on the writer thread (through a writer job), so they see every committed row.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from sinks._sql import one_row, translated

__all__ = ["WaitingReply", "episode_stored", "waiting_replies"]

WaitingReply = dict[str, Any]
"""``{"id", "time", "event_id", "message", "urgent"}`` of a fallback reply with no deferred one yet."""


@translated("episode lookup")
def episode_stored(con: duckdb.DuckDBPyConnection, episode_id: str) -> bool:
    """True when an episode with this id is stored."""
    return one_row(con, "SELECT 1 FROM episodes WHERE id = ? LIMIT 1", [episode_id]) is not None


@translated("waiting replies")
def waiting_replies(con: duckdb.DuckDBPyConnection, *, limit: int) -> list[WaitingReply]:
    """The fallback replies (of a fixed text, not a stale answer) that no deferred reply answers yet, oldest first."""
    sql = """
        SELECT r.id, r.time, r.data::VARCHAR
        FROM episodes r
        WHERE r.type = 'user.reply' AND r.outcome = 'fallback'
          AND json_extract_string(r.data, '$.fallback.kind') = 'value'
          AND NOT EXISTS (
              SELECT 1 FROM episodes d
              WHERE d.type = 'user.reply' AND d.outcome = 'deferred'
                AND json_extract_string(d.data, '$.event_id') = json_extract_string(r.data, '$.event_id')
          )
        ORDER BY r.time, r.id
        LIMIT ?
    """
    rows = con.execute(sql, [limit]).fetchall()
    waiting: list[WaitingReply] = []
    for episode_id, time, data_text in rows:
        data = json.loads(data_text) if data_text else {}
        when: datetime = time
        waiting.append(
            {
                "id": episode_id,
                "time": when,
                "event_id": str(data.get("event_id", "")),
                "message": str(data.get("message", "")),
                "urgent": bool(data.get("urgent", False)),
            }
        )
    return waiting
