"""The decision schema, reading an answer against it, and the mind's policy checks."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from agent.mind import Decision, MindPolicy, Problem, decision_schema, default_decision, read_decision
from agent.mind.tools import ToolPolicy, ToolRegistry, default_tools
from operators import PolicyError
from tests.agent.mind._fakes import decision

NAMES = ("observe", "note", "goal")
SCHEMAS = {name: ToolRegistry(default_tools(ToolPolicy())).schemas[name] for name in NAMES}
VALIDATOR = Draft202012Validator(decision_schema(SCHEMAS))


def test_the_schema_is_one_closed_branch_per_tool_holding_its_argument_schema() -> None:
    schema = decision_schema(SCHEMAS)
    Draft202012Validator.check_schema(schema)
    branches = schema["oneOf"]
    assert [b["properties"]["action"] for b in branches] == [{"const": n} for n in NAMES]  # in order
    assert [b["properties"]["arguments"] for b in branches] == [SCHEMAS[n] for n in NAMES]
    for branch in branches:
        assert branch["additionalProperties"] is False
        assert set(branch["required"]) == set(branch["properties"])
    with pytest.raises(ValueError, match="at least one tool"):
        decision_schema({})


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (decision("note", {"text": "hi"}), "$.arguments: 'path' is a required property"),
        (decision("goal", {"op": "add"}), "$.arguments: 'text' is a required property"),
        (decision("goal", {"op": "complete"}), "$.arguments: 'id' is a required property"),
        (decision("goal", {"op": "finish"}), "$.arguments.op: 'finish' is not one of"),
        (decision("observe", {"shell": "ls"}), "$.arguments: Additional properties are not allowed"),
        (decision("goal", {"op": "add", "text": "x", "note": "y"}), "('note' was unexpected)"),
    ],
)
def test_arguments_are_checked_against_the_schema_of_the_tool_the_answer_names(answer: str, says: str) -> None:
    got = read_decision(answer, VALIDATOR)
    assert isinstance(got, Problem) and says in str(got), got
    assert "is not valid under any of the given schemas" not in str(got)


def test_a_valid_answer_is_a_decision() -> None:
    got = read_decision(decision("note", {"path": "a.md", "text": "hi"}, risk="medium"), VALIDATOR)
    assert got == Decision(focus="now", reasoning="because", action="note", arguments={"path": "a.md", "text": "hi"},
                           risk="medium")  # fmt: skip
    assert read_decision("```\n" + decision() + "\n```", VALIDATOR) == read_decision(decision(), VALIDATOR)


@pytest.mark.parametrize(
    ("answer", "where", "says"),
    [
        ("", "$", "empty"),
        ("not json at all", "$", "not JSON: Expecting value at line 1 column 1"),
        ("[1, 2]", "$", "is not of type 'object'"),
        (decision("shell"), "$.action", "'shell' is not one of ['observe', 'note', 'goal']"),
        (decision(risk="extreme"), "$.risk", "'extreme' is not one of"),
        (decision(arguments=[1]), "$.arguments", "is not of type 'object'"),
        (decision(extra=True), "$", "Additional properties are not allowed ('extra' was unexpected)"),
        ('{"action": "observe"}', "$", "'focus' is a required property"),
        (decision(reasoning="y" * 3000), "$.reasoning", "is too long"),
        ("[" * 5_000 + "]" * 5_000, "$", "not JSON: nested too deeply"),
        ("x" * 20_000, "$", "over the limit of 16384"),
    ],
)
def test_an_unusable_answer_is_a_problem_that_says_where_and_why(answer: str, where: str, says: str) -> None:
    got = read_decision(answer, VALIDATOR)
    assert isinstance(got, Problem)
    assert got.where == where and says in got.message
    assert len(str(got)) < 1_200  # a validation message quoting a huge value is cut


def test_several_errors_are_listed_for_the_repair() -> None:
    got = read_decision('{"action": "observe", "risk": 1, "x": 2}', VALIDATOR)
    assert isinstance(got, Problem)
    assert str(got).startswith("$: 'focus' is a required property; $: 'reasoning' is a required property")
    assert str(got).endswith("(and 3 more)")


def test_the_default_decision_is_observe() -> None:
    d = default_decision("f" * 900, "the LLM is down")
    assert d.action == "observe" and d.arguments == {} and d.risk == "low" and len(d.focus) == 500
    assert d.as_data() == {"focus": "f" * 500, "reasoning": "the LLM is down", "action": "observe",
                           "arguments": {}, "risk": "low"}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("monologue_timeout_s", 0, "MindPolicy.monologue_timeout_s: expected seconds > 0, got 0"),
        ("thought_deadline_s", float("inf"), "MindPolicy.thought_deadline_s: expected seconds > 0"),
        ("calls_per_tick", 0, "MindPolicy.calls_per_tick: expected an integer >= 1, got 0"),
        ("optional_min_calls", -1, "MindPolicy.optional_min_calls: expected an integer >= 0"),
        ("decision_timeout_s", True, "MindPolicy.decision_timeout_s"),
        ("optional_tools", {"recall"}, "MindPolicy.optional_tools: expected a frozenset"),
    ],
)
def test_the_policy_is_checked_when_built(field: str, value: object, says: str) -> None:
    with pytest.raises(PolicyError, match=says.replace("(", r"\(").replace(")", r"\)")):
        MindPolicy(**{field: value})  # type: ignore[arg-type]
