"""``goal``: add, update, complete or drop a goal (a :class:`GoalRow`, upserted by id, and a ``mind.goal`` episode)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from reactivex import Observable

from agent.mind.tools._due import parse_due
from agent.mind.tools._results import act, episode, preview, text_arg, with_dead_letter
from agent.mind.tools._tool import Risk, ToolContext, ToolResult
from sinks import GoalRow
from streams import stable_id

__all__ = ["GoalTool"]

GOAL_TEXT_MAX_CHARS = 500

_OPS = ("add", "update", "complete", "drop")
_ID: Mapping[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "description": "the goal's id (not for add)",
}
_TEXT = text_arg(GOAL_TEXT_MAX_CHARS, description="what the goal is (add; update)")
_DUE: Mapping[str, Any] = {
    **text_arg(64, description="ISO 8601 time, or 'in N minutes/hours/days'"),
    "examples": ["in 2 hours", "in 30 minutes", "in 1 days"],
}


def _op(op: str, required: tuple[str, ...], **properties: Mapping[str, Any]) -> dict[str, Any]:
    """One ``op``'s arguments: a closed object tagged by ``op``'s ``const``."""
    return {
        "type": "object",
        "properties": {"op": {"const": op}, **properties},
        "required": ["op", *required],
        "additionalProperties": False,
    }


# every argument at the top (the closed object the prompt shows); one closed branch per op below it, so a
# model or the simulator filling in one branch gives arguments the tool takes
_ARGUMENTS: Mapping[str, Any] = {
    "type": "object",
    "properties": {"op": {"enum": list(_OPS)}, "id": _ID, "text": _TEXT, "due": _DUE},
    "required": ["op"],
    "additionalProperties": False,
    "oneOf": [
        {**_op("add", ("text",), text=_TEXT, due=_DUE), "not": {"required": ["id"]}},
        _op("update", ("id",), id=_ID, text=_TEXT, due=_DUE),
        _op("complete", ("id",), id=_ID, text=_TEXT, due=_DUE),
        _op("drop", ("id",), id=_ID, text=_TEXT, due=_DUE),
    ],
}


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


@dataclass(frozen=True, slots=True, kw_only=True)
class GoalTool:
    """Change the goals: a new goal's id is ``stable_id(thought_id, text)``, so a replay gives the same."""

    timeout_s: float = 5.0

    name: ClassVar[str] = "goal"
    description: ClassVar[str] = "Add a goal (text, optional due), or update, complete or drop an open goal by its id."

    arguments: ClassVar[Mapping[str, Any]] = _ARGUMENTS
    risk: ClassVar[Risk] = "low"

    def run(self, arguments: Mapping[str, Any], context: ToolContext) -> Observable[ToolResult]:
        def changed() -> ToolResult:
            op = str(arguments["op"])
            try:
                due = parse_due(str(arguments["due"]), context.now) if "due" in arguments else None
            except ValueError as exc:
                return with_dead_letter(context, self.name, arguments, reason="invalid_arguments", detail=str(exc))
            if op == "add":
                return self._add(arguments, context, str(arguments["text"]).strip(), due)
            goal_id = str(arguments["id"])
            current = context.goals.get(goal_id)
            if current is None:
                known = ", ".join(sorted(context.goals)) or "none"
                detail = f"id: no open goal {goal_id!r} (open: {known})"
                return with_dead_letter(context, self.name, arguments, reason="invalid_arguments", detail=detail)
            if op == "update":
                if "text" not in arguments and due is None:
                    detail = "update: expected a new text or due, got neither"
                    return with_dead_letter(context, self.name, arguments, reason="invalid_arguments", detail=detail)
                text = str(arguments["text"]).strip() if "text" in arguments else current.text
                row = replace(current, text=text, due=due if due is not None else current.due, time=context.now)
            else:
                row = replace(
                    current, status="done" if op == "complete" else "dropped", done=context.now, time=context.now
                )
            return self._result(arguments, context, op, row)

        return act(changed)

    def _add(self, arguments: Mapping[str, Any], context: ToolContext, text: str, due: Any) -> ToolResult:
        for existing in context.goals.values():
            if _same_text(existing.text, text):
                return ToolResult(
                    outcome="success",
                    summary=f"already a goal: {existing.id} {preview(existing.text, 80)}",
                    data={"op": "add", "id": existing.id, "existing": True},
                )
        row = GoalRow(
            id=stable_id(context.thought_id, text),
            text=text,
            status="open",
            due=due,
            created=context.now,
            done=None,
            time=context.now,
            source="mind",
        )
        return self._result(arguments, context, "add", row)

    def _result(self, arguments: Mapping[str, Any], context: ToolContext, op: str, row: GoalRow) -> ToolResult:
        due = None if row.due is None else row.due.isoformat()
        words = {"add": "added", "update": "updated", "complete": "completed", "drop": "dropped"}[op]
        ep = episode(
            context,
            self.name,
            arguments,
            type="mind.goal",
            description=f"{words} goal {row.id}: {preview(row.text, 80)}",
            data={"op": op, "id": row.id, "text": row.text, "status": row.status, "due": due},
        )
        return ToolResult(
            outcome="success",
            summary=f"{words} goal {row.id}: {preview(row.text, 80)}" + (f" (due {due})" if due else ""),
            rows=(row, ep),
            data={"op": op, "id": row.id, "status": row.status, "due": due},
        )
