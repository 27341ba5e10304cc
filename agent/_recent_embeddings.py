"""The embeddings of the latest texts, kept so that one text is embedded once, not once per reader.

A user message is embedded by the being's recall when its episode is observed, again as the
query of its reply's recall, and again by the remember route that writes it to vector memory; a
reply twice. The embedder is deterministic, so those are the same vector: this keeps the last
``max_texts`` texts' vectors (read-only arrays, shared by every reader) and embeds only a text it
does not hold.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from sinks import Vectorizer

__all__ = ["RecentEmbeddings"]


class RecentEmbeddings:
    """``text`` → its vector from ``embedder``, embedded once while it is among the last ``max_texts`` asked.

    Used on the event loop and, at start, on the writer thread (the texts a crash left without a
    vector), so a small lock guards it.

    Args:
        embedder: what embeds a text not held.
        max_texts: texts held; past it the oldest asked is forgotten.

    Raises:
        ValueError: ``max_texts`` below 1.
    """

    def __init__(self, embedder: Vectorizer, *, max_texts: int = 1024) -> None:
        if max_texts < 1:
            raise ValueError(f"RecentEmbeddings.max_texts: expected >= 1, got {max_texts}")
        self._embedder = embedder
        self._max = max_texts
        self._held: dict[str, npt.NDArray[np.float32]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._held)

    def vector(self, text: str) -> npt.NDArray[np.float32]:
        """The vector of ``text`` (read-only; copy it to change it)."""
        with self._lock:
            held = self._held.get(text)
        if held is not None:
            return held
        vector = np.asarray(self._embedder.vectors([text])[0])
        vector.setflags(write=False)
        with self._lock:
            self._held[text] = vector
            while len(self._held) > self._max:
                del self._held[next(iter(self._held))]
        return vector
