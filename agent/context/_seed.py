"""What the memory is seeded with at start: the episodes it would have seen, read back from the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb

from agent._routes import REPLY, USER_TYPES
from sinks import EpisodeRow, SinkError

__all__ = ["CONVERSATION_TYPES", "read_memory_episodes"]

CONVERSATION_TYPES = (*sorted(USER_TYPES), REPLY)
"""The episode types exchanges are made of."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COLUMNS = "id, epoch_us(time) AS t, type, description, outcome, data"


def read_memory_episodes(
    con: duckdb.DuckDBPyConnection, *, recent: int = 200, conversation: int = 1_000
) -> list[EpisodeRow]:
    """The newest ``recent`` episodes and the newest ``conversation`` messages and replies, oldest first.

    Give them to ``BeingMemory.seed(recent=...)``: the recent ones fill its recent episodes, and
    the messages and replies (read apart, so that ticks and file changes do not crowd them out)
    pair into its exchanges. Run it where the connection lives (the writer thread, at start).

    Raises:
        SinkError: the table could not be read.
    """
    marks = ", ".join("?" for _ in CONVERSATION_TYPES)
    cursor = con.cursor()
    try:
        rows = cursor.execute(
            f"(SELECT {_COLUMNS} FROM episodes ORDER BY time DESC, id DESC LIMIT ?) UNION "
            f"(SELECT {_COLUMNS} FROM episodes WHERE type IN ({marks}) ORDER BY time DESC, id DESC LIMIT ?) "
            "ORDER BY t, id",
            [max(recent, 0), *CONVERSATION_TYPES, max(conversation, 0)],
        ).fetchall()
    except duckdb.Error as exc:
        raise SinkError(f"reading the episodes to seed the memory with: {exc}") from exc
    finally:
        cursor.close()
    return [
        EpisodeRow(
            id=r[0],
            time=_EPOCH + timedelta(microseconds=r[1]),
            type=r[2],
            description=r[3],
            outcome=r[4],
            data=json.loads(r[5]) if r[5] else {},
        )
        for r in rows
    ]
