"""Episodes that should have a vector and do not: what a crash between the two writes left behind."""

from __future__ import annotations

import json
from collections.abc import Collection

import duckdb

from sinks._rows import EpisodeRow

__all__ = ["episodes_missing_vectors"]


def episodes_missing_vectors(
    con: duckdb.DuckDBPyConnection, *, embedder: str, types: Collection[str], limit: int = 10_000
) -> list[EpisodeRow]:
    """Episodes of ``types`` with no vector of ``embedder``, from an hour before its newest vector on.

    Older episodes without a vector were evicted by cleanup on purpose (or predate the embedder)
    and are left alone; a database with no vector of this embedder yet gets its newest ``limit``.
    """
    if not types:
        return []
    marks = ", ".join("?" for _ in types)
    rows = con.execute(
        f"""
        WITH newest AS (SELECT max(created_at) AS at FROM vectors WHERE embedder = ?)
        SELECT e.id, e.time, e.type, e.description, e.outcome, e.data::VARCHAR
        FROM episodes e, newest
        WHERE e.type IN ({marks})
          AND (newest.at IS NULL OR e.time >= newest.at - INTERVAL 1 HOUR)
          AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.episode_id = e.id AND v.embedder = ?)
        ORDER BY e.time DESC
        LIMIT ?
        """,
        [embedder, *types, embedder, limit],
    ).fetchall()
    return [
        EpisodeRow(id=r[0], time=r[1], type=r[2], description=r[3], outcome=r[4], data=json.loads(r[5]) if r[5] else {})
        for r in reversed(rows)
    ]
