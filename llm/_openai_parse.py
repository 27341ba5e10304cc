"""Reading OpenAI-compatible JSON: completions, stream events, embeddings, model lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm._http import preview
from llm._types import ModelInfo, Usage
from llm.errors import ProtocolError, StreamError

__all__ = ["OPTION_NAMES", "choice_of", "model_list", "sse_data", "stream_error", "usage_of"]

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
    prompt = usage.get("prompt_tokens")
    output = usage.get("completion_tokens")
    return Usage(
        prompt_tokens=prompt if isinstance(prompt, int) and not isinstance(prompt, bool) else 0,
        output_tokens=output if isinstance(output, int) and not isinstance(output, bool) else 0,
    )


def choice_of(obj: Mapping[str, Any], endpoint: str) -> Mapping[str, Any] | None:
    """The first choice of a completion or chunk; ``None`` for a usage-only chunk (empty choices)."""
    choices = obj.get("choices")
    if not isinstance(choices, list):
        raise ProtocolError(f"{endpoint}: expected a 'choices' list, got {preview(repr(obj))}", endpoint=endpoint)
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


def stream_error(obj: Mapping[str, Any], endpoint: str) -> StreamError:
    err = obj["error"]
    said = err.get("message") if isinstance(err, dict) else err
    text = said if isinstance(said, str) else preview(repr(err))
    return StreamError(
        f"{endpoint}: the server reported an error mid-response: {text}",
        status=200,
        endpoint=endpoint,
    )


def model_list(obj: Mapping[str, Any], endpoint: str) -> tuple[ModelInfo, ...]:
    data = obj.get("data")
    if not isinstance(data, list):
        raise ProtocolError(f"{endpoint}: expected a 'data' list, got {preview(repr(obj))}", endpoint=endpoint)
    out: list[ModelInfo] = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ProtocolError(f"{endpoint}: a model entry has no 'id': {preview(repr(item))}", endpoint=endpoint)
        out.append(ModelInfo(name=item["id"]))
    return tuple(out)
