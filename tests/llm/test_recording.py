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


async def test_chat_and_embed_round_trip(backend: OllamaBackend) -> None:
    store = InMemoryExchangeStore()
    recorder = RecordingBackend(backend, store, clock=Ticks())
    typed: LLMBackend = recorder
    chat = await typed.chat(PROMPT, options={"num_predict": 5})
    embedded = await recorder.embed(["red apple", "green apple"])
    assert len(store) == 2
    assert all(e.backend == "ollama" for e in store)
    # One clock reading when the call is made and one when it ends.
    assert [(e.operation, e.duration_s, e.first_chunk_s) for e in store] == [("chat", 1.0, None), ("embed", 1.0, None)]

    # Through JSON, as a durable store would keep them.
    reloaded = InMemoryExchangeStore([Exchange.from_json(json.loads(json.dumps(e.to_json()))) for e in store])
    replay: LLMBackend = ReplayBackend(reloaded)
    assert await replay.chat(PROMPT, options={"num_predict": 5}) == chat
    again = await replay.embed(["red apple", "green apple"])
    assert again.embedder == embedded.embedder
    assert again.vectors.dtype == np.float32
    assert np.array_equal(again.vectors, embedded.vectors)


async def test_the_inner_call_is_made_when_the_method_is_called(backend: OllamaBackend) -> None:
    """A wrapper outside the recorder (a replay's call counter) must see the call before its task runs."""
    made: list[str] = []

    class Counting:
        name = "counting"

        def chat(self, messages: object, **kwargs: object) -> object:
            made.append("chat")
            return backend.chat(PROMPT)

        def embed(self, texts: object, **kwargs: object) -> object:
            made.append("embed")
            return backend.embed(["x"])

        async def aclose(self) -> None:
            return None

    store = InMemoryExchangeStore()
    recorder = RecordingBackend(Counting(), store)  # type: ignore[arg-type]
    pending_chat = recorder.chat(PROMPT)
    pending_embed = recorder.embed(["x"])
    assert made == ["chat", "embed"] and len(store) == 0
    await pending_chat
    await pending_embed
    assert [e.operation for e in store] == ["chat", "embed"]


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
