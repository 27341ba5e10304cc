"""The Ollama backend against the simulator over real loopback HTTP: the happy paths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llm import Chunk, LLMBackend, Message, OllamaBackend
from llm.simulator import FaultPlan, Simulator
from tests.llm.llm_support import http_for

HELLO = [Message.system("be brief"), Message.user("hello there, how are you")]


def test_the_backend_satisfies_the_protocol(backend: OllamaBackend) -> None:
    typed: LLMBackend = backend
    assert isinstance(typed, LLMBackend)


async def test_chat_is_deterministic_and_carries_usage(backend: OllamaBackend) -> None:
    first = await backend.chat(HELLO)
    second = await backend.chat(HELLO)
    assert first == second
    assert first.model == "llama3.2"
    assert first.content
    assert first.done_reason == "stop"
    words = len(first.content.split())
    # The simulator: one prompt token per word of "role: content" lines, 5 ms per output token.
    usage = first.usage
    assert (usage.prompt_tokens, usage.output_tokens) == (9, words)
    assert usage.load_duration_s == pytest.approx(0.002)
    assert usage.prompt_eval_duration_s == pytest.approx(0.009)
    assert usage.eval_duration_s == pytest.approx(0.005 * words)
    assert usage.total_duration_s == pytest.approx(0.002 + 0.009 + 0.005 * words)
    assert first.usage.tokens_per_s == pytest.approx(200.0)


async def test_chat_stream_yields_the_same_reply_piece_by_piece(backend: OllamaBackend) -> None:
    whole = await backend.chat(HELLO)
    chunks: list[Chunk] = [chunk async for chunk in backend.chat_stream(HELLO)]
    assert len(chunks) == len(whole.content.split()) + 1
    assert "".join(c.text for c in chunks) == whole.content
    assert [c.done for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].usage == whole.usage
    assert chunks[-1].done_reason == "stop"


async def test_generate_with_system_and_a_token_limit(backend: OllamaBackend) -> None:
    result = await backend.generate("tell me about rivers", system="you are terse", options={"num_predict": 3})
    assert len(result.text.split()) == 3
    assert result.done_reason == "length"
    assert result.usage.output_tokens == 3
    assert result.usage.prompt_tokens == 7


async def test_generate_stream_matches_generate(backend: OllamaBackend) -> None:
    whole = await backend.generate("tell me about rivers")
    chunks = [c async for c in backend.generate_stream("tell me about rivers")]
    assert "".join(c.text for c in chunks) == whole.text
    assert chunks[-1].done and chunks[-1].usage == whole.usage


async def test_configured_options_are_sent_and_a_call_overrides_them(sim: Simulator) -> None:
    client = OllamaBackend(http=http_for(sim), options={"num_predict": 2})
    try:
        assert (await client.generate("x")).usage.output_tokens == 2
        assert (await client.generate("x", options={"num_predict": 4})).usage.output_tokens == 4
    finally:
        await client.aclose()


async def test_json_format_and_schema(backend: OllamaBackend) -> None:
    reply = await backend.chat(HELLO, format="json")
    assert isinstance(json.loads(reply.content), dict)
    schema = {"type": "object", "properties": {"mood": {"type": "string"}, "score": {"type": "integer"}}}
    shaped = json.loads((await backend.chat(HELLO, format=schema)).content)
    assert set(shaped) == {"mood", "score"}
    assert isinstance(shaped["mood"], str) and isinstance(shaped["score"], int)


async def test_embed_a_batch(backend: OllamaBackend) -> None:
    texts = ["the cat sat on the mat", "a cat sat on a hat", "quarterly revenue grew"]
    result = await backend.embed(texts)
    assert result.vectors.shape == (3, 768)
    assert result.vectors.dtype == np.float32
    assert result.embedder == "model:nomic-embed-text:768"
    assert np.allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    sims = result.vectors @ result.vectors.T
    assert sims[0, 1] > sims[0, 2]
    assert result.prompt_tokens == 6 + 6 + 3


async def test_embed_nothing_asks_nothing(backend: OllamaBackend, sim: Simulator) -> None:
    result = await backend.embed([])
    assert len(result) == 0
    assert sim.stats.total == 0


async def test_an_older_server_falls_back_to_the_legacy_endpoint_once() -> None:
    async with Simulator(FaultPlan(legacy_embed=True)) as sim:
        client = OllamaBackend(http=http_for(sim))
        try:
            first = await client.embed(["red apple", "green apple", "blue sky"])
            second = await client.embed(["red apple"])
        finally:
            await client.aclose()
    assert first.vectors.shape == (3, 768)
    # The legacy endpoint's vectors are not normalised; the backend normalises them.
    assert np.allclose(np.linalg.norm(first.vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(second.vectors[0], first.vectors[0])
    assert sim.stats.requests["/api/embed"] == 1  # asked once, then remembered
    assert sim.stats.requests["/api/embeddings"] == 4


async def test_legacy_and_batch_endpoints_agree_on_direction(sim: Simulator) -> None:
    client = OllamaBackend(http=http_for(sim))
    async with Simulator(FaultPlan(legacy_embed=True)) as old:
        legacy = OllamaBackend(http=http_for(old))
        try:
            new_vectors = (await client.embed(["one two three"])).vectors
            old_vectors = (await legacy.embed(["one two three"])).vectors
        finally:
            await legacy.aclose()
            await client.aclose()
    assert np.allclose(new_vectors, old_vectors, atol=1e-6)


async def test_list_models_and_version(backend: OllamaBackend) -> None:
    models = await backend.list_models()
    assert [m.name for m in models] == ["llama3.2:latest", "nomic-embed-text:latest"]
    assert models[0].family == "llama"
    assert models[0].quantization_level == "Q4_K_M"
    assert await backend.version() == "0.0.0-simulator"


def test_repr_names_the_server_not_the_headers(sim: Simulator) -> None:
    client = OllamaBackend(http=http_for(sim), headers={"Authorization": "Bearer hidden"})
    assert sim.base_url in repr(client)
    assert "hidden" not in repr(client)
