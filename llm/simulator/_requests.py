"""What the simulator's two APIs read and answer alike: a chat's prompt and reply, the texts to embed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from aiohttp import web

from llm.simulator._call import Call, model_or_error, requested_format
from llm.simulator._plan import is_off_schema
from llm.simulator._replies import Reply, embed_vectors, prompt_tokens, reply_for

__all__ = ["Answer", "Embedded", "answer", "chat_answer", "chat_prompt", "embedded", "never_streams", "options_of"]


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply and what it answers: the model and the prompt (the reply is a function of both)."""

    model: str
    prompt: str
    reply: Reply


@dataclass(frozen=True, slots=True, eq=False)
class Embedded:
    """The vectors of an embedding request, one row per text, and the texts' token count."""

    model: str
    vectors: npt.NDArray[np.float32]
    tokens: int


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


def options_of(call: Call) -> dict[str, Any]:
    """The generation options that shape a reply: Ollama's ``options``; OpenAI's ``max_tokens`` as ``num_predict``."""
    if call.api == "ollama":
        options = call.body.get("options")
        return options if isinstance(options, dict) else {}
    limit = call.body.get("max_tokens")
    return {"num_predict": limit} if isinstance(limit, int) else {}


def answer(call: Call, model: str, prompt: str) -> Answer | web.Response:
    """The reply in the format the request asks for (broken by an ``off-schema`` fault), or 400 for a bad schema."""
    fault = call.fault if is_off_schema(call.fault) else None
    try:
        reply = reply_for(model, prompt, options_of(call), requested_format(call.api, call.body), fault=fault)
    except ValueError as exc:
        return call.error(400, str(exc))
    return Answer(model, prompt, reply)


def chat_answer(call: Call) -> Answer | web.Response:
    """The reply to a chat request, or the 400/404 it gets."""
    model = model_or_error(call)
    if isinstance(model, web.Response):
        return model
    prompt = chat_prompt(call.body.get("messages", []))
    if prompt is None:
        return call.error(400, "messages must be a list of {role, content} objects")
    return answer(call, model, prompt)


def embedded(call: Call) -> Embedded | web.Response:
    """The vectors of an embedding request (``input``: a string or a list of them), or the 400/404 it gets."""
    model = model_or_error(call)
    if isinstance(model, web.Response):
        return model
    given = call.body.get("input", [])
    texts = [given] if isinstance(given, str) else given
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return call.error(400, "input must be a string or a list of strings")
    return Embedded(model, embed_vectors(texts, call.plan.embed_dim), sum(prompt_tokens(t) for t in texts))


def never_streams(body: dict[str, Any]) -> bool:
    """The stream predicate of a route that answers in one body."""
    return False
