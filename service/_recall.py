"""Recall by meaning for the being's prompts: the texts of recent episodes, embedded and searched in memory.

The vector table is the writer thread's; a prompt is built on the event loop, which never waits on
disk. So what a prompt recalls comes from here: the descriptions of the last ``max_texts``
episodes the pipeline stored (and those the start seeded), embedded with the memory's embedder in
one batch when a search needs them, and scored by cosine similarity. The same episodes in the same
order give the same recalls, so a replay recalls what the live run did.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from sinks import EpisodeRow, Vectorizer

__all__ = ["QUIET_TYPES", "RecentRecall"]

QUIET_TYPES = frozenset({"mind.idle", "heavy_tick.observe", "system.start", "system.stop", "upkeep"})
"""Episodes with nothing worth recalling (a look that found nothing, the process starting)."""


class RecentRecall:
    """``(query, k)`` → the texts of recent episodes nearest in meaning to ``query``, best first.

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
        self._texts: deque[str] = deque(maxlen=max_texts)
        self._seen: set[str] = set()
        self._ids: deque[str] = deque(maxlen=max_texts)
        self._matrix: npt.NDArray[np.float32] = np.zeros((0, embedder.dim), dtype=np.float32)
        self._embedded = 0  # how many of the texts (from the oldest) the matrix holds

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
        if len(self._ids) == self._ids.maxlen:
            self._seen.discard(self._ids[0])
            self._matrix = self._matrix[1:] if self._embedded else self._matrix
            self._embedded = max(0, self._embedded - 1)
        self._ids.append(episode.id)
        self._seen.add(episode.id)
        self._texts.append(episode.description)

    def __call__(self, query: str, k: int) -> Sequence[str]:
        if k < 1 or not self._texts or not query.strip():
            return ()
        if self._embedded < len(self._texts):
            fresh = list(self._texts)[self._embedded :]
            self._matrix = np.vstack([self._matrix, _normalised(self._embedder.vectors(fresh))])
            self._embedded = len(self._texts)
        wanted = _normalised(self._embedder.vectors([query]))[0]
        if not np.any(wanted):
            return ()
        scores = self._matrix @ wanted
        order = np.argsort(-scores, kind="stable")[:k]
        texts = list(self._texts)
        return tuple(texts[i] for i in order if scores[i] > 0.0)


def _normalised(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = np.zeros_like(matrix)
    np.divide(matrix, norms, out=out, where=norms > 0)
    return out
