"""Reading what both APIs send alike: lists and counts in a JSON object, vectors, an error inside a 200."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from llm._http import preview
from llm._types import Embeddings, normalise_rows
from llm.errors import ProtocolError, StreamError

__all__ = ["count_of", "list_field", "model_embeddings", "no_embeddings", "raise_reported", "vectors_of"]


def count_of(value: Any) -> int | None:
    """``value`` if it is a whole number (not a bool), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def list_field(obj: Mapping[str, Any], key: str, endpoint: str) -> list[Any]:
    """``obj[key]`` if it is a list, else :class:`ProtocolError` showing the object."""
    value = obj.get(key)
    if not isinstance(value, list):
        raise ProtocolError(f"{endpoint}: expected a {key!r} list, got {preview(repr(obj))}", endpoint=endpoint)
    return value


def raise_reported(obj: Mapping[str, Any], endpoint: str) -> None:
    """Raise :class:`StreamError` if the server reported an error inside a 200: ``{"error": "..."}``
    (Ollama) or ``{"error": {"message": ...}}`` (OpenAI)."""
    if "error" not in obj:
        return
    err = obj["error"]
    said = err.get("message") if isinstance(err, dict) else err
    text = said if isinstance(said, str) else preview(repr(err))
    raise StreamError(f"{endpoint}: the server reported an error mid-response: {text}", status=200, endpoint=endpoint)


def vectors_of(rows: Any, count: int, endpoint: str) -> npt.NDArray[np.float32]:
    """A ``count`` x dim float32 array from JSON lists of numbers."""
    try:
        array = np.asarray(rows, dtype=np.float32)
    except (ValueError, TypeError) as exc:
        raise ProtocolError(f"{endpoint}: embeddings are not a matrix of numbers", endpoint=endpoint) from exc
    if array.ndim != 2 or array.shape[0] != count or array.shape[1] == 0:
        raise ProtocolError(
            f"{endpoint}: expected {count} vectors, got an array of shape {array.shape}", endpoint=endpoint
        )
    if not np.isfinite(array).all():
        raise ProtocolError(f"{endpoint}: embeddings contain NaN or infinity", endpoint=endpoint)
    return array


def model_embeddings(model: str, rows: Any, count: int, endpoint: str, *, prompt_tokens: int = 0) -> Embeddings:
    """``count`` vectors from a server's JSON rows, L2-normalised and named after the model and their length."""
    vectors = normalise_rows(vectors_of(rows, count, endpoint))
    return Embeddings(embedder=f"model:{model}:{vectors.shape[1]}", vectors=vectors, prompt_tokens=prompt_tokens)


def no_embeddings(model: str) -> Embeddings:
    """The answer to an empty batch, asked of no server."""
    return Embeddings(embedder=f"model:{model}:0", vectors=np.zeros((0, 0), dtype=np.float32))
