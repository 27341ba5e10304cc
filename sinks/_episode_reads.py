"""The read side of episodes, shared by the routes, the HTTP queries and the CLI.

Reads can include the Parquet archive (see :mod:`sinks._archive`): the archive is read with
``read_parquet`` beside the table, and an episode present in both (a run of the archival cut
off before its delete) is returned once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from sinks._archive import archive_files
from sinks._sql import scalar, translated, where_clause

__all__ = ["EPISODES_MAX_LIMIT", "EPISODE_TEXT_MAX_CHARS", "EpisodeQuery", "count_similar", "read_episodes"]

EPISODES_MAX_LIMIT = 10_000
EPISODE_TEXT_MAX_CHARS = 200

_COLUMNS = "id, time, type, description, outcome, data::VARCHAR AS data"


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeQuery:
    """Filters for :func:`read_episodes`; newest first.

    Args:
        type: only this type.
        outcome: only this outcome (kept exactly as written: ``success``, ``unknown``...).
        since: only at or after this time (with a zone).
        text: only episodes whose description contains this text (case-insensitive).
        limit: at most this many, 1 to 10,000.
        include_archive: read the Parquet archive too.

    Raises:
        ValueError: ``limit`` outside 1..10,000, a naive ``since``, or an over-long ``text``.
    """

    type: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    text: str | None = None
    limit: int = 50
    include_archive: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= EPISODES_MAX_LIMIT:
            raise ValueError(f"limit: expected 1 to {EPISODES_MAX_LIMIT}, got {self.limit}")
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError(f"since: expected a time with a zone, got {self.since.isoformat()}")
        if self.text is not None and len(self.text) > EPISODE_TEXT_MAX_CHARS:
            raise ValueError(f"text: expected at most {EPISODE_TEXT_MAX_CHARS} characters, got {len(self.text)}")


def _source(include_archive: bool, archive_dir: Path | None) -> str:
    """The FROM clause: the table, or the table and the archive without duplicates."""
    if not include_archive:
        return f"(SELECT {_COLUMNS} FROM episodes)"
    if archive_dir is None:
        raise ValueError("include_archive: no archive folder was given to read")
    files = archive_files(archive_dir)
    if not files:
        return f"(SELECT {_COLUMNS} FROM episodes)"
    listed = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in files) + "]"
    return (
        f"(SELECT {_COLUMNS} FROM episodes UNION ALL "
        f"SELECT {_COLUMNS} FROM read_parquet({listed}) WHERE id NOT IN (SELECT id FROM episodes))"
    )


@translated("reading episodes")
def read_episodes(
    con: duckdb.DuckDBPyConnection, query: EpisodeQuery, *, archive_dir: Path | None = None
) -> list[dict[str, Any]]:
    """Episodes matching ``query``, newest first, as JSON-ready dicts (time in ISO 8601 UTC).

    Args:
        archive_dir: the archive folder, needed when ``query.include_archive`` is set.
    """
    clause, params = where_clause(
        ("type = ?", query.type),
        ("outcome = ?", query.outcome),
        ("time >= ?", query.since),
        ("contains(lower(description), lower(?))", query.text),
    )
    sql = (
        "SELECT id, strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ'), type, description, outcome, data "
        f"FROM {_source(query.include_archive, archive_dir)} {clause} ORDER BY time DESC, id LIMIT ?"
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


@translated("counting episodes")
def count_similar(
    con: duckdb.DuckDBPyConnection,
    *,
    type: str,
    now: datetime,
    hours: float,
    description: str | None = None,
    outcome: str | None = None,
) -> int:
    """How many episodes of ``type`` happened in the ``hours`` before ``now`` (the table only).

    Args:
        description: when given, only episodes with this description (trimmed, case-insensitive).
        outcome: when given, only episodes with this outcome.

    Raises:
        ValueError: a naive ``now`` or ``hours`` not above 0.
    """
    if now.tzinfo is None:
        raise ValueError(f"now: expected a time with a zone, got {now.isoformat()}")
    if hours <= 0:
        raise ValueError(f"hours: expected > 0, got {hours}")
    sql = "SELECT count(*) FROM episodes WHERE type = ? AND time >= ? AND time <= ?"
    params: list[Any] = [type, now - timedelta(hours=hours), now]
    if description is not None:
        sql += " AND lower(trim(description)) = lower(trim(?))"
        params.append(description)
    if outcome is not None:
        sql += " AND outcome = ?"
        params.append(outcome)
    return int(scalar(con, sql, params))
