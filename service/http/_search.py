"""What /search needs: the index, the query embedder, a reader for the hits' texts, and the limits.

A query text is embedded with the configured embedder and scored only against vectors stored
under that embedder's name (another embedder's vectors live in another space). Hits are
counted in the index's access log (written in batches by the upkeep route).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import numpy as np

from sinks import SinkError, VectorIndex, Vectorizer, VectorQuery, describe_hits, utc_now

__all__ = ["SearchBackend"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchBackend:
    """Everything a text search needs.

    Args:
        index: the in-memory vectors.
        embedder: embeds query texts; ``None`` disables search (503).
        reader: makes a DuckDB cursor (called on a worker thread) to fetch the hits' texts.
        default_k: hits when ``k`` is not given.
        max_k: the largest ``k`` accepted.
        max_query_chars: the longest query accepted.
        clock: the time search hits are counted at.
    """

    index: VectorIndex
    embedder: Vectorizer | None
    reader: Callable[[], duckdb.DuckDBPyConnection]
    default_k: int = 10
    max_k: int = 100
    max_query_chars: int = 2000
    clock: Callable[[], datetime] = field(default=utc_now)

    def search(self, text: str, *, k: int, type: str | None = None, since: datetime | None = None) -> dict[str, Any]:
        """Embed ``text`` and return the top ``k`` as a JSON-ready dict (blocking: run it on a worker thread).

        Raises:
            ValueError: no embedder, or a bad query.
            SinkError: the hits' rows could not be read.
        """
        if self.embedder is None:
            raise ValueError("search is disabled: [memory.search] embedder = 'none'")
        vector = self.embedder.vectors([text])[0]
        if not np.any(vector):
            return {"query": text, "embedder": self.embedder.name, "k": k, "hits": [], "count": 0}
        query = VectorQuery(embedder=self.embedder.name, vector=vector, k=k, type=type, since=since)
        hits = self.index.search(query, now=self.clock())
        cursor = self.reader()
        try:
            described = describe_hits(cursor, hits)
        except duckdb.Error as exc:
            raise SinkError(f"search: cannot read the hits: {exc}") from exc
        finally:
            cursor.close()
        return {"query": text, "embedder": self.embedder.name, "k": k, "hits": described, "count": len(described)}
