"""An offline embedder: hashed word and character n-gram features, no model, no network."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from llm._types import Embeddings, normalise_rows

__all__ = ["LexicalEmbedder", "vectorizer_for"]

_WORD = re.compile(r"\w+")
_SIGN_BIT = 1 << 31
_WORDS_KEPT = 1 << 14
"""Words whose features an embedder keeps (all forgotten at once past it): about 7.5 MiB when full.

A word's features cost about 10 µs to hash and about 470 bytes to keep (an 8-letter word). Read
through 3.6 million words of English prose and Python source (165,000 distinct), this many kept
missed 8.5 % of the words, against 6.1 % for four times as many (30 MiB) and 12.7 % for a
quarter as many: the words that come back are answered, and the rare ones (a number, a name)
are not kept for long.
"""

_Features = tuple[tuple[int, ...], tuple[float, ...]]


def _features(
    word: str, dim: int, ngrams: tuple[int, ...], slots_of: tuple[int, ...], weights: tuple[float, float, float, float]
) -> _Features:
    """Hashed feature slots and signed weights of one word.

    ``slots_of`` (``tuple(range(dim))``) and ``weights`` (+word, -word, +piece, -piece) give the
    ints and floats of the result: every kept word shares those objects instead of making its own.
    """
    keys = ["w:" + word]
    padded = f"<{word}>"
    for n in ngrams:
        keys.extend("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))
    slots: list[int] = []
    signed: list[float] = []
    for position, key in enumerate(keys):
        # crc32, not hash(): the same text must give the same vector in every process.
        h = zlib.crc32(key.encode("utf-8"))
        slots.append(slots_of[h % dim])
        signed.append(weights[(0 if position == 0 else 2) + (1 if h & _SIGN_BIT else 0)])
    return tuple(slots), tuple(signed)


class LexicalEmbedder:
    """Deterministic bag-of-features vectors: texts that share words (or word pieces) are close.

    Used when no embedding model is reachable. Its vectors are named ``lexical-v1:<dim>``
    (``lexical-v1-words:<dim>`` without character n-grams), so they are never compared
    with a model's. A text with no word characters gets the zero vector.

    Args:
        dim: vector length.
        char_ngrams: lengths of the character n-grams taken from each word (``()`` for words only).
        char_weight: weight of one n-gram relative to a whole word.
    """

    def __init__(self, dim: int = 384, *, char_ngrams: Sequence[int] = (3, 4), char_weight: float = 0.35) -> None:
        if dim < 8:
            raise ValueError(f"LexicalEmbedder.dim: expected >= 8, got {dim}")
        if any(n < 1 for n in char_ngrams):
            raise ValueError(f"LexicalEmbedder.char_ngrams: expected lengths >= 1, got {tuple(char_ngrams)}")
        if char_weight <= 0:
            raise ValueError(f"LexicalEmbedder.char_weight: expected > 0, got {char_weight}")
        self.dim = dim
        self._ngrams = tuple(char_ngrams)
        variant = (
            "" if self._ngrams == (3, 4) else ("-words" if not self._ngrams else "-" + "".join(map(str, self._ngrams)))
        )
        self.name = f"lexical-v1{variant}:{dim}"
        self._slots_of = tuple(range(dim))
        self._weights = (1.0, -1.0, char_weight, -char_weight)
        # each word's features, at most _WORDS_KEPT words (the only cache: one entry a word)
        self._words: dict[str, _Features] = {}

    def __repr__(self) -> str:
        return f"LexicalEmbedder(name={self.name!r})"

    def words_held(self) -> int:
        """Words whose features are kept now (at most ``_WORDS_KEPT``)."""
        return len(self._words)

    def vectors(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One L2-normalised float32 row per text."""
        n = len(texts)
        flat: list[int] = []
        weights: list[float] = []
        words = self._words
        for row, text in enumerate(texts):
            base = row * self.dim
            for word in _WORD.findall(text.lower()):
                features = words.get(word)
                if features is None:
                    if len(words) >= _WORDS_KEPT:
                        words.clear()
                    features = words[word] = _features(word, self.dim, self._ngrams, self._slots_of, self._weights)
                slots, signed = features
                # the same slots in the same order as ever: the sums, so the vectors, are the same
                flat.extend([base + s for s in slots] if base else slots)
                weights.extend(signed)
        counts = np.bincount(
            np.asarray(flat, dtype=np.int64), weights=np.asarray(weights, dtype=np.float64), minlength=n * self.dim
        )
        return normalise_rows(counts.reshape(n, self.dim))

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Embeddings:
        """The :class:`~llm.Embedder` method; ``model`` is ignored (there is only one)."""
        return Embeddings(embedder=self.name, vectors=self.vectors(texts))


def vectorizer_for(kind: str, lexical_dim: int) -> LexicalEmbedder | None:
    """The embedder ``[memory] search.embedder`` names for the memory: ``lexical`` or ``none`` (``None``).

    Raises:
        ValueError: an unknown kind.
    """
    if kind == "none":
        return None
    if kind == "lexical":
        return LexicalEmbedder(lexical_dim)
    raise ValueError(f"memory.search.embedder: expected 'lexical' or 'none', got {kind!r}")
