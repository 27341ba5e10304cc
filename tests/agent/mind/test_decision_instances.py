"""The simulator's instances of the real decision schema: every tool reachable, each valid for the tool it names."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from agent.mind import Decision, decision_schema, read_decision
from agent.mind.tools import ToolPolicy, ToolRegistry, default_tools
from llm.simulator._schema import Draws, instance_of, schema_seed
from sinks import GoalRow
from tests.agent.mind.tools.tool_support import call, of_type

REGISTRY = ToolRegistry(default_tools(ToolPolicy()))
SCHEMA = decision_schema(REGISTRY.schemas)
VALIDATOR = Draft202012Validator(SCHEMA)


def _instances(count: int) -> list[dict[str, object]]:
    canonical = json.dumps(SCHEMA, sort_keys=True)
    return [instance_of(SCHEMA, Draws(schema_seed("m", f"prompt {i}", canonical))) for i in range(count)]


def test_every_branch_is_reached_and_each_instance_is_valid_for_the_tool_it_names() -> None:
    seen: dict[str, set[object]] = {}
    for value in _instances(400):
        assert not list(VALIDATOR.iter_errors(value)), value
        action, arguments = value["action"], value["arguments"]
        assert isinstance(action, str) and isinstance(arguments, dict)
        assert not list(Draft202012Validator(REGISTRY.schemas[action]).iter_errors(arguments)), value
        seen.setdefault(action, set()).add(arguments.get("op"))
        decided = read_decision(json.dumps(value), VALIDATOR)
        assert isinstance(decided, Decision) and decided.action == action
    assert set(seen) == set(REGISTRY.names)
    assert seen["goal"] == {"add", "update", "complete", "drop"}


def test_a_goal_the_simulator_adds_is_taken_by_the_goal_tool() -> None:
    added = [v for v in _instances(400) if v["action"] == "goal" and v["arguments"]["op"] == "add"]  # type: ignore[index]
    assert added
    for value in added:
        result = call("goal", value["arguments"])
        assert result.outcome == "success", result
        (row,) = of_type(result, GoalRow)
        assert isinstance(row, GoalRow) and row.status == "open" and row.text


def test_arguments_of_one_tool_under_another_s_name_are_refused() -> None:
    answer = {
        "focus": "f",
        "reasoning": "r",
        "action": "recall",
        "arguments": {"op": "add", "text": "x"},
        "risk": "low",
    }
    got = read_decision(json.dumps(answer), VALIDATOR)
    assert not isinstance(got, Decision)
    assert "$.arguments: 'query' is a required property" in str(got)
