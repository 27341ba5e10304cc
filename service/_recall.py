"""Recall by meaning for the being's prompts: the texts of recent episodes, embedded and searched in memory.

The vector table is the writer thread's; a prompt is built on the event loop, which never waits on
disk. So what a prompt recalls comes from here: the descriptions of the last ``max_texts``
episodes the pipeline stored (and those the start seeded), embedded with the memory's embedder in
one batch when a search needs them, and scored by cosine similarity. The same episodes in the same
order give the same recalls, so a replay recalls what the live run did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from sinks import EpisodeRow, Vectorizer

__all__ = ["QUIET_TYPES", "RecentRecall"]

QUIET_TYPES = frozenset({"mind.idle", "heavy_tick.observe", "system.start", "system.stop", "upkeep"})
"""Episodes with nothing worth recalling (a look that found nothing, the process starting)."""


class RecentRecall:
    """``(query, k)`` → the texts of recent episodes nearest in meaning to ``query``, best first.

    The texts live in a ring of ``max_texts`` slots with one matrix row each, so keeping a text
    costs no copy; texts kept since the last search are embedded together when the next one comes.

    Args:
        embedder: what embeds texts and queries.
        max_texts: the most recent texts kept (older ones are forgotten first).

    Raises:
        ValueError: ``max_texts`` below 1.
    """

    def __init__(self, embedder: Vectorizer, *, max_texts: int = 2_000) -> None:
        if max_texts < 1:
            raise ValueError(f"RecentRecall.max_texts: expected >= 1, got {max_texts}")
        self._embedder = embedder
        self._texts: list[str] = []
        self._ids: list[str] = []
        self._seen: set[str] = set()
        self._max = max_texts
        self._next = 0  # the slot the next text goes to (the oldest, once the ring is full)
        self._pending: dict[int, None] = {}  # slots whose text is not embedded yet, in order
        self._matrix: npt.NDArray[np.float32] = np.zeros((max_texts, embedder.dim), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._texts)

    def observe(self, item: object) -> None:
        """Keep the text of an episode about to be stored (anything else is ignored)."""
        if isinstance(item, EpisodeRow):
            self._keep(item)

    def seed(self, episodes: Iterable[EpisodeRow]) -> None:
        """Keep the texts of episodes stored before this run, oldest first."""
        for episode in episodes:
            self._keep(episode)

    def _keep(self, episode: EpisodeRow) -> None:
        if episode.type in QUIET_TYPES or not episode.description.strip() or episode.id in self._seen:
            return
        slot = self._next
        if slot < len(self._texts):  # the ring is full: the oldest text goes
            self._seen.discard(self._ids[slot])
            self._texts[slot], self._ids[slot] = episode.description, episode.id
        else:
            self._texts.append(episode.description)
            self._ids.append(episode.id)
        self._seen.add(episode.id)
        self._pending[slot] = None
        self._next = (slot + 1) % self._max

    def __call__(self, query: str, k: int) -> Sequence[str]:
        if k < 1 or not self._texts or not query.strip():
            return ()
        if self._pending:
            slots = list(self._pending)
            self._matrix[slots] = _normalised(self._embedder.vectors([self._texts[i] for i in slots]))
            self._pending.clear()
        wanted = _normalised(self._embedder.vectors([query]))[0]
        if not np.any(wanted):
            return ()
        scores = self._matrix[: len(self._texts)] @ wanted
        order = np.argsort(-scores, kind="stable")[:k]
        return tuple(self._texts[i] for i in order if scores[i] > 0.0)


def _normalised(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = np.zeros_like(matrix)
    np.divide(matrix, norms, out=out, where=norms > 0)
    return out
