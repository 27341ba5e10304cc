"""The one thing the memory needs from an embedder: a name, a length, and vectors for texts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = ["Embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of one embedding space.

    ``name`` identifies the space: vectors of two names are never compared (a search only
    scores vectors stored under the query embedder's name). ``dim`` is the vector length.
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One row per text, in order: shape ``(len(texts), dim)``."""
        ...
