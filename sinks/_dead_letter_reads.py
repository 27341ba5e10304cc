"""The read side of dead letters: what could not be processed, newest first, for ``/dead-letters`` and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from sinks._sql import translated, where_clause

__all__ = ["DEAD_LETTERS_MAX_LIMIT", "DEAD_LETTER_RAW_MAX_CHARS", "DeadLetterQuery", "read_dead_letters"]

DEAD_LETTERS_MAX_LIMIT = 10_000
DEAD_LETTER_RAW_MAX_CHARS = 4096
"""``raw`` is cut to this many characters in a read (``raw_chars`` gives its whole length)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetterQuery:
    """Filters for :func:`read_dead_letters`; newest first.

    Args:
        source: only from this source (``inbox``, ``llm``, ``mind``...).
        since: only at or after this time (with a zone).
        limit: at most this many, 1 to 10,000.

    Raises:
        ValueError: ``limit`` outside 1..10,000, or a naive ``since``.
    """

    source: str | None = None
    since: datetime | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= DEAD_LETTERS_MAX_LIMIT:
            raise ValueError(f"limit: expected 1 to {DEAD_LETTERS_MAX_LIMIT}, got {self.limit}")
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError(f"since: expected a time with a zone, got {self.since.isoformat()}")


@translated("dead letter query")
def read_dead_letters(con: duckdb.DuckDBPyConnection, query: DeadLetterQuery) -> list[dict[str, Any]]:
    """Dead letters matching ``query``, newest first (``raw`` cut to 4096 characters; ``raw_chars`` its length)."""
    clause, params = where_clause(("source = ?", query.source), ("time >= ?", query.since))
    sql = (
        "SELECT id, strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ'), source, reason,"
        f" left(raw, {DEAD_LETTER_RAW_MAX_CHARS}), length(raw) FROM dead_letters {clause}"
        " ORDER BY time DESC, id LIMIT ?"
    )
    rows = con.execute(sql, [*params, query.limit]).fetchall()
    return [
        {"id": id_, "time": time, "source": source, "reason": reason, "raw": raw, "raw_chars": chars}
        for id_, time, source, reason, raw, chars in rows
    ]
