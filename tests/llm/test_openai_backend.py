"""The OpenAI-compatible backend against the simulator's /v1 routes; the key never leaks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import numpy as np
import pytest

from llm import (
    BadRequestError,
    HttpConfig,
    LLMBackend,
    LLMError,
    LLMTimeoutError,
    Message,
    ModelNotFoundError,
    OpenAIBackend,
    OverloadedError,
    ProtocolError,
    ServerError,
    StreamError,
    TransportError,
)
from llm.simulator import FaultPlan, Simulator
from tests.llm.llm_support import canned_server

KEY = "sk-live-7f3a9c2e1b5d4a8f"
PROMPT = [Message.system("be brief"), Message.user("what is the weather like")]


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[OpenAIBackend]:
    backend = OpenAIBackend(
        http=HttpConfig(base_url=sim.base_url + "/v1", read_timeout_s=5.0), api_key=KEY, options={"temperature": 0.0}
    )
    try:
        yield backend
    finally:
        await backend.aclose()


async def test_chat_sends_the_key_and_reads_usage(client: OpenAIBackend, sim: Simulator) -> None:
    typed: LLMBackend = client
    result = await typed.chat(PROMPT)
    assert result.content and result.done_reason == "stop"
    assert result.usage.prompt_tokens == 9
    assert result.usage.output_tokens == len(result.content.split())
    assert result.usage.tokens_per_s is None  # OpenAI-compatible servers report no durations
    assert sim.stats.last_authorization == f"Bearer {KEY}"


async def test_the_stream_gives_the_same_text_and_usage_last(client: OpenAIBackend) -> None:
    whole = await client.chat(PROMPT)
    chunks = [c async for c in client.chat_stream(PROMPT)]
    assert "".join(c.text for c in chunks) == whole.content
    assert chunks[-1].done and chunks[-1].done_reason == "stop"
    assert chunks[-1].usage == whole.usage


async def test_generate_is_a_one_message_chat_and_respects_the_token_limit(client: OpenAIBackend) -> None:
    result = await client.generate("tell me about rivers", system="terse", options={"num_predict": 2})
    assert len(result.text.split()) == 2
    assert result.done_reason == "length"
    streamed = [c async for c in client.generate_stream("tell me about rivers", options={"num_predict": 2})]
    assert (
        "".join(c.text for c in streamed).split()
        == (await client.generate("tell me about rivers", options={"num_predict": 2})).text.split()
    )


async def test_json_format_is_sent_as_response_format(client: OpenAIBackend) -> None:
    import json

    assert "reply" in json.loads((await client.chat(PROMPT, format="json")).content)
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    assert set(json.loads((await client.chat(PROMPT, format=schema)).content)) == {"ok"}


async def test_embed_and_models(client: OpenAIBackend) -> None:
    result = await client.embed(["a river at night", "the river by day", "tax forms"])
    assert result.vectors.shape == (3, 768)
    assert np.allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    assert result.embedder == "model:nomic-embed-text:768"
    sims = result.vectors @ result.vectors.T
    assert sims[0, 1] > sims[0, 2]
    assert [m.name for m in await client.list_models()] == ["llama3.2:latest", "nomic-embed-text:latest"]
    assert await client.version() == "openai-compatible"


@pytest.mark.parametrize(
    ("fault", "kind", "retryable"),
    [
        ("status:400", BadRequestError, False),
        ("status:401", BadRequestError, False),
        ("unknown-model", ModelNotFoundError, False),
        ("status:429", OverloadedError, True),
        ("status:503", OverloadedError, True),
        ("status:500", ServerError, True),
        ("malformed", ProtocolError, False),
        ("drop", TransportError, True),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_errors_are_classified(
    client: OpenAIBackend, sim: Simulator, fault: str, kind: type[LLMError], retryable: bool, streaming: bool
) -> None:
    sim.inject(fault)
    with pytest.raises(LLMError) as caught:
        if streaming:
            async for _ in client.chat_stream(PROMPT):
                pass
        else:
            await client.chat(PROMPT)
    assert type(caught.value) is kind
    assert caught.value.retryable is retryable


async def test_an_error_event_mid_stream_is_a_stream_error(client: OpenAIBackend, sim: Simulator) -> None:
    sim.inject("stream-error")
    with pytest.raises(StreamError, match="error was encountered"):
        async for _ in client.chat_stream(PROMPT):
            pass


async def test_a_hang_becomes_a_timeout(sim: Simulator) -> None:
    backend = OpenAIBackend(
        http=HttpConfig(base_url=sim.base_url + "/v1", read_timeout_s=30.0, first_byte_timeout_s=0.2)
    )
    sim.inject("hang")  # not one byte: the first-byte limit, not the gap between bytes, ends it
    with pytest.raises(LLMTimeoutError, match="FirstByteTimeout"):
        await backend.chat(PROMPT)
    await backend.aclose()


async def test_a_stream_that_stalls_after_its_first_event_hits_the_gap_limit(sim: Simulator) -> None:
    backend = OpenAIBackend(
        http=HttpConfig(base_url=sim.base_url + "/v1", read_timeout_s=0.2, first_byte_timeout_s=30.0)
    )
    sim.inject("hang")

    async def read_all() -> None:
        async for _ in backend.chat_stream(PROMPT):
            pass

    with pytest.raises(LLMTimeoutError, match="ReadTimeout"):
        await asyncio.wait_for(read_all(), timeout=10.0)  # the gap limit, long before the first-byte one
    await backend.aclose()


async def test_a_slow_first_byte_within_its_limit_is_no_timeout() -> None:
    async with Simulator(FaultPlan(latency_ms=400.0)) as slow:
        backend = OpenAIBackend(
            http=HttpConfig(base_url=slow.base_url + "/v1", read_timeout_s=0.1, first_byte_timeout_s=10.0)
        )
        assert (await backend.chat(PROMPT)).content
        await backend.aclose()


async def test_the_key_never_appears_in_repr_errors_or_logs(
    client: OpenAIBackend, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert KEY not in repr(client) and "***" in repr(client)
    sim.inject("status:401")  # the simulator echoes the presented key back, as real servers do
    with pytest.raises(BadRequestError) as caught:
        await client.chat(PROMPT)
    assert KEY not in str(caught.value)
    assert "Incorrect API key provided: ***" in str(caught.value)
    assert KEY not in repr(caught.value) and KEY not in caught.value.message
    logging.getLogger("llm").error("llm.failed", exc_info=caught.value)
    await client.chat(PROMPT)
    assert caplog.records  # the error, logged with its traceback and causes, and whatever the request logged...
    assert KEY not in caplog.text  # ...without the key


async def test_no_key_sends_no_authorization(sim: Simulator) -> None:
    backend = OpenAIBackend(http=HttpConfig(base_url=sim.base_url + "/v1"))
    await backend.chat(PROMPT)
    assert sim.stats.last_authorization is None
    await backend.aclose()


async def test_a_stream_without_a_finish_reason_is_a_protocol_error() -> None:
    event = b'data: {"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
    async with canned_server(event + b"data: [DONE]\n\n", content_type="text/event-stream") as url:
        backend = OpenAIBackend(http=HttpConfig(base_url=url + "/v1"))
        with pytest.raises(ProtocolError, match="without a finish_reason"):
            async for _ in backend.chat_stream(PROMPT):
                pass
        await backend.aclose()
