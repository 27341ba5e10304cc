"""Reading Ollama's JSON: final-chunk statistics, replies, model lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm._http import preview
from llm._parse import count_of, list_field
from llm._types import ModelInfo, Usage
from llm.errors import ProtocolError

__all__ = ["message_text", "model_infos", "ns_to_s", "str_field", "usage_of"]


def ns_to_s(obj: Mapping[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value) / 1e9
    return None


def _count(obj: Mapping[str, Any], key: str) -> int:
    value = count_of(obj.get(key))
    return value if value is not None and value >= 0 else 0


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


def model_infos(obj: Mapping[str, Any], endpoint: str) -> tuple[ModelInfo, ...]:
    """``GET /api/tags`` → models."""
    out: list[ModelInfo] = []
    for item in list_field(obj, "models", endpoint):
        if not isinstance(item, dict):
            raise ProtocolError(f"{endpoint}: a model entry is not an object: {preview(repr(item))}", endpoint=endpoint)
        raw_details = item.get("details")
        details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
        out.append(
            ModelInfo(
                name=str_field(item, "name", endpoint, default=item.get("model")),
                size_bytes=count_of(item.get("size")),
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
