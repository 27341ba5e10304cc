"""The simulator's instances of JSON schemas: valid (Draft 2020-12), deterministic, different per prompt."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from llm.simulator._pattern import example_of
from llm.simulator._replies import reply_for
from llm.simulator._schema import Draws, instance_of, schema_seed
from tests.llm.schema_strategies import DECISION, schemas, simple_patterns


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(instance)]


@settings(max_examples=400, deadline=None)
@given(schema=schemas(), prompt=st.text(max_size=20))
def test_every_generated_schema_gets_a_valid_instance(schema: dict[str, Any], prompt: str) -> None:
    Draft202012Validator.check_schema(schema)
    reply = reply_for("llama3.2", prompt, {}, schema)
    instance = json.loads(reply.text)
    assert _errors(schema, instance) == []
    assert reply.done_reason == "stop"


def test_a_pattern_whose_example_is_longer_than_a_made_up_text_still_gets_it() -> None:
    """Without a maxLength, a pattern's example may be longer than the 40 characters a made-up text gets
    (found by the property above: such an example was dropped for words the pattern does not match)."""
    part = {"type": "array", "items": {"type": "string", "pattern": "^x(?:abcdefgh){5,}$"}}  # 41 or more
    schema = {"type": "object", "properties": {"b": part}, "required": ["b"]}
    for prompt in ("", "a", "garden", "letter"):
        instance = json.loads(reply_for("llama3.2", prompt, {}, schema).text)
        assert _errors(schema, instance) == []


@settings(max_examples=300, deadline=None)
@given(pattern=simple_patterns(), seed=st.binary(min_size=1, max_size=8))
def test_a_simple_pattern_gets_a_string_it_matches(pattern: str, seed: bytes) -> None:
    found = example_of(pattern, Draws(seed).below)
    assert found is not None
    assert re.search(pattern, found) is not None


@pytest.mark.parametrize("pattern", [r"^(?=a)b$", r"^[^a]+$", r"(a)\1", r"\bword\b", r"^a{2000}$"])
def test_a_pattern_that_is_not_simple_gets_the_plain_words(pattern: str) -> None:
    assert example_of(pattern, Draws(b"x").below) is None
    value = instance_of({"type": "string", "pattern": pattern, "maxLength": 12}, Draws(b"x"))
    assert isinstance(value, str) and len(value) <= 12


@pytest.mark.parametrize("pattern", [r"[z-a]", r"(ab", r"a**"])
def test_a_pattern_that_is_not_a_regex_is_refused(pattern: str) -> None:
    assert example_of(pattern, Draws(b"x").below) is None
    with pytest.raises(ValueError, match="is not a 'regex'"):
        instance_of({"type": "string", "pattern": pattern}, Draws(b"x"))


def test_the_instance_is_a_function_of_model_prompt_and_schema() -> None:
    one = reply_for("llama3.2", "user: what now", {}, DECISION).text
    assert reply_for("llama3.2", "user: what now", {}, DECISION).text == one
    assert _errors(DECISION, json.loads(one)) == []
    other_schema = {**DECISION, "title": "decision"}
    texts = {
        reply_for("llama3.2", "user: what now", {}, other_schema).text,
        reply_for("other", "user: what now", {}, DECISION).text,
        reply_for("llama3.2", "user: what next", {}, DECISION).text,
    }
    assert one not in texts


def test_different_prompts_pick_different_tools() -> None:
    actions = [json.loads(reply_for("llama3.2", f"user: tick {i}", {}, DECISION).text)["action"] for i in range(40)]
    assert len(set(actions)) >= 5
    assert set(actions) <= set(DECISION["properties"]["action"]["enum"])


def test_required_optional_and_closed_objects() -> None:
    schema = {
        "type": "object",
        "properties": {"must": {"type": "integer"}, "may": {"type": "boolean"}},
        "required": ["must", "also"],
        "additionalProperties": {"type": "string", "const": "x"},
    }
    value = instance_of(schema, Draws(b"1"))
    assert set(value) == {"must", "may", "also"}  # the optional property too, and the undeclared required one
    assert isinstance(value["must"], int) and isinstance(value["may"], bool) and value["also"] == "x"
    closed = {
        "type": "object",
        "properties": {"a": {"type": "null"}},
        "additionalProperties": False,
        "minProperties": 3,
    }
    assert instance_of(closed, Draws(b"1")) == {"a": None}  # no property is made up where none is allowed


def test_refs_to_defs_and_a_recursive_schema_end() -> None:
    tree = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "name": {"const": "n"},
                    "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["name", "kids"],
            }
        },
        "$ref": "#/$defs/node",
    }
    value = instance_of(tree, Draws(b"tree"))
    assert _errors(tree, value) == []
    depth, node = 0, value
    while node["kids"]:
        node, depth = node["kids"][0], depth + 1
    assert depth <= 10


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"$ref": "#/$defs/missing"}, "points to no schema"),
        ({"$ref": "https://example.org/schema.json"}, "only local"),
        ({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, "circle"),
        ({"type": "object", "properties": {"again": {"$ref": "#"}}, "required": ["again"]}, "without end"),
    ],
)
def test_a_schema_with_no_instance_is_a_value_error(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        instance_of(schema, Draws(b"x"))


def test_the_seed_separates_its_parts() -> None:
    assert schema_seed("ab", "c") != schema_seed("a", "bc")


def test_a_closed_branch_keeps_the_properties_to_its_own() -> None:
    schema = {
        "type": "object",
        "properties": {"op": {"enum": ["add", "drop"]}, "id": {"type": "string"}, "text": {"type": "string"}},
        "required": ["op"],
        "additionalProperties": False,
        "oneOf": [
            {"properties": {"op": {"const": "add"}, "text": {"type": "string"}}, "additionalProperties": False},
            {"properties": {"op": {"const": "drop"}, "id": {"type": "string"}}, "additionalProperties": False},
        ],
    }
    values = [instance_of(schema, Draws(bytes([i]))) for i in range(20)]
    assert {tuple(sorted(v)) for v in values} == {("op", "text"), ("id", "op")}
    assert all(_errors(schema, v) == [] for v in values)


def test_a_string_with_examples_is_one_of_those_that_fit() -> None:
    schema = {"type": "string", "maxLength": 12, "examples": ["in 2 hours", "much too long to fit", 7]}
    assert {instance_of(schema, Draws(bytes([i]))) for i in range(10)} == {"in 2 hours"}
    assert instance_of({"type": "string", "examples": ["x" * 50], "maxLength": 3}, Draws(b"1")) != "x" * 50
