"""The tool registry: the mind's tools by name, their arguments checked, every call ending in a result.

:meth:`ToolRegistry.call` never errors. An unknown tool, arguments that do not match the tool's
schema, a high-risk tool while high risk is not allowed, a tool that outlives its timeout (on the
given scheduler's clock) or one that fails all end in a :class:`ToolResult` (``failure`` or
``refused``) whose rows hold a dead letter (source ``mind``, raw: the JSON of the name and the
arguments), so a thought always has an outcome to record and nothing is lost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import reactivex
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from reactivex import Observable, abc
from reactivex import operators as ops

from agent.mind.tools._goal import GoalTool
from agent.mind.tools._message import MessageTool, check_active_hours, in_active_hours
from agent.mind.tools._note import NoteTool
from agent.mind.tools._observe import ObserveTool
from agent.mind.tools._recall import RecallTool
from agent.mind.tools._reflect import ReflectTool
from agent.mind.tools._remember import RememberTool
from agent.mind.tools._results import schema_text, with_dead_letter
from agent.mind.tools._tagged import tagged_errors
from agent.mind.tools._tool import Tool, ToolContext, ToolResult
from operators import CallTimeoutError, timeout

__all__ = ["ToolPolicy", "ToolRegistry", "default_tools"]

MAX_ARGUMENT_ERRORS = 3
"""How many schema violations a failure's detail lists."""


def _check(ok: bool, where: str, expected: str, got: object) -> None:
    if not ok:
        raise ValueError(f"{where}: expected {expected}, got {got!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolPolicy:
    """What the tools may do.

    Args:
        notes_max_bytes: one note's text, and a notes file's whole size (UTF-8 bytes).
        block_max_chars: a memory block's text.
        messages_per_hour: ``message`` calls allowed in any hour (0: never).
        active_hours: ``(start_hour, end_hour)`` UTC when ``message`` may speak, the end excluded;
            ``(22, 6)`` wraps over midnight; ``None``: always.
        allow_high_risk: whether tools of risk ``high`` may run (none of the default tools is).
        timeout_s: each default tool's timeout.
    """

    notes_max_bytes: int = 65_536
    block_max_chars: int = 2_000
    messages_per_hour: int = 4
    active_hours: tuple[int, int] | None = None
    allow_high_risk: bool = False
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        _check(self.notes_max_bytes >= 1, "ToolPolicy.notes_max_bytes", "an integer >= 1", self.notes_max_bytes)
        _check(self.block_max_chars >= 1, "ToolPolicy.block_max_chars", "an integer >= 1", self.block_max_chars)
        _check(self.messages_per_hour >= 0, "ToolPolicy.messages_per_hour", "an integer >= 0", self.messages_per_hour)
        check_active_hours(self.active_hours, "ToolPolicy.active_hours")
        _check(
            isinstance(self.timeout_s, int | float) and math.isfinite(self.timeout_s) and self.timeout_s > 0,
            "ToolPolicy.timeout_s",
            "a number of seconds > 0",
            self.timeout_s,
        )

    def active_at(self, hour: int) -> bool:
        """Whether ``hour`` (0-23, UTC) is inside the active hours."""
        return in_active_hours(self.active_hours, hour)


def _argument_problems(validator: Draft202012Validator, arguments: object) -> list[str]:
    problems = []
    for error in sorted(tagged_errors(validator.iter_errors(arguments)), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "arguments"
        if error.validator in ("maxLength", "minLength") and isinstance(error.instance, str):
            # the library's message quotes the whole text, which may be megabytes
            message = f"expected {error.validator} {error.validator_value}, got {len(error.instance)} characters"
        else:
            message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
        problems.append(f"{where}: {message}")
        if len(problems) == MAX_ARGUMENT_ERRORS:
            break
    return problems


def _unencodable(value: object, where: str = "arguments") -> str | None:
    """Where a text cannot be written as UTF-8 (a lone surrogate), which no sink could store."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"{where}: not valid Unicode (a lone surrogate at character {exc.start})"
        return None
    if isinstance(value, Mapping):
        items: list[tuple[str, object]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return None
    for key, item in items:
        found = _unencodable(item, key if where == "arguments" else f"{where}/{key}")
        if found is not None:
            return found
    return None


class ToolRegistry:
    """The mind's tools by name, in the order registered.

    Args:
        tools: the tools; their names must differ and their schemas be valid Draft 2020-12.
        allow_high_risk: whether tools of risk ``high`` may run.

    Raises:
        ValueError: two tools share a name, or a tool's argument schema is not a valid schema.
    """

    def __init__(self, tools: Sequence[Tool], *, allow_high_risk: bool = False) -> None:
        self._tools: dict[str, Tool] = {}
        self._validators: dict[str, Draft202012Validator] = {}
        self._allow_high_risk = allow_high_risk
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"ToolRegistry: expected one tool per name, got {tool.name!r} twice")
            try:
                Draft202012Validator.check_schema(tool.arguments)
            except SchemaError as exc:
                raise ValueError(
                    f"ToolRegistry: tool {tool.name!r}: its argument schema is invalid: {exc.message}"
                ) from exc
            _check(
                tool.arguments.get("type") == "object",
                f"ToolRegistry: tool {tool.name!r}.arguments",
                'a schema of "type": "object"',
                tool.arguments.get("type"),
            )
            _check(
                isinstance(tool.timeout_s, int | float) and math.isfinite(tool.timeout_s) and tool.timeout_s > 0,
                f"ToolRegistry: tool {tool.name!r}.timeout_s",
                "a number of seconds > 0",
                tool.timeout_s,
            )
            self._tools[tool.name] = tool
            self._validators[tool.name] = Draft202012Validator(tool.arguments)

    @property
    def names(self) -> tuple[str, ...]:
        """The tools' names, in the order registered."""
        return tuple(self._tools)

    @property
    def schemas(self) -> dict[str, Mapping[str, Any]]:
        """Each tool's argument schema by name, in the order registered (for the decision's schema)."""
        return {name: tool.arguments for name, tool in self._tools.items()}

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``, or ``None``."""
        return self._tools.get(name)

    def describe(self) -> str:
        """One line per tool for the decision prompt: name, risk, description, argument schema."""
        lines = []
        for tool in self._tools.values():
            risk = tool.risk + (", not allowed" if tool.risk == "high" and not self._allow_high_risk else "")
            lines.append(f"- {tool.name} (risk {risk}): {tool.description} Arguments: {schema_text(tool.arguments)}")
        return "\n".join(lines)

    def call(
        self,
        name: str,
        arguments: object,
        context: ToolContext,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> Observable[ToolResult]:
        """A cold observable of the one result of calling ``name`` with ``arguments``; it never errors.

        Args:
            name: the tool.
            arguments: what the decision gave; checked against the tool's schema.
            context: what the tool may look at.
            scheduler: the clock of the tool's timeout (the subscription's scheduler when ``None``).
        """
        tool = self._tools.get(name) if isinstance(name, str) else None
        if tool is None:
            known = ", ".join(self._tools) or "none"
            return reactivex.just(
                with_dead_letter(
                    context, name, arguments, reason="unknown_tool", detail=f"no such tool (known: {known})"
                )
            )
        if tool.risk == "high" and not self._allow_high_risk:
            return reactivex.just(
                with_dead_letter(
                    context,
                    name,
                    arguments,
                    reason="high_risk",
                    detail="a high-risk tool, and high risk is not allowed ([mind] allow_high_risk)",
                    outcome="refused",
                )
            )
        try:
            problems = _argument_problems(self._validators[name], arguments)
        except RecursionError:
            problems = ["arguments: nested too deeply to check"]
        if not problems:
            bad_text = _unencodable(arguments)  # after the schema: its depth is bounded now
            problems = [bad_text] if bad_text is not None else []
        if problems:
            return reactivex.just(
                with_dead_letter(context, name, arguments, reason="invalid_arguments", detail="; ".join(problems))
            )
        assert isinstance(arguments, Mapping)  # the schemas all ask for an object
        return self._run(tool, arguments, context, scheduler)

    def _run(
        self, tool: Tool, arguments: Mapping[str, Any], context: ToolContext, scheduler: abc.SchedulerBase | None
    ) -> Observable[ToolResult]:
        name = tool.name

        def failed(exc: Exception, _source: Observable[ToolResult]) -> Observable[ToolResult]:
            if isinstance(exc, CallTimeoutError):
                detail = f"no result within {tool.timeout_s:g} s"
                return reactivex.just(with_dead_letter(context, name, arguments, reason="timeout", detail=detail))
            detail = f"{type(exc).__name__}: {exc}"
            return reactivex.just(with_dead_letter(context, name, arguments, reason="tool_error", detail=detail))

        def nothing() -> ToolResult:
            return with_dead_letter(context, name, arguments, reason="tool_error", detail="it ended without a result")

        def finished(results: list[ToolResult]) -> ToolResult:
            return results[0] if results else nothing()

        ran: Observable[ToolResult] = reactivex.defer(lambda _: tool.run(arguments, context)).pipe(
            ops.take(1),
            timeout(tool.timeout_s, name=f"tool.{name}", scheduler=scheduler),
            ops.catch(failed),
        )
        return ran.pipe(ops.to_list(), ops.map(finished))


def default_tools(policy: ToolPolicy) -> tuple[Tool, ...]:
    """The seven tools the being ships, none of them high risk, each with ``policy.timeout_s``.

    In order: ``observe``, ``recall``, ``note``, ``reflect``, ``remember``, ``goal``, ``message``.
    """
    t = policy.timeout_s
    return (
        ObserveTool(timeout_s=t),
        RecallTool(timeout_s=t),
        NoteTool(max_bytes=policy.notes_max_bytes, timeout_s=t),
        ReflectTool(timeout_s=t),
        RememberTool(max_chars=policy.block_max_chars, timeout_s=t),
        GoalTool(timeout_s=t),
        MessageTool(per_hour=policy.messages_per_hour, active_hours=policy.active_hours, timeout_s=t),
    )
