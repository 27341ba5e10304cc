"""Reading Ollama's JSON: final-chunk statistics, replies, vectors, model lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from llm._http import preview
from llm._types import ModelInfo, Usage
from llm.errors import ProtocolError

__all__ = ["message_text", "model_infos", "ns_to_s", "str_field", "usage_of", "vectors_of"]


def ns_to_s(obj: Mapping[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value) / 1e9
    return None


def _count(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def usage_of(obj: Mapping[str, Any]) -> Usage:
    """The statistics of a final chunk (durations arrive in nanoseconds)."""
    return Usage(
        prompt_tokens=_count(obj, "prompt_eval_count"),
        output_tokens=_count(obj, "eval_count"),
        total_duration_s=ns_to_s(obj, "total_duration"),
        load_duration_s=ns_to_s(obj, "load_duration"),
        prompt_eval_duration_s=ns_to_s(obj, "prompt_eval_duration"),
        eval_duration_s=ns_to_s(obj, "eval_duration"),
    )


def str_field(obj: Mapping[str, Any], key: str, endpoint: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str):
        raise ProtocolError(f"{endpoint}: expected a string {key!r}, got {preview(repr(obj))}", endpoint=endpoint)
    return value


def message_text(obj: Mapping[str, Any], endpoint: str) -> str:
    """``message.content`` of a chat chunk or reply."""
    message = obj.get("message")
    if not isinstance(message, dict):
        if obj.get("done") is True and message is None:
            return ""
        raise ProtocolError(f"{endpoint}: expected a 'message' object, got {preview(repr(obj))}", endpoint=endpoint)
    return str_field(message, "content", endpoint, default="")


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


def model_infos(obj: Mapping[str, Any], endpoint: str) -> tuple[ModelInfo, ...]:
    """``GET /api/tags`` → models."""
    models = obj.get("models")
    if not isinstance(models, list):
        raise ProtocolError(f"{endpoint}: expected a 'models' list, got {preview(repr(obj))}", endpoint=endpoint)
    out: list[ModelInfo] = []
    for item in models:
        if not isinstance(item, dict):
            raise ProtocolError(f"{endpoint}: a model entry is not an object: {preview(repr(item))}", endpoint=endpoint)
        raw_details = item.get("details")
        details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
        size = item.get("size")
        out.append(
            ModelInfo(
                name=str_field(item, "name", endpoint, default=item.get("model")),
                size_bytes=size if isinstance(size, int) and not isinstance(size, bool) else None,
                digest=_opt_str(item.get("digest")),
                family=_opt_str(details.get("family")),
                parameter_size=_opt_str(details.get("parameter_size")),
                quantization_level=_opt_str(details.get("quantization_level")),
                modified_at=_opt_str(item.get("modified_at")),
            )
        )
    return tuple(out)


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
