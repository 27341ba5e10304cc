"""Shared by the tool tests: a context at a fixed time, and one call run to its result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent.mind.tools import ToolContext, ToolPolicy, ToolRegistry, ToolResult, default_tools
from sinks import DeadLetterRow

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def context(**changes: Any) -> ToolContext:
    values: dict[str, Any] = {"now": NOW, "thought_id": "thought-1"}
    values.update(changes)
    return ToolContext(**values)


def registry(policy: ToolPolicy | None = None) -> ToolRegistry:
    policy = policy or ToolPolicy()
    return ToolRegistry(default_tools(policy), allow_high_risk=policy.allow_high_risk)


def call(
    name: str, arguments: object, ctx: ToolContext | None = None, *, policy: ToolPolicy | None = None
) -> ToolResult:
    """Call a default tool and return its one result (the tools are synchronous: no clock needed)."""
    results: list[ToolResult] = []
    errors: list[Exception] = []
    registry(policy).call(name, arguments, ctx or context()).subscribe(on_next=results.append, on_error=errors.append)
    assert not errors, errors
    assert len(results) == 1, results
    return results[0]


def letters(result: ToolResult) -> list[DeadLetterRow]:
    return [r for r in result.rows if isinstance(r, DeadLetterRow)]


def of_type(result: ToolResult, kind: type[Any]) -> list[Any]:
    return [r for r in result.rows if isinstance(r, kind)]


def failed_with(result: ToolResult, reason: str, outcome: str = "failure") -> DeadLetterRow:
    """Assert a failed call and return its one dead letter."""
    assert result.outcome == outcome, result
    (letter,) = letters(result)
    assert letter.source == "mind" and letter.reason.startswith(f"{reason}: "), letter
    assert [r for r in result.rows if not isinstance(r, DeadLetterRow)] == []
    return letter
