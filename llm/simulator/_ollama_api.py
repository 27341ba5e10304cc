"""The simulator's Ollama routes, in Ollama's exact JSON shapes."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from llm.simulator._call import Call, model_or_error
from llm.simulator._plan import full_name
from llm.simulator._replies import Reply, embed_vectors, prompt_tokens, statistics
from llm.simulator._requests import answer, chat_request, embed_request, never_streams

__all__ = ["CREATED_AT", "ROUTES", "options_of"]

CREATED_AT = "2026-01-01T00:00:00Z"  # fixed: answers are a function of the request only
NDJSON = "application/x-ndjson"


def options_of(body: dict[str, Any]) -> dict[str, Any]:
    options = body.get("options")
    return options if isinstance(options, dict) else {}


def _final(model: str, prompt: str, reply: Reply) -> dict[str, Any]:
    return {"done_reason": reply.done_reason, "done": True, **statistics(prompt_tokens(prompt), len(reply.pieces))}


async def chat(call: Call) -> web.StreamResponse:
    request = chat_request(call)
    if isinstance(request, web.Response):
        return request
    model, prompt = request
    reply = answer(call, model, prompt, options_of(call.body))
    if isinstance(reply, web.Response):
        return reply
    head = {"model": model, "created_at": CREATED_AT}
    if call.body.get("stream", True) is False:
        message = {"role": "assistant", "content": reply.text}
        return call.json({**head, "message": message, **_final(model, prompt, reply)})
    frames = [
        call.frame({**head, "message": {"role": "assistant", "content": piece}, "done": False})
        for piece in reply.pieces
    ]
    frames.append(call.frame({**head, "message": {"role": "assistant", "content": ""}, **_final(model, prompt, reply)}))
    return await call.stream(frames, NDJSON)


async def generate(call: Call) -> web.StreamResponse:
    model = model_or_error(call)
    if isinstance(model, web.Response):
        return model
    prompt, system = call.body.get("prompt", ""), call.body.get("system", "")
    if not isinstance(prompt, str) or not isinstance(system, str):
        return call.error(400, "prompt and system must be strings")
    text = f"{system}\n{prompt}" if system else prompt
    reply = answer(call, model, text, options_of(call.body))
    if isinstance(reply, web.Response):
        return reply
    head = {"model": model, "created_at": CREATED_AT}
    if call.body.get("stream", True) is False:
        return call.json({**head, "response": reply.text, **_final(model, text, reply)})
    frames = [call.frame({**head, "response": piece, "done": False}) for piece in reply.pieces]
    frames.append(call.frame({**head, "response": "", **_final(model, text, reply)}))
    return await call.stream(frames, NDJSON)


async def embed(call: Call) -> web.StreamResponse:
    request = embed_request(call)
    if isinstance(request, web.Response):
        return request
    model, texts = request
    vectors = embed_vectors(texts, call.plan.embed_dim)
    tokens = sum(prompt_tokens(t) for t in texts)
    return call.json(
        {
            "model": model,
            "embeddings": vectors.tolist(),
            "total_duration": 1_000_000 + tokens * 100_000,
            "load_duration": 1_000_000,
            "prompt_eval_count": tokens,
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
