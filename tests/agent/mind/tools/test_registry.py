"""The registry: tools by name, arguments checked, and every failure a result with a dead letter, never an error."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import reactivex
from reactivex.notification import Notification, OnNext
from reactivex.testing import TestScheduler

from agent.mind.tools import Risk, ToolContext, ToolPolicy, ToolRegistry, ToolResult, default_tools
from tests.agent.mind.tools.tool_support import NOW, call, context, failed_with, registry


@dataclass(frozen=True, slots=True, kw_only=True)
class FakeTool:
    """A tool whose run is given: to make a tool slow, failing, empty or high risk."""

    name: str = "fake"
    description: str = "for tests"
    arguments: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}, "additionalProperties": False}
    )
    risk: Risk = "low"
    timeout_s: float = 5.0
    result: reactivex.Observable[ToolResult] = field(
        default_factory=lambda: reactivex.just(ToolResult(outcome="success", summary="done"))
    )
    raises: Exception | None = None

    def run(self, arguments: Mapping[str, Any], context: ToolContext) -> reactivex.Observable[ToolResult]:
        if self.raises is not None:
            raise self.raises
        return self.result


def one(reg: ToolRegistry, name: str, arguments: object = None) -> ToolResult:
    out: list[ToolResult] = []
    reg.call(name, {} if arguments is None else arguments, context()).subscribe(
        on_next=out.append, on_error=lambda e: pytest.fail(f"the call errored: {e!r}")
    )
    assert len(out) == 1
    return out[0]


def test_the_default_tools_are_the_seven_in_order_and_none_is_high_risk() -> None:
    tools = default_tools(ToolPolicy())
    assert [t.name for t in tools] == ["observe", "recall", "note", "reflect", "remember", "goal", "message"]
    assert {t.risk for t in tools} <= {"low", "medium"}
    assert registry().names == ("observe", "recall", "note", "reflect", "remember", "goal", "message")
    assert all(t.timeout_s == 5.0 for t in tools)
    assert all(t.timeout_s == 2.5 for t in default_tools(ToolPolicy(timeout_s=2.5)))


def test_every_schema_forbids_extra_arguments_and_caps_its_texts() -> None:
    def texts(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        found = [schema] if schema.get("type") == "string" else []
        for sub in [*schema.get("properties", {}).values(), *([schema["items"]] if "items" in schema else [])]:
            found += texts(sub)
        return found

    for tool in default_tools(ToolPolicy()):
        assert tool.arguments["type"] == "object" and tool.arguments["additionalProperties"] is False, tool.name
        assert all("maxLength" in s for s in texts(tool.arguments)), tool.name


def test_describe_gives_one_line_per_tool_with_its_risk_and_schema() -> None:
    lines = registry().describe().splitlines()
    assert len(lines) == 7
    assert lines[2].startswith("- note (risk low): Append text to a Markdown file")
    assert '"required":["path","text"]' in lines[2]
    high = ToolRegistry([FakeTool(risk="high")])
    assert high.describe().startswith("- fake (risk high, not allowed): for tests Arguments: {")


def test_get_finds_a_tool_by_name() -> None:
    reg = registry()
    tool = reg.get("goal")
    assert tool is not None and tool.name == "goal"
    assert reg.get("shell") is None


def test_an_unknown_tool_is_a_failure_with_a_dead_letter_holding_the_call() -> None:
    result = call("shell", {"command": "rm -rf /"})
    letter = failed_with(result, "unknown_tool")
    assert orjson.loads(letter.raw) == {"name": "shell", "arguments": {"command": "rm -rf /"}}
    assert letter.time == NOW and "known: observe, recall" in letter.reason
    assert result.summary.startswith("shell: failure (unknown_tool)")


@pytest.mark.parametrize(
    ("name", "arguments", "says"),
    [
        ("recall", {"query": "tea", "extra": 1}, "Additional properties are not allowed"),
        ("recall", {}, "'query' is a required property"),
        ("recall", {"query": 42}, "query: 42 is not of type 'string'"),
        ("recall", {"query": "tea", "k": 99}, "k: 99 is greater than the maximum of 10"),
        ("recall", {"query": "x" * 501}, "query: expected maxLength 500, got 501 characters"),
        ("recall", ["tea"], "is not of type 'object'"),
        ("observe", "look", "is not of type 'object'"),
        ("remember", {"block": "root", "mode": "replace", "text": "x"}, "block: 'root' is not one of"),
        ("message", {"text": ""}, "text: expected minLength 1, got 0 characters"),
    ],
)
def test_arguments_that_do_not_match_the_schema_are_a_failure_with_a_dead_letter(
    name: str, arguments: object, says: str
) -> None:
    letter = failed_with(call(name, arguments), "invalid_arguments")
    assert says in letter.reason
    assert orjson.loads(letter.raw) == {"name": name, "arguments": arguments}


def test_hostile_arguments_and_names_still_give_a_result() -> None:
    deep: object = "x"
    for _ in range(400):
        deep = [deep]
    letter = failed_with(call("recall", {"query": "x", "k": deep}), "invalid_arguments")
    assert orjson.loads(letter.raw)["arguments"]["unstorable"] == "dict"
    odd = failed_with(call("recall", {"query": {1, 2}}), "invalid_arguments")
    assert orjson.loads(odd.raw)["arguments"] == {"query": [1, 2]}
    failed_with(call(["observe"], {}), "unknown_tool")  # type: ignore[arg-type]
    surrogate = failed_with(call("reflect", {"principles": ["ok", "bad \ud800"]}), "invalid_arguments")
    assert "principles/1: not valid Unicode (a lone surrogate at character 4)" in surrogate.reason


def test_a_high_risk_tool_is_refused_unless_allowed() -> None:
    refused = one(ToolRegistry([FakeTool(risk="high")]), "fake")
    failed_with(refused, "high_risk", outcome="refused")
    allowed = one(ToolRegistry([FakeTool(risk="high")], allow_high_risk=True), "fake")
    assert allowed == ToolResult(outcome="success", summary="done")


def test_a_tool_that_outlives_its_timeout_fails_at_its_timeout_on_virtual_time() -> None:
    scheduler = TestScheduler()
    slow = FakeTool(
        timeout_s=3.0,
        result=reactivex.timer(10.0, scheduler=scheduler).pipe(
            reactivex.operators.map(lambda _: ToolResult(outcome="success", summary="late"))
        ),
    )
    reg = ToolRegistry([slow])
    observer = scheduler.start(lambda: reg.call("fake", {}, context(), scheduler=scheduler))
    kinds = [(m.time, m.value.kind) for m in observer.messages if isinstance(m.value, Notification)]
    assert kinds == [(203.0, "N"), (203.0, "C")]  # subscribed at 200, the timeout 3 s later
    first = observer.messages[0].value
    assert isinstance(first, OnNext)
    letter = failed_with(first.value, "timeout")
    assert "no result within 3 s" in letter.reason


def test_a_tool_that_raises_when_run_is_a_failure_not_an_error() -> None:
    result = one(ToolRegistry([FakeTool(raises=RuntimeError("disk on fire"))]), "fake")
    assert "RuntimeError: disk on fire" in failed_with(result, "tool_error").reason


def test_a_tool_whose_stream_errors_is_a_failure_not_an_error() -> None:
    result = one(ToolRegistry([FakeTool(result=reactivex.throw(KeyError("k")))]), "fake")
    assert "KeyError" in failed_with(result, "tool_error").reason


def test_a_tool_that_ends_without_a_result_is_a_failure() -> None:
    result = one(ToolRegistry([FakeTool(result=reactivex.empty())]), "fake")
    assert "without a result" in failed_with(result, "tool_error").reason


def test_a_tool_that_gives_two_results_gives_only_its_first() -> None:
    two = reactivex.of(ToolResult(outcome="success", summary="1"), ToolResult(outcome="success", summary="2"))
    assert one(ToolRegistry([FakeTool(result=two)]), "fake").summary == "1"


def test_the_same_call_in_the_same_thought_gives_the_same_rows() -> None:
    assert call("shell", {"a": 1}) == call("shell", {"a": 1})
    assert call("shell", {"a": 1}).rows != call("shell", {"a": 2}).rows


def test_two_tools_with_one_name_or_a_broken_schema_are_refused_when_built() -> None:
    with pytest.raises(ValueError, match="one tool per name, got 'fake' twice"):
        ToolRegistry([FakeTool(), FakeTool()])
    with pytest.raises(ValueError, match="argument schema is invalid"):
        ToolRegistry([FakeTool(arguments={"type": "objekt"})])
    with pytest.raises(ValueError, match='arguments: expected a schema of "type": "object", got \'string\''):
        ToolRegistry([FakeTool(arguments={"type": "string"})])
    with pytest.raises(ValueError, match="timeout_s: expected a number of seconds > 0"):
        ToolRegistry([FakeTool(timeout_s=0)])


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"notes_max_bytes": 0}, "ToolPolicy.notes_max_bytes: expected an integer >= 1, got 0"),
        ({"block_max_chars": -1}, "ToolPolicy.block_max_chars"),
        ({"messages_per_hour": -1}, "ToolPolicy.messages_per_hour"),
        ({"active_hours": (8, 8)}, "ToolPolicy.active_hours: expected (start_hour 0-23, end_hour 0-24)"),
        ({"active_hours": (25, 3)}, "ToolPolicy.active_hours"),
        ({"active_hours": [8, 22]}, "ToolPolicy.active_hours"),
        ({"timeout_s": float("nan")}, "ToolPolicy.timeout_s"),
    ],
)
def test_a_bad_policy_is_refused_when_built(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError) as info:
        ToolPolicy(**changes)
    assert says in str(info.value)


def test_active_hours_include_the_start_exclude_the_end_and_may_wrap_over_midnight() -> None:
    day = ToolPolicy(active_hours=(8, 22))
    assert [h for h in range(24) if day.active_at(h)] == list(range(8, 22))
    night = ToolPolicy(active_hours=(22, 6))
    assert [h for h in range(24) if night.active_at(h)] == [0, 1, 2, 3, 4, 5, 22, 23]
    assert all(ToolPolicy(active_hours=(0, 24)).active_at(h) for h in range(24))
    assert all(ToolPolicy().active_at(h) for h in range(24))
