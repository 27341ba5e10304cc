"""Reading OpenAI-compatible JSON: completions, stream events, usage, model lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm._http import preview
from llm._parse import count_of, list_field
from llm._types import ModelInfo, Usage
from llm.errors import ProtocolError

__all__ = ["OPTION_NAMES", "choice_of", "model_list", "sse_data", "usage_of"]

# Ollama option → OpenAI field. Options without an equivalent here (num_ctx, ...) are not sent:
# an OpenAI-compatible server has no way to take them.
OPTION_NAMES = {
    "num_predict": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
}


def usage_of(obj: Mapping[str, Any]) -> Usage:
    usage = obj.get("usage")
    if not isinstance(usage, dict):
        return Usage()
    return Usage(
        prompt_tokens=count_of(usage.get("prompt_tokens")) or 0,
        output_tokens=count_of(usage.get("completion_tokens")) or 0,
    )


def choice_of(obj: Mapping[str, Any], endpoint: str) -> Mapping[str, Any] | None:
    """The first choice of a completion or chunk; ``None`` for a usage-only chunk (empty choices)."""
    choices = list_field(obj, "choices", endpoint)
    if not choices:
        return None
    first = choices[0]
    if not isinstance(first, dict):
        raise ProtocolError(f"{endpoint}: a choice is not an object: {preview(repr(first))}", endpoint=endpoint)
    return first


def sse_data(line: str) -> str | None:
    """The payload of an SSE ``data:`` line; ``None`` for comments, other fields and blank lines."""
    if not line.startswith("data:"):
        return None
    return line[5:].removeprefix(" ")


def model_list(obj: Mapping[str, Any], endpoint: str) -> tuple[ModelInfo, ...]:
    out: list[ModelInfo] = []
    for item in list_field(obj, "data", endpoint):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ProtocolError(f"{endpoint}: a model entry has no 'id': {preview(repr(item))}", endpoint=endpoint)
        out.append(ModelInfo(name=item["id"]))
    return tuple(out)
