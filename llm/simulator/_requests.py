"""What the simulator's two APIs read the same way: a chat's prompt, the texts to embed, the reply."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llm.simulator._call import Call, model_or_error, requested_format
from llm.simulator._plan import is_off_schema
from llm.simulator._replies import Reply, reply_for

__all__ = ["answer", "chat_prompt", "chat_request", "embed_request", "never_streams"]


def chat_prompt(messages: Any) -> str | None:
    """The conversation as one text (what the reply is a function of), or ``None`` if malformed."""
    if not isinstance(messages, list):
        return None
    parts: list[str] = []
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content", ""), str):
            return None
        parts.append(f"{m['role']}: {m.get('content', '')}")
    return "\n".join(parts)


def chat_request(call: Call) -> tuple[str, str] | web.Response:
    """The model and the conversation of a chat request, or the 400/404 it gets."""
    model = model_or_error(call)
    if isinstance(model, web.Response):
        return model
    prompt = chat_prompt(call.body.get("messages", []))
    if prompt is None:
        return call.error(400, "messages must be a list of {role, content} objects")
    return model, prompt


def embed_request(call: Call) -> tuple[str, list[str]] | web.Response:
    """The model and the texts of an embedding request (``input``: a string or a list), or the 400/404."""
    model = model_or_error(call)
    if isinstance(model, web.Response):
        return model
    given = call.body.get("input", [])
    texts = [given] if isinstance(given, str) else given
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return call.error(400, "input must be a string or a list of strings")
    return model, texts


def answer(call: Call, model: str, prompt: str, options: dict[str, Any]) -> Reply | web.Response:
    """The reply in the format the request asks for (broken by an ``off-schema`` fault), or 400 for a bad schema."""
    fault = call.fault if is_off_schema(call.fault) else None
    try:
        return reply_for(model, prompt, options, requested_format(call.api, call.body), fault=fault)
    except ValueError as exc:
        return call.error(400, str(exc))


def never_streams(body: dict[str, Any]) -> bool:
    """The stream predicate of a route that answers in one body."""
    return False
