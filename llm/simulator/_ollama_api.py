"""The simulator's Ollama routes, in Ollama's exact JSON shapes."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from llm.simulator._call import Call, model_or_error
from llm.simulator._plan import full_name
from llm.simulator._replies import embed_vectors, prompt_tokens, statistics
from llm.simulator._requests import Answer, answer, chat_answer, embedded, never_streams

__all__ = ["CREATED_AT", "ROUTES"]

CREATED_AT = "2026-01-01T00:00:00Z"  # fixed: answers are a function of the request only
NDJSON = "application/x-ndjson"


def _final(answered: Answer) -> dict[str, Any]:
    reply = answered.reply
    return {
        "done_reason": reply.done_reason,
        "done": True,
        **statistics(prompt_tokens(answered.prompt), len(reply.pieces)),
    }


async def chat(call: Call) -> web.StreamResponse:
    answered = chat_answer(call)
    if isinstance(answered, web.Response):
        return answered
    head = {"model": answered.model, "created_at": CREATED_AT}
    if call.body.get("stream", True) is False:
        message = {"role": "assistant", "content": answered.reply.text}
        return call.json({**head, "message": message, **_final(answered)})
    frames = [
        call.frame({**head, "message": {"role": "assistant", "content": piece}, "done": False})
        for piece in answered.reply.pieces
    ]
    frames.append(call.frame({**head, "message": {"role": "assistant", "content": ""}, **_final(answered)}))
    return await call.stream(frames, NDJSON)


async def generate(call: Call) -> web.StreamResponse:
    model = model_or_error(call)
    if isinstance(model, web.Response):
        return model
    prompt, system = call.body.get("prompt", ""), call.body.get("system", "")
    if not isinstance(prompt, str) or not isinstance(system, str):
        return call.error(400, "prompt and system must be strings")
    answered = answer(call, model, f"{system}\n{prompt}" if system else prompt)
    if isinstance(answered, web.Response):
        return answered
    head = {"model": model, "created_at": CREATED_AT}
    if call.body.get("stream", True) is False:
        return call.json({**head, "response": answered.reply.text, **_final(answered)})
    frames = [call.frame({**head, "response": piece, "done": False}) for piece in answered.reply.pieces]
    frames.append(call.frame({**head, "response": "", **_final(answered)}))
    return await call.stream(frames, NDJSON)


async def embed(call: Call) -> web.StreamResponse:
    found = embedded(call)
    if isinstance(found, web.Response):
        return found
    return call.json(
        {
            "model": found.model,
            "embeddings": found.vectors.tolist(),
            "total_duration": 1_000_000 + found.tokens * 100_000,
            "load_duration": 1_000_000,
            "prompt_eval_count": found.tokens,
        }
    )


async def embeddings(call: Call) -> web.StreamResponse:
    """The legacy endpoint: one prompt, one vector, not normalised."""
    model = model_or_error(call)
    if isinstance(model, web.Response):
        return model
    prompt = call.body.get("prompt", "")
    if not isinstance(prompt, str):
        return call.error(400, "prompt must be a string")
    vector = embed_vectors([prompt], call.plan.embed_dim)[0] * (1.0 + prompt_tokens(prompt))
    return call.json({"embedding": vector.tolist()})


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


async def tags(call: Call) -> web.StreamResponse:
    models = [
        {
            "name": full_name(m),
            "model": full_name(m),
            "modified_at": CREATED_AT,
            "size": 1_000_000 + len(m) * 1000,
            "digest": _digest(full_name(m)),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": m.split(":")[0].split("/")[-1].rstrip("0123456789."),
                "families": None,
                "parameter_size": "1B",
                "quantization_level": "Q4_K_M",
            },
        }
        for m in call.plan.models
    ]
    return call.json({"models": models})


async def version(call: Call) -> web.StreamResponse:
    return call.json({"version": "0.0.0-simulator"})


def _streams_by_default(body: dict[str, Any]) -> bool:
    return body.get("stream", True) is not False


ROUTES = (
    ("POST", "/api/chat", chat, _streams_by_default),
    ("POST", "/api/generate", generate, _streams_by_default),
    ("POST", "/api/embed", embed, never_streams),
    ("POST", "/api/embeddings", embeddings, never_streams),
    ("GET", "/api/tags", tags, never_streams),
    ("GET", "/api/version", version, never_streams),
)
