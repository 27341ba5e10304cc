"""Recall by meaning for the being's prompts: an in-memory vector search the event loop owns.

Why not the service's :class:`sinks.VectorIndex` itself: that index is changed by the writer
thread when a batch of vectors commits, which happens in real time in a live run (within a
second of the message) and only at the end in a replay (batches are cut by count there). A
prompt that recalled from it would depend on how fast the disk was, so a replay would ask the
LLM other questions than the recording holds. This recall is fed the same episodes the remember
route embeds, in stream order, on the event loop (:meth:`MemoryRecall.observe`, through
:class:`agent.context.BeingMemory`), and at start the newest vectors the database holds
(:func:`read_recall_seed` → :meth:`MemoryRecall.seed`): the same stream always recalls the same
texts. The search is the one ``/search`` runs (cosine similarity over unit vectors, only those
of the remember route's embedder), over at most ``max_vectors`` vectors, the oldest forgotten
first.

Each text is held with whom it belongs to (:mod:`agent.context._owned`): a user message to its
sender (``data.sender``, or else ``data.source``), a reply to the sender of the message it
answers (found by the reply's ``data.event_id``), any other remembered text to nobody. A reply's
recall (``sender=``) searches only that sender's texts and nobody's, so what one user said never
reaches the prompt of a reply to another; the mind's recall (no ``sender``) searches all.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from agent._remember import Remember, vector_of
from agent._routes import REPLY, USER_TYPES
from agent.context._memory import _sender_key
from agent.context._owned import OwnedVectors, Owner, Whose
from sinks import SEARCH_MAX_K, EpisodeRow, Row, SinkError, VectorRow
from streams import Event

__all__ = ["MemoryRecall", "OwnedVector", "read_recall_seed"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MESSAGE_OWNERS = 4_096  # messages whose sender a reply (or a deferred one, later) is matched to
_CONVERSATION = frozenset({*USER_TYPES, REPLY})


def _cut(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnedVector:
    """A stored vector and the sender it belongs to (what :func:`read_recall_seed` gives).

    Args:
        vector: the stored vector.
        sender: the sender of the message (or of the message a reply answers); ``None``: not
            known (a user message or reply then belongs to no one a reply may recall, any other
            text to nobody).
    """

    vector: VectorRow
    sender: str | None


def _owner_for_seed(vector: VectorRow, sender: str | None) -> Owner:
    if sender:
        return _sender_key(sender)
    return Whose.UNKNOWN if vector.type in _CONVERSATION else Whose.NOBODY


class MemoryRecall:
    """``(query, k, sender=None)`` → the remembered texts most similar to ``query``, best first.

    Args:
        remember: the remember route's policy: its embedder (only vectors of that embedder are
            held and compared) and the episode types it remembers.
        max_vectors: vectors held; past it the oldest are forgotten. The senders held are at
            most as many (a sender whose last text is forgotten is forgotten too).
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
        self._empty()

    def _empty(self) -> None:
        # a vector is added before the oldest leaves: one more than max_vectors at once
        self._vectors = OwnedVectors(self._embedder.dim, max_rows=self._max_vectors + 1)
        self._texts: OrderedDict[str, str] = OrderedDict()
        # the sender of a user message, by its event id: whose its reply is
        self._message_owners: OrderedDict[str, Owner] = OrderedDict()

    @property
    def embedder(self) -> str:
        """The name of the embedding space searched."""
        return self._embedder.name

    def __len__(self) -> int:
        return len(self._texts)

    def senders(self) -> int:
        """Senders with at least one text held."""
        return self._vectors.senders()

    def nbytes(self) -> int:
        """Bytes of the search arrays held (their capacity included; the texts not counted)."""
        return self._vectors.nbytes()

    def forget(self) -> None:
        """Forget every vector, text and sender held, as a new process starts (before a recorded run's seed)."""
        self._empty()

    def seed(self, vectors: Iterable[VectorRow | OwnedVector]) -> int:
        """Take stored vectors (at start): those of this embedder, oldest first; returns how many were added.

        A bare :class:`sinks.VectorRow` has no known sender: a user message or reply given so is
        recalled by the mind only, never for a reply.
        """
        owned = [v if isinstance(v, OwnedVector) else OwnedVector(vector=v, sender=None) for v in vectors]
        mine = sorted(
            (o for o in owned if o.vector.embedder == self._embedder.name),
            key=lambda o: (o.vector.created_at, o.vector.id),
        )
        return sum(self._add(o.vector, _owner_for_seed(o.vector, o.sender)) for o in mine[-self._max_vectors :])

    def observe(self, item: Event | Row) -> None:
        """Take an episode: whose it is, and its text when the remember route embeds it (anything else is ignored)."""
        if not isinstance(item, EpisodeRow):
            return
        owner = self._owner_of(item)
        if item.type not in self._remember.types:
            return
        vector = vector_of(item, self._remember)
        if vector is not None:
            self._add(vector, owner)

    def _owner_of(self, row: EpisodeRow) -> Owner:
        if row.type in USER_TYPES:
            sender = str(row.data.get("sender") or row.data.get("source") or "")
            owner: Owner = _sender_key(sender) if sender else Whose.UNKNOWN
            event_id = str(row.data.get("event_id") or row.event_id or "")
            if event_id:
                self._message_owners[event_id] = owner
                self._message_owners.move_to_end(event_id)
                while len(self._message_owners) > _MESSAGE_OWNERS:
                    self._message_owners.popitem(last=False)
            return owner
        if row.type == REPLY:
            return self._message_owners.get(str(row.data.get("event_id") or ""), Whose.UNKNOWN)
        return Whose.NOBODY

    def _add(self, vector: VectorRow, owner: Owner) -> bool:
        if vector.id in self._texts:
            return False
        values = np.asarray(vector.embedding, dtype=np.float32).reshape(-1)
        norm = float(np.sqrt(values.dot(values)))  # np.linalg.norm of a row, without its checks
        if values.shape[0] != self._embedder.dim or not np.isfinite(norm) or norm == 0.0:
            return False  # not a vector of this space (the sink refuses it too)
        self._vectors.add(vector.id, values / np.float32(norm), owner)
        self._texts[vector.id] = _cut(vector.text, self._max_text)
        while len(self._texts) > self._max_vectors:
            oldest, _ = self._texts.popitem(last=False)
            self._vectors.remove(oldest)
        return True

    def __call__(self, query: str, k: int, *, sender: str | None = None) -> tuple[str, ...]:
        """The ``k`` texts most similar to ``query`` (each text once, ``query`` itself left out), best first.

        Args:
            sender: only the texts of this sender and those of nobody (a reply's recall);
                ``None``: every text (the mind's).
        """
        if k <= 0 or not self._texts:
            return ()
        asked = query[: self._max_query]
        embedding = np.asarray(self._remember.embedding(asked), dtype=np.float32).reshape(-1)
        norm = float(np.sqrt(embedding.dot(embedding)))
        if not np.isfinite(norm) or norm == 0.0:
            return ()  # nothing the embedder can hold ("?", emoji): nothing is similar to it
        # a few more than k, for the duplicates and the query itself that are left out
        wanted = min(len(self._texts), SEARCH_MAX_K, max(4 * k, k + 8))
        owner = None if sender is None else _sender_key(sender)
        hits = self._vectors.search(embedding / np.float32(norm), wanted, owner=owner)
        found: list[str] = []
        own = asked.strip()
        for vid in hits:
            text = self._texts[vid]
            if text.strip() == own or text in found:
                continue
            found.append(text)
            if len(found) == k:
                break
        return tuple(found)


_SEED_SQL = """
WITH newest_ids AS (  -- picked without their embeddings: a sort of every embedding may not fit DuckDB's memory
    SELECT id FROM vectors WHERE embedder = $embedder ORDER BY created_at DESC, id DESC LIMIT $limit
),
newest AS (
    SELECT id, episode_id, type, text, created_at, embedding FROM vectors
    WHERE embedder = $embedder AND id IN (SELECT id FROM newest_ids)
),
own AS (  -- the episode each vector remembers (a recovered copy may be stored twice: one is taken)
    SELECT e.id, any_value(e.type) AS type,
        any_value(coalesce(nullif(e.data->>'sender', ''), nullif(e.data->>'source', ''))) AS sender,
        any_value(e.data->>'event_id') AS event_id
    FROM episodes e WHERE e.id IN (SELECT episode_id FROM newest) GROUP BY e.id
),
asked AS (  -- the senders of the messages those replies answer
    SELECT m.data->>'event_id' AS event_id,
        min(coalesce(nullif(m.data->>'sender', ''), nullif(m.data->>'source', ''))) AS sender
    FROM episodes m
    WHERE list_contains($messages, m.type)
        AND m.data->>'event_id' IN (SELECT event_id FROM own WHERE type = $reply)
    GROUP BY 1
)
SELECT n.id, n.episode_id, n.type, n.text, epoch_us(n.created_at) AS created, n.embedding,
    CASE WHEN list_contains($messages, o.type) THEN o.sender WHEN o.type = $reply THEN a.sender END AS sender
FROM newest n
LEFT JOIN own o ON o.id = n.episode_id
LEFT JOIN asked a ON o.type = $reply AND a.event_id = o.event_id
ORDER BY n.created_at DESC, n.id DESC
LIMIT $limit
"""


def read_recall_seed(con: duckdb.DuckDBPyConnection, *, embedder: str, limit: int) -> list[OwnedVector]:
    """The newest ``limit`` stored vectors of ``embedder``, newest first, each with its sender.

    The sender is found by joining each vector to the episode it remembers: a user message's
    ``data.sender`` (or else ``data.source``); for a reply, that of the user message whose
    ``data.event_id`` the reply's names. A vector whose episodes are gone has no sender. Run it
    where the connection lives (the writer thread).

    Raises:
        SinkError: the tables could not be read.
    """
    if limit < 1:
        return []
    cursor = con.cursor()  # a result of its own, whatever the connection was last asked
    try:
        table: pa.Table = cursor.sql(
            _SEED_SQL,
            params={"embedder": embedder, "limit": limit, "messages": sorted(USER_TYPES), "reply": REPLY},
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
    senders = table.column("sender").to_pylist()
    return [
        OwnedVector(
            vector=VectorRow(
                id=ids[i],
                text=texts[i],
                embedding=np.asarray(embeddings[i], dtype=np.float32),
                embedder=embedder,
                type=types[i],
                created_at=_EPOCH + timedelta(microseconds=created[i]),
                episode_id=episodes[i],
            ),
            sender=senders[i],
        )
        for i in range(len(ids))
    ]
