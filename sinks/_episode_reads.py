"""The read side of episodes, shared by the HTTP routes and the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

__all__ = ["EPISODES_MAX_LIMIT", "EpisodeQuery", "read_episodes"]

EPISODES_MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeQuery:
    """Filters for :func:`read_episodes`; newest first.

    Raises:
        ValueError: ``limit`` outside 1..10,000 or a naive ``since``.
    """

    type: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= EPISODES_MAX_LIMIT:
            raise ValueError(f"limit: expected 1 to {EPISODES_MAX_LIMIT}, got {self.limit}")
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError(f"since: expected a time with a zone, got {self.since.isoformat()}")


def read_episodes(con: duckdb.DuckDBPyConnection, query: EpisodeQuery) -> list[dict[str, Any]]:
    """Episodes matching ``query``, newest first, as JSON-ready dicts (time in ISO 8601 UTC)."""
    where: list[str] = []
    params: list[Any] = []
    if query.type is not None:
        where.append("type = ?")
        params.append(query.type)
    if query.outcome is not None:
        where.append("outcome = ?")
        params.append(query.outcome)
    if query.since is not None:
        where.append("time >= ?")
        params.append(query.since)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    sql = (
        "SELECT id, strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ'), type, description, outcome, data "
        f"FROM episodes {clause} ORDER BY time DESC, id LIMIT ?"
    )
    rows = con.execute(sql, [*params, query.limit]).fetchall()
    return [
        {
            "id": r[0],
            "time": r[1],
            "type": r[2],
            "description": r[3],
            "outcome": r[4],
            "data": json.loads(r[5]) if r[5] else {},
        }
        for r in rows
    ]
