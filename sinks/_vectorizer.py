"""The one thing the memory needs to embed with: a name, a length, and vectors for texts, synchronously.

``llm.Embedder`` is the other meaning (an LLM server's embedding call, asynchronous); the offline
``llm.LexicalEmbedder`` is both, so the memory takes it as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = ["Vectorizer"]


@runtime_checkable
class Vectorizer(Protocol):
    """Turns texts into vectors of one embedding space.

    ``name`` identifies the space: vectors of two names are never compared (a search only
    scores vectors stored under the query embedder's name). ``dim`` is the vector length.
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def vectors(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One row per text, in order: shape ``(len(texts), dim)``."""
        ...
