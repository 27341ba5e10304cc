"""What the tools share: ids derived from the thought, the episodes they write, and results that carry a dead letter."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import reactivex
from reactivex import Observable

from agent.mind.tools._tool import ToolContext, ToolResult
from sinks import DeadLetterRow, EpisodeRow, Row, to_json
from streams import stable_id

__all__ = ["act", "call_id", "call_json", "episode", "preview", "schema_text", "text_arg", "with_dead_letter"]

TEXT_PREVIEW_CHARS = 200
"""How much of a long text a summary or a failure's detail quotes."""


def call_json(name: object, arguments: object) -> str:
    """The call as canonical JSON ``{"arguments": …, "name": …}``; arguments JSON cannot hold are described instead.

    Nesting deeper than JSON's writer allows (255 levels) cannot be stored as it came; the text
    then says what the arguments were and why they could not be kept.
    """
    try:
        return to_json({"name": name, "arguments": arguments})
    except (TypeError, ValueError, RecursionError) as exc:
        return to_json({"name": str(name), "arguments": {"unstorable": type(arguments).__name__, "error": str(exc)}})


def call_id(context: ToolContext, name: str, arguments: object) -> str:
    """The stable id of one call: the thought, the tool and its arguments (a replay gives the same)."""
    return stable_id(context.thought_id, "tool", call_json(name, arguments))


def episode(
    context: ToolContext,
    name: str,
    arguments: object,
    *,
    type: str,
    description: str,
    data: Mapping[str, Any],
    outcome: str = "success",
) -> EpisodeRow:
    """An episode of this call, at the scheduler's time, its id derived from the call."""
    return EpisodeRow(
        id=stable_id(call_id(context, name, arguments), type),
        time=context.now,
        type=type,
        description=description,
        outcome=outcome,
        data=data,
    )


def with_dead_letter(
    context: ToolContext,
    name: str,
    arguments: object,
    *,
    reason: str,
    detail: str,
    outcome: Literal["failure", "refused"] = "failure",
    rows: tuple[Row, ...] = (),
) -> ToolResult:
    """A failed or refused call: its summary, and a dead letter holding the call whole (source ``mind``).

    Args:
        reason: one word (``unknown_tool``, ``invalid_arguments``, ``high_risk``, ``timeout``, ``tool_error``),
            the dead letter's reason before the colon.
        detail: what exactly, for a person.
    """
    raw = call_json(name, arguments)
    letter = DeadLetterRow(
        id=stable_id(call_id(context, name, arguments), "dead_letter", reason),
        time=context.now,
        source="mind",
        reason=f"{reason}: tool {name!r}: {detail}",
        raw=raw,
    )
    return ToolResult(
        outcome=outcome,
        summary=f"{name}: {outcome} ({reason}): {preview(detail)}",
        rows=(*rows, letter),
        data={"tool": name, "reason": reason, "detail": detail},
    )


def act(run: Callable[[], ToolResult]) -> Observable[ToolResult]:
    """A cold observable that runs ``run`` when subscribed (an exception goes down as an error)."""
    return reactivex.defer(lambda _scheduler: reactivex.just(run()))


def preview(text: str, limit: int = TEXT_PREVIEW_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def text_arg(max_chars: int, *, min_chars: int = 1, description: str = "") -> dict[str, Any]:
    """The schema of a text argument between ``min_chars`` and ``max_chars`` characters."""
    schema: dict[str, Any] = {"type": "string", "minLength": min_chars, "maxLength": max_chars}
    if description:
        schema["description"] = description
    return schema


def schema_text(schema: Mapping[str, Any]) -> str:
    """A schema as compact JSON on one line (for the decision prompt)."""
    return to_json(schema)
