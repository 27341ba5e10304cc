"""Search in SQL, for when no in-memory index is loaded (the CLI on a file the service does not hold).

Brute force with DuckDB's ``list_cosine_similarity`` over the embedder's rows: no index to
build, nothing held in memory. Slower per query than :class:`~sinks.VectorIndex` (see
docs/memory.md for the figures), which is why the service searches its matrix instead.
Stored vectors are L2-normalised, and so is the query, so the ranking is the same.
"""

from __future__ import annotations

from typing import Any

import duckdb

from sinks._sql import translated, where_clause
from sinks._vector_index import SearchHit, VectorQuery

__all__ = ["describe_hits", "search_table"]


@translated("searching vectors")
def search_table(con: duckdb.DuckDBPyConnection, query: VectorQuery) -> list[SearchHit]:
    """The ``k`` stored vectors of ``query.embedder`` most similar to the query, best first (ties by id)."""
    clause, params = where_clause(
        ("embedder = ?", query.embedder),
        ("dim = ?", int(query.vector.shape[0])),
        ("type = ?", query.type),
        ("created_at >= ?", query.since),
    )
    sql = (
        "SELECT id, list_cosine_similarity(embedding, ?::FLOAT[]) AS score FROM vectors "
        f"{clause} ORDER BY score DESC, id LIMIT ?"
    )
    rows = con.execute(sql, [query.vector.tolist(), *params, query.k]).fetchall()
    return [SearchHit(str(r[0]), float(r[1])) for r in rows]


@translated("reading search hits")
def describe_hits(con: duckdb.DuckDBPyConnection, hits: list[SearchHit]) -> list[dict[str, Any]]:
    """Hits with their stored text, type, episode and time, as JSON-ready dicts, in the hits' order.

    A hit whose row was deleted meanwhile (cleanup) is left out.
    """
    if not hits:
        return []
    marks = ", ".join("?" for _ in hits)
    rows = con.execute(
        "SELECT id, episode_id, type, text, embedder, "
        "strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ'), access_count "
        f"FROM vectors WHERE id IN ({marks})",
        [h.id for h in hits],
    ).fetchall()
    by_id = {r[0]: r for r in rows}
    out: list[dict[str, Any]] = []
    for hit in hits:
        row = by_id.get(hit.id)
        if row is None:
            continue
        out.append(
            {
                "id": hit.id,
                "score": round(hit.score, 6),
                "episode_id": row[1],
                "type": row[2],
                "text": row[3],
                "embedder": row[4],
                "created_at": row[5],
                "access_count": int(row[6]),
            }
        )
    return out
