"""Both backends send a schema the way their API wants it, and hand back an answer that is not JSON as content."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from llm import HttpConfig, Message, OllamaBackend, OpenAIBackend
from llm._openai_format import STRICT_MAX_DEPTH, response_format, strict_allowed
from llm.simulator import Simulator
from tests.llm.schema_strategies import DECISION

PROMPT = [Message.system("decide"), Message.user("what now")]
STRICT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action": {"enum": ["observe", "note"]},
        "reason": {"type": ["string", "null"]},
        "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
    },
    "required": ["action", "reason", "steps"],
    "additionalProperties": False,
    "$defs": {
        "step": {
            "anyOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {"n": {"type": "integer"}},
                    "required": ["n"],
                    "additionalProperties": False,
                },
            ]
        }
    },
}


@pytest.fixture
async def openai(sim: Simulator) -> AsyncIterator[OpenAIBackend]:
    backend = OpenAIBackend(http=HttpConfig(base_url=sim.base_url + "/v1", read_timeout_s=5.0))
    try:
        yield backend
    finally:
        await backend.aclose()


async def test_ollama_sends_the_schema_as_format(backend: OllamaBackend, sim: Simulator) -> None:
    result = await backend.chat(PROMPT, format=DECISION)
    assert sim.stats.last_body is not None and sim.stats.last_body["format"] == DECISION
    assert Draft202012Validator(DECISION).is_valid(json.loads(result.content))


async def test_openai_sends_a_strict_schema_when_the_schema_allows_it(openai: OpenAIBackend, sim: Simulator) -> None:
    result = await openai.chat(PROMPT, format=STRICT)
    assert sim.stats.last_body is not None
    assert sim.stats.last_body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": STRICT, "strict": True},
    }
    assert Draft202012Validator(STRICT).is_valid(json.loads(result.content))


async def test_openai_sends_strict_false_for_a_schema_outside_the_subset(openai: OpenAIBackend, sim: Simulator) -> None:
    titled = {**DECISION, "title": "decision"}  # `arguments` is an open object: strict mode refuses it
    await openai.chat(PROMPT, format=titled)
    assert sim.stats.last_body is not None
    assert sim.stats.last_body["response_format"]["json_schema"] == {
        "name": "decision",
        "schema": titled,
        "strict": False,
    }
    await openai.chat(PROMPT, format="json")
    assert sim.stats.last_body["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("kind", ["not-json", "cut"])
async def test_an_answer_that_is_not_json_is_content_not_an_error(
    backend: OllamaBackend, openai: OpenAIBackend, sim: Simulator, kind: str
) -> None:
    for client in (backend, openai):
        sim.inject(f"off-schema:{kind}")
        result = await client.chat(PROMPT, format=DECISION)
        with pytest.raises(ValueError):
            json.loads(result.content)
        assert result.done_reason == ("length" if kind == "cut" else "stop")
        sim.inject(f"off-schema:{kind}")
        chunks = [c async for c in client.chat_stream(PROMPT, format=DECISION)]
        assert "".join(c.text for c in chunks) == result.content
    assert sim.stats.faults[f"off-schema:{kind}"] == 4


async def test_an_answer_that_fails_the_schema_is_content_too(backend: OllamaBackend, sim: Simulator) -> None:
    sim.inject("off-schema:missing-required")
    result = await backend.chat(PROMPT, format=DECISION)
    assert not Draft202012Validator(DECISION).is_valid(json.loads(result.content))


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        node = {"type": "object", "properties": {"x": node}, "required": ["x"], "additionalProperties": False}
    return node


@pytest.mark.parametrize(
    ("schema", "strict"),
    [
        (STRICT, True),
        ({"type": "object", "properties": {}, "required": [], "additionalProperties": False}, True),
        ({"type": "array", "items": {"type": "string"}}, False),  # the root must be an object
        ({"anyOf": [STRICT]}, False),
        ({**STRICT, "additionalProperties": True}, False),
        ({**STRICT, "required": ["action"]}, False),  # every property must be required
        ({**STRICT, "properties": {**STRICT["properties"], "reason": {"type": "string", "maxLength": 9}}}, False),
        ({**STRICT, "$defs": {"step": {"type": "object"}}}, False),  # an open object among the $defs
        (_nested(STRICT_MAX_DEPTH), True),
        (_nested(STRICT_MAX_DEPTH + 2), False),
        (
            {
                "type": "object",
                "properties": {f"p{i}": {"type": "string"} for i in range(101)},
                "required": [f"p{i}" for i in range(101)],
                "additionalProperties": False,
            },
            False,
        ),
    ],
)
def test_strict_is_asked_only_inside_the_subset(schema: dict[str, Any], strict: bool) -> None:
    assert strict_allowed(schema) is strict
    shape = response_format(schema)
    assert shape is not None and shape["json_schema"]["strict"] is strict


def test_no_format_sends_no_response_format() -> None:
    assert response_format(None) is None
    assert response_format("yaml") is None
    assert response_format({"title": "not a valid name!", "type": "object"})["json_schema"]["name"] == "reply"  # type: ignore[index]
