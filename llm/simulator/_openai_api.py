"""The simulator's OpenAI-compatible routes (``/v1``), as Ollama serves them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llm.simulator._call import Call
from llm.simulator._plan import full_name
from llm.simulator._replies import prompt_tokens
from llm.simulator._requests import chat_answer, embedded, never_streams

__all__ = ["ROUTES"]

SSE = "text/event-stream"


async def chat_completions(call: Call) -> web.StreamResponse:
    answered = chat_answer(call)
    if isinstance(answered, web.Response):
        return answered
    model, prompt, reply = answered.model, answered.prompt, answered.reply
    finish = "length" if reply.done_reason == "length" else "stop"
    usage = {
        "prompt_tokens": prompt_tokens(prompt),
        "completion_tokens": len(reply.pieces),
        "total_tokens": prompt_tokens(prompt) + len(reply.pieces),
    }
    head = {"id": "chatcmpl-sim", "created": 0, "model": model, "system_fingerprint": "fp_simulator"}
    if call.body.get("stream") is not True:
        choice = {"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": finish}
        return call.json({**head, "object": "chat.completion", "choices": [choice], "usage": usage})
    chunk_head = {**head, "object": "chat.completion.chunk"}
    frames = [
        call.frame(
            {
                **chunk_head,
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}],
            }
        )
        for piece in reply.pieces
    ]
    frames.append(call.frame({**chunk_head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}))
    stream_options = call.body.get("stream_options")
    if isinstance(stream_options, dict) and stream_options.get("include_usage") is True:
        frames.append(call.frame({**chunk_head, "choices": [], "usage": usage}))
    frames.append(b"data: [DONE]\n\n")
    return await call.stream(frames, SSE)


async def embeddings(call: Call) -> web.StreamResponse:
    found = embedded(call)
    if isinstance(found, web.Response):
        return found
    data = [{"object": "embedding", "embedding": row, "index": i} for i, row in enumerate(found.vectors.tolist())]
    usage = {"prompt_tokens": found.tokens, "total_tokens": found.tokens}
    return call.json({"object": "list", "data": data, "model": found.model, "usage": usage})


async def models(call: Call) -> web.StreamResponse:
    data = [{"id": full_name(m), "object": "model", "created": 0, "owned_by": "library"} for m in call.plan.models]
    return call.json({"object": "list", "data": data})


def _streams_when_asked(body: dict[str, Any]) -> bool:
    return body.get("stream") is True


ROUTES = (
    ("POST", "/v1/chat/completions", chat_completions, _streams_when_asked),
    ("POST", "/v1/embeddings", embeddings, never_streams),
    ("GET", "/v1/models", models, never_streams),
)
