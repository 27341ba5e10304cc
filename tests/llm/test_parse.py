"""What both backends read alike: lists, counts, an error reported inside a 200, vectors."""

from __future__ import annotations

import numpy as np
import pytest

from llm import ProtocolError, StreamError
from llm._parse import count_of, list_field, model_embeddings, no_embeddings, raise_reported

ENDPOINT = "ollama POST /api/chat"


@pytest.mark.parametrize(
    ("obj", "said"),
    [
        ({"error": "model runner crashed"}, "model runner crashed"),  # Ollama's shape
        ({"error": {"message": "overloaded", "type": "api_error"}}, "overloaded"),  # OpenAI's shape
        ({"error": {"type": "api_error"}}, "'type'"),  # no message: the error as it came, quoted
        ({"error": 7}, "7"),
    ],
)
def test_an_error_inside_a_200_is_a_stream_error_saying_what_the_server_said(obj: dict[str, object], said: str) -> None:
    with pytest.raises(StreamError, match="mid-response") as caught:
        raise_reported(obj, ENDPOINT)
    assert said in caught.value.message
    assert caught.value.status == 200 and caught.value.endpoint == ENDPOINT


def test_no_error_key_raises_nothing() -> None:
    raise_reported({"message": {"content": "error"}}, ENDPOINT)


def test_a_list_field_that_is_not_a_list_is_a_protocol_error() -> None:
    assert list_field({"data": [1]}, "data", ENDPOINT) == [1]
    for obj in ({}, {"data": {"a": 1}}, {"data": None}):
        with pytest.raises(ProtocolError, match="expected a 'data' list"):
            list_field(obj, "data", ENDPOINT)


def test_counts_are_whole_numbers_not_booleans() -> None:
    assert [count_of(v) for v in (3, 0, -1, True, 2.0, "4", None)] == [3, 0, -1, None, None, None, None]


def test_model_embeddings_are_normalised_and_named() -> None:
    got = model_embeddings("nomic", [[3.0, 4.0], [0.0, 0.0]], 2, ENDPOINT, prompt_tokens=5)
    assert got.embedder == "model:nomic:2" and got.prompt_tokens == 5
    assert np.allclose(got.vectors, [[0.6, 0.8], [0.0, 0.0]])
    with pytest.raises(ProtocolError, match="expected 3 vectors"):
        model_embeddings("nomic", [[1.0, 2.0]], 3, ENDPOINT)
    assert len(no_embeddings("nomic")) == 0 and no_embeddings("nomic").embedder == "model:nomic:0"
