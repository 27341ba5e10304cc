"""The goal tool's argument schema: a closed object of every argument over a oneOf of closed branches by ``op``."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from agent.mind.tools import GoalTool, tagged_errors
from tests.agent.mind.tools.tool_support import call, failed_with

SCHEMA = GoalTool().arguments
VALIDATOR = Draft202012Validator(SCHEMA)


def _messages(arguments: object) -> list[str]:
    return [e.message for e in tagged_errors(VALIDATOR.iter_errors(arguments))]


def test_one_closed_branch_per_op_each_allowing_only_its_own_arguments() -> None:
    branches = SCHEMA["oneOf"]
    assert [b["properties"]["op"] for b in branches] == [{"const": op} for op in ("add", "update", "complete", "drop")]
    assert all(b["additionalProperties"] is False for b in branches)
    assert set(branches[0]["properties"]) == {"op", "text", "due"} and "text" in branches[0]["required"]
    assert all("id" in b["required"] for b in branches[1:])
    assert all(set(b["properties"]) <= set(SCHEMA["properties"]) for b in branches)


def test_each_op_takes_what_it_took_before() -> None:
    for good in (
        {"op": "add", "text": "x"},
        {"op": "add", "text": "x", "due": "in 2 hours"},
        {"op": "update", "id": "g", "text": "y"},
        {"op": "update", "id": "g"},  # the tool, not the schema, says an update needs a change
        {"op": "complete", "id": "g", "text": "ignored"},
        {"op": "drop", "id": "g"},
    ):
        assert _messages(good) == [], good


def test_an_error_is_told_from_inside_the_branch_its_op_names() -> None:
    assert _messages({"op": "update", "text": "y"}) == ["'id' is a required property"]
    assert _messages({"op": "finish"}) == ["'finish' is not one of ['add', 'update', 'complete', 'drop']"]
    assert _messages({"text": "x"}) == ["'op' is a required property"]
    reason = failed_with(call("goal", {"op": "drop", "id": 7}), "invalid_arguments").reason
    assert "id: 7 is not of type 'string'" in reason and "not valid under any" not in reason
