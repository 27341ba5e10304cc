"""Every way an Ollama call fails becomes one exact error class with the right retryability."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from llm import (
    BadRequestError,
    HttpConfig,
    LLMError,
    LLMTimeoutError,
    Message,
    ModelNotFoundError,
    OllamaBackend,
    OverloadedError,
    ProtocolError,
    ServerError,
    StreamError,
    TransportError,
)
from llm.simulator import FaultPlan, Simulator
from tests.llm.llm_support import canned_server, http_for

PROMPT = [Message.user("say something long enough to stream")]

STATUS_CASES = [
    ("status:400", BadRequestError, False, None),
    ("status:401", BadRequestError, False, None),
    ("status:404", ModelNotFoundError, False, None),
    ("unknown-model", ModelNotFoundError, False, None),
    ("status:429", OverloadedError, True, 1.0),
    ("status:503", OverloadedError, True, None),
    ("status:500", ServerError, True, None),
    ("status:502", ServerError, True, None),
    ("status:504", ServerError, True, None),
]


async def _chat(backend: OllamaBackend) -> None:
    await backend.chat(PROMPT)


async def _chat_stream(backend: OllamaBackend) -> None:
    async for _ in backend.chat_stream(PROMPT):
        pass


async def _generate_stream(backend: OllamaBackend) -> None:
    async for _ in backend.generate_stream("say something long enough to stream"):
        pass


async def _embed(backend: OllamaBackend) -> None:
    await backend.embed(["a text"])


CALLS = {"chat": _chat, "chat_stream": _chat_stream, "generate_stream": _generate_stream}


@pytest.mark.parametrize(("fault", "kind", "retryable", "retry_after"), STATUS_CASES)
@pytest.mark.parametrize("call", sorted(CALLS))
async def test_status_errors_are_classified(
    sim: Simulator,
    backend: OllamaBackend,
    call: str,
    fault: str,
    kind: type[LLMError],
    retryable: bool,
    retry_after: float | None,
) -> None:
    sim.inject(fault)
    with pytest.raises(LLMError) as caught:
        await CALLS[call](backend)
    assert type(caught.value) is kind
    assert caught.value.retryable is retryable
    assert getattr(caught.value, "retryable", False) is retryable  # what the retry operator reads
    assert caught.value.retry_after_s == retry_after
    assert caught.value.status is not None
    assert "/api/" in str(caught.value)


async def test_unknown_model_tells_the_user_to_pull_it(backend: OllamaBackend) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        await backend.chat(PROMPT, model="no-such-model")
    assert "ollama pull no-such-model" in str(caught.value)
    assert caught.value.retryable is False


async def test_the_busy_message_of_a_full_queue_is_kept(sim: Simulator, backend: OllamaBackend) -> None:
    sim.inject("status:503")
    with pytest.raises(OverloadedError, match="maximum pending requests exceeded"):
        await backend.chat(PROMPT)


async def test_too_many_requests_in_flight_get_503(backend: OllamaBackend) -> None:
    async with Simulator(FaultPlan(max_in_flight=2)) as limited:
        client = OllamaBackend(http=http_for(limited))
        limited.hold()
        first = [asyncio.ensure_future(client.chat(PROMPT)) for _ in range(2)]
        await limited.stats.wait_until(lambda s: s.in_flight == 2)
        with pytest.raises(OverloadedError) as caught:
            await client.chat(PROMPT)
        assert caught.value.status == 503
        limited.release()
        assert all(r.content for r in await asyncio.gather(*first))
        await client.aclose()


async def test_an_error_line_mid_stream_is_a_stream_error(sim: Simulator, backend: OllamaBackend) -> None:
    sim.inject("stream-error")
    received: list[str] = []
    with pytest.raises(StreamError) as caught:
        async for chunk in backend.chat_stream(PROMPT):
            received.append(chunk.text)  # noqa: PERF401 - the loop is what raises
    assert received  # the error came after real chunks, under status 200
    assert caught.value.status == 200
    assert caught.value.retryable is True
    assert "error was encountered while running the model" in str(caught.value)


async def test_a_runner_failure_without_streaming_is_a_server_error(sim: Simulator, backend: OllamaBackend) -> None:
    sim.inject("stream-error")
    with pytest.raises(ServerError):
        await backend.chat(PROMPT)


@pytest.mark.parametrize("call", ["chat", "chat_stream", "embed"])
async def test_malformed_json_is_a_protocol_error_showing_the_first_bytes(
    sim: Simulator, backend: OllamaBackend, call: str
) -> None:
    sim.inject("malformed")
    with pytest.raises(ProtocolError) as caught:
        await {**CALLS, "embed": _embed}[call](backend)
    assert type(caught.value) is ProtocolError
    assert caught.value.retryable is False
    assert 'b\'{"model": "oops"' in str(caught.value)
    assert isinstance(caught.value.__cause__, ValueError)


async def test_a_body_of_the_wrong_shape_is_a_protocol_error() -> None:
    async with canned_server(b'{"model": "m", "message": "not an object", "done": true}') as url:
        client = OllamaBackend(http=HttpConfig(base_url=url))
        with pytest.raises(ProtocolError, match="expected a 'message' object"):
            await client.chat(PROMPT)
        await client.aclose()


async def test_a_stream_cut_short_without_its_final_chunk_is_a_protocol_error() -> None:
    async with canned_server(b'{"model":"m","message":{"content":"hi"},"done":false}\n') as url:
        client = OllamaBackend(http=HttpConfig(base_url=url))
        with pytest.raises(ProtocolError, match="before its final chunk"):
            await _chat_stream(client)
        await client.aclose()


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_dropped_connection_is_a_transport_error(sim: Simulator, backend: OllamaBackend, call: str) -> None:
    sim.inject("drop")
    with pytest.raises(TransportError) as caught:
        await CALLS[call](backend)
    assert type(caught.value) is TransportError
    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, aiohttp.ClientError)


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_hang_becomes_a_timeout(sim: Simulator, call: str) -> None:
    client = OllamaBackend(http=http_for(sim, read_timeout_s=0.2, first_byte_timeout_s=0.2))
    sim.inject("hang")
    with pytest.raises(LLMTimeoutError) as caught:
        await CALLS[call](client)
    assert caught.value.retryable is True
    assert isinstance(caught.value, TransportError)
    assert isinstance(caught.value.__cause__, TimeoutError)
    await client.aclose()
    await sim.stats.wait_until(lambda s: s.disconnects == 1 and s.in_flight == 0)


async def test_no_first_byte_in_time_is_a_first_byte_timeout_whatever_the_gap_limit() -> None:
    async with Simulator() as sim:
        client = OllamaBackend(http=http_for(sim, read_timeout_s=30.0, first_byte_timeout_s=0.2))
        sim.inject("hang")  # a non-streamed answer: not one byte
        with pytest.raises(LLMTimeoutError, match="FirstByteTimeout") as caught:
            await client.chat(PROMPT)
        assert caught.value.retryable is True and isinstance(caught.value.__cause__, TimeoutError)
        await client.aclose()


async def test_after_the_first_byte_the_limit_is_the_gap_between_bytes() -> None:
    async with Simulator() as sim:
        client = OllamaBackend(http=http_for(sim, read_timeout_s=0.2, first_byte_timeout_s=30.0))
        sim.inject("hang")  # a streamed answer: the first chunk, then nothing
        with pytest.raises(LLMTimeoutError) as caught:
            # the gap limit ends it, long before the first-byte limit would (wait_for only keeps a failure short)
            await asyncio.wait_for(_chat_stream(client), timeout=10.0)
        assert "FirstByteTimeout" not in str(caught.value) and "ReadTimeout" in str(caught.value)
        await client.aclose()


@pytest.mark.parametrize("call", ["chat", "chat_stream"])
async def test_a_first_byte_slower_than_the_gap_limit_is_no_timeout(call: str) -> None:
    # the server takes 0.4 s before answering (a model loading): longer than the gap limit, within the first-byte one
    async with Simulator(FaultPlan(latency_ms=400.0)) as sim:
        client = OllamaBackend(http=http_for(sim, read_timeout_s=0.1, first_byte_timeout_s=10.0))
        await CALLS[call](client)
        await client.aclose()


async def test_a_refused_connection_is_a_transport_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = OllamaBackend(http=HttpConfig(base_url=f"http://127.0.0.1:{port}"))
    with pytest.raises(TransportError) as caught:
        await client.version()
    assert type(caught.value) is TransportError
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)
    await client.aclose()


async def test_errors_survive_pickling_with_their_fields() -> None:
    import pickle

    error = OverloadedError("busy", status=429, retry_after_s=2.5, endpoint="ollama POST /api/chat")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is OverloadedError
    assert (copy.message, copy.status, copy.retry_after_s, copy.endpoint, copy.retryable) == (
        "busy",
        429,
        2.5,
        "ollama POST /api/chat",
        True,
    )
