"""Recall by meaning for the being's prompts: an in-memory vector search the event loop owns.

Why not the service's :class:`sinks.VectorIndex` itself: that index is changed by the writer
thread when a batch of vectors commits, which happens in real time in a live run (within a
second of the message) and only at the end in a replay (batches are cut by count there). A
prompt that recalled from it would depend on how fast the disk was, so a replay would ask the
LLM other questions than the recording holds. This recall is fed the same episodes the remember
route embeds, in stream order, on the event loop (:meth:`MemoryRecall.observe`, through
:class:`agent.context.BeingMemory`), and at start the newest vectors the database holds
(:func:`read_recall_seed` → :meth:`MemoryRecall.seed`): the same stream always recalls the same
texts. The search is the one ``/search`` runs (a :class:`sinks.VectorIndex` of its own, scored
only against vectors of the remember route's embedder), over at most ``max_vectors`` vectors, the
oldest forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from agent._remember import Remember, vector_of
from sinks import SEARCH_MAX_K, EpisodeRow, Row, SinkError, VectorIndex, VectorQuery, VectorRow
from streams import Event

__all__ = ["MemoryRecall", "read_recall_seed"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _cut(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


class MemoryRecall:
    """``(query, k)`` → the remembered texts most similar to ``query``, best first.

    Args:
        remember: the remember route's policy: its embedder (only vectors of that embedder are
            held and compared) and the episode types it remembers.
        max_vectors: vectors held; past it the oldest are forgotten.
        max_query_chars: a longer query is embedded by its beginning.
        max_text_chars: a longer remembered text is held cut (with an ellipsis).

    Raises:
        ValueError: a bound below 1.
    """

    def __init__(
        self,
        remember: Remember,
        *,
        max_vectors: int = 10_000,
        max_query_chars: int = 2_000,
        max_text_chars: int = 1_000,
    ) -> None:
        for name, value in (
            ("max_vectors", max_vectors),
            ("max_query_chars", max_query_chars),
            ("max_text_chars", max_text_chars),
        ):
            if value < 1:
                raise ValueError(f"MemoryRecall.{name}: expected >= 1, got {value}")
        self._remember = remember
        self._embedder = remember.embedder
        self._max_vectors = max_vectors
        self._max_query = max_query_chars
        self._max_text = max_text_chars
        self._index = VectorIndex()
        self._texts: OrderedDict[str, str] = OrderedDict()

    @property
    def embedder(self) -> str:
        """The name of the embedding space searched."""
        return self._embedder.name

    def __len__(self) -> int:
        return len(self._texts)

    def seed(self, vectors: Iterable[VectorRow]) -> int:
        """Take stored vectors (at start): those of this embedder, oldest first; returns how many were added."""
        mine = sorted((v for v in vectors if v.embedder == self._embedder.name), key=lambda v: (v.created_at, v.id))
        return sum(self._add(v) for v in mine[-self._max_vectors :])

    def observe(self, item: Event | Row) -> None:
        """Take an episode the remember route embeds (anything else is ignored)."""
        if not (isinstance(item, EpisodeRow) and item.type in self._remember.types):
            return
        vector = vector_of(item, self._remember)
        if vector is not None:
            self._add(vector)

    def _add(self, vector: VectorRow) -> bool:
        if vector.id in self._texts:
            return False
        values = np.asarray(vector.embedding, dtype=np.float32).reshape(1, -1)
        norm = float(np.linalg.norm(values))
        if values.shape[1] != self._embedder.dim or not np.isfinite(norm) or norm == 0.0:
            return False  # not a vector of this space (the sink refuses it too)
        self._index.add(self._embedder.name, [vector.id], values / np.float32(norm), [vector.type], [vector.created_at])
        self._texts[vector.id] = _cut(vector.text, self._max_text)
        while len(self._texts) > self._max_vectors:
            oldest, _ = self._texts.popitem(last=False)
            self._index.remove([oldest])
        return True

    def __call__(self, query: str, k: int) -> tuple[str, ...]:
        """The ``k`` texts most similar to ``query`` (each text once, ``query`` itself left out), best first."""
        if k <= 0 or not self._texts:
            return ()
        asked = query[: self._max_query]
        embedding = self._embedder.vectors([asked])[0]
        if not (np.all(np.isfinite(embedding)) and np.any(embedding)):
            return ()  # nothing the embedder can hold ("?", emoji): nothing is similar to it
        # a few more than k, for the duplicates and the query itself that are left out
        wanted = min(len(self._texts), SEARCH_MAX_K, max(4 * k, k + 8))
        hits = self._index.search(VectorQuery(embedder=self._embedder.name, vector=embedding, k=wanted))
        found: list[str] = []
        own = asked.strip()
        for hit in hits:
            text = self._texts.get(hit.id)
            if text is None or text.strip() == own or text in found:
                continue
            found.append(text)
            if len(found) == k:
                break
        return tuple(found)


def read_recall_seed(con: duckdb.DuckDBPyConnection, *, embedder: str, limit: int) -> list[VectorRow]:
    """The newest ``limit`` stored vectors of ``embedder`` (run it where the connection lives: the writer thread).

    Raises:
        SinkError: the table could not be read.
    """
    if limit < 1:
        return []
    cursor = con.cursor()  # a result of its own, whatever the connection was last asked
    try:
        table: pa.Table = cursor.sql(
            "SELECT id, episode_id, type, text, epoch_us(created_at) AS created, embedding FROM vectors "
            "WHERE embedder = ? ORDER BY created_at DESC, id DESC LIMIT ?",
            params=[embedder, limit],
        ).to_arrow_table()
    except duckdb.Error as exc:
        raise SinkError(f"reading the vectors to recall from: {exc}") from exc
    finally:
        cursor.close()
    ids = table.column("id").to_pylist()
    episodes = table.column("episode_id").to_pylist()
    types = table.column("type").to_pylist()
    texts = table.column("text").to_pylist()
    created = table.column("created").to_pylist()
    embeddings = table.column("embedding").to_pylist()
    return [
        VectorRow(
            id=ids[i],
            text=texts[i],
            embedding=np.asarray(embeddings[i], dtype=np.float32),
            embedder=embedder,
            type=types[i],
            created_at=_EPOCH + timedelta(microseconds=created[i]),
            episode_id=episodes[i],
        )
        for i in range(len(ids))
    ]
