"""Recording and replaying backends round-trip exchanges, errors included."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llm import (
    Exchange,
    InMemoryExchangeStore,
    LLMBackend,
    Message,
    OllamaBackend,
    OverloadedError,
    RecordingBackend,
    ReplayBackend,
    ReplayMissError,
    StreamError,
    request_key,
)
from llm._exchange import canonical_request
from llm.simulator import Simulator

PROMPT = [Message.system("you are a being"), Message.user("what did you see today?")]


class Ticks:
    """A clock that advances one second per reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


async def test_every_operation_round_trips(backend: OllamaBackend) -> None:
    store = InMemoryExchangeStore()
    recorder = RecordingBackend(backend, store, clock=Ticks())
    typed: LLMBackend = recorder
    chat = await typed.chat(PROMPT, options={"num_predict": 5})
    generated = await recorder.generate("hello", system="terse", format="json")
    embedded = await recorder.embed(["red apple", "green apple"])
    models = await recorder.list_models()
    version = await recorder.version()
    streamed = [c async for c in recorder.chat_stream(PROMPT)]
    gen_streamed = [c async for c in recorder.generate_stream("hello")]
    assert len(store) == 7
    assert all(e.backend == "ollama" for e in store)
    # One clock reading before and one after each call; streams also read it at their first chunk.
    assert [(e.operation, e.duration_s, e.first_chunk_s) for e in store] == [
        ("chat", 1.0, None),
        ("generate", 1.0, None),
        ("embed", 1.0, None),
        ("list_models", 1.0, None),
        ("version", 1.0, None),
        ("chat_stream", 2.0, 1.0),
        ("generate_stream", 2.0, 1.0),
    ]

    # Through JSON, as a durable store would keep them.
    reloaded = InMemoryExchangeStore([Exchange.from_json(json.loads(json.dumps(e.to_json()))) for e in store])
    replay = ReplayBackend(reloaded)
    assert await replay.chat(PROMPT, options={"num_predict": 5}) == chat
    assert await replay.generate("hello", system="terse", format="json") == generated
    again = await replay.embed(["red apple", "green apple"])
    assert again.embedder == embedded.embedder
    assert again.vectors.dtype == np.float32
    assert np.array_equal(again.vectors, embedded.vectors)
    assert await replay.list_models() == models
    assert await replay.version() == version
    assert [c async for c in replay.chat_stream(PROMPT)] == streamed
    assert [c async for c in replay.generate_stream("hello")] == gen_streamed


async def test_errors_are_recorded_and_raised_again_in_order(sim: Simulator, backend: OllamaBackend) -> None:
    store = InMemoryExchangeStore()
    recorder = RecordingBackend(backend, store)
    sim.inject("status:429")
    with pytest.raises(OverloadedError) as first:
        await recorder.chat(PROMPT)
    answer = await recorder.chat(PROMPT)  # the retry
    (failed, succeeded) = list(store)
    assert failed.key == succeeded.key
    assert failed.response is None and failed.error is not None
    assert failed.error["type"] == "OverloadedError"

    replay = ReplayBackend(store)
    with pytest.raises(OverloadedError) as again:
        await replay.chat(PROMPT)
    assert str(again.value) == str(first.value)
    assert again.value.retry_after_s == 1.0 and again.value.status == 429 and again.value.retryable
    assert await replay.chat(PROMPT) == answer
    with pytest.raises(ReplayMissError, match=r"chat messages='what did you see today\?'.*this is call 3"):
        await replay.chat(PROMPT)


async def test_a_stream_that_failed_midway_replays_its_chunks_then_its_error(
    sim: Simulator, backend: OllamaBackend
) -> None:
    store = InMemoryExchangeStore()
    recorder = RecordingBackend(backend, store)
    sim.inject("stream-error")
    seen = []
    with pytest.raises(StreamError):
        async for chunk in recorder.chat_stream(PROMPT):
            seen.append(chunk)  # noqa: PERF401 - the loop is what raises
    replayed = []
    with pytest.raises(StreamError):
        async for chunk in ReplayBackend(store).chat_stream(PROMPT):
            replayed.append(chunk)  # noqa: PERF401 - the loop is what raises
    assert replayed == seen and seen
    (exchange,) = store
    assert exchange.first_chunk_s is not None


async def test_a_stream_left_early_is_recorded_as_far_as_it_was_read(backend: OllamaBackend) -> None:
    store = InMemoryExchangeStore()
    stream = RecordingBackend(backend, store).chat_stream(PROMPT)
    first = await anext(stream)
    await stream.aclose()
    (exchange,) = store
    assert exchange.error is None
    assert [c async for c in ReplayBackend(store).chat_stream(PROMPT)] == [first]


async def test_a_miss_names_the_request() -> None:
    replay = ReplayBackend(InMemoryExchangeStore())
    with pytest.raises(ReplayMissError) as caught:
        await replay.embed(["never recorded"], model="nomic-embed-text")
    assert "embed model=nomic-embed-text" in str(caught.value)
    assert "never recorded" in str(caught.value)
    assert caught.value.retryable is False


def test_keys_depend_on_the_request_not_on_dict_order() -> None:
    one = canonical_request("chat", messages=PROMPT, model=None, options={"a": 1, "b": 2}, format=None)
    two = canonical_request("chat", messages=PROMPT, model=None, options={"b": 2, "a": 1}, format=None)
    three = canonical_request("chat", messages=PROMPT, model="other", options={"a": 1, "b": 2}, format=None)
    assert request_key(one) == request_key(two) != request_key(three)
