"""``message``: say something to the user unprompted, never in quiet hours and at most N an hour."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from reactivex import Observable

from agent.mind.tools._results import act, episode, preview, text_arg
from agent.mind.tools._tool import Risk, ToolContext, ToolResult

__all__ = ["MessageTool", "check_active_hours", "in_active_hours"]


def check_active_hours(hours: tuple[int, int] | None, where: str) -> None:
    """Raise ``ValueError`` unless ``hours`` is ``None`` or ``(start 0-23, end 0-24)`` with start and end different."""
    if hours is None:
        return
    ok = (
        isinstance(hours, tuple)
        and len(hours) == 2
        and all(isinstance(h, int) and not isinstance(h, bool) for h in hours)
        and 0 <= hours[0] <= 23
        and 0 <= hours[1] <= 24
        and hours[0] != hours[1]
    )
    if not ok:
        raise ValueError(f"{where}: expected (start_hour 0-23, end_hour 0-24), start and end different, got {hours!r}")


def in_active_hours(hours: tuple[int, int] | None, hour: int) -> bool:
    """Whether ``hour`` (0-23, UTC) is inside ``hours``.

    The end hour is excluded; ``(22, 6)`` wraps over midnight; ``None`` is always.
    """
    if hours is None:
        return True
    start, end = hours[0], hours[1] % 24
    return start <= hour < end if start < end else hour >= start or hour < end


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageTool:
    """A ``being.message`` episode (``data``: ``text``, ``thought_id``), delivered wherever replies go.

    A refusal (quiet hours, the hourly limit) is an outcome, not bad input: it leaves no dead
    letter (a dead letter would wake the mind again), and the text stays in the thought's
    ``mind.action`` episode.

    Args:
        per_hour: messages allowed in any hour (``context.messages_last_hour`` counts them).
        active_hours: ``(start_hour, end_hour)`` UTC when it may speak; ``None``: always.
    """

    per_hour: int = 4
    active_hours: tuple[int, int] | None = None
    max_chars: int = 2_000
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        check_active_hours(self.active_hours, "MessageTool.active_hours")
        if self.per_hour < 0:
            raise ValueError(f"MessageTool.per_hour: expected >= 0, got {self.per_hour}")
        if self.max_chars < 1:
            raise ValueError(f"MessageTool.max_chars: expected >= 1, got {self.max_chars}")

    @property
    def name(self) -> str:
        return "message"

    @property
    def description(self) -> str:
        hours = "" if self.active_hours is None else f", only {self.active_hours[0]}:00-{self.active_hours[1]}:00 UTC"
        return f"Say something to the user now, unprompted (at most {self.per_hour} an hour{hours})."

    @property
    def arguments(self) -> Mapping[str, Any]:
        return {
            "type": "object",
            "properties": {"text": text_arg(self.max_chars)},
            "required": ["text"],
            "additionalProperties": False,
        }

    @property
    def risk(self) -> Risk:
        return "low"

    def run(self, arguments: Mapping[str, Any], context: ToolContext) -> Observable[ToolResult]:
        def said() -> ToolResult:
            text = str(arguments["text"])
            hour = context.now.astimezone(UTC).hour
            if not in_active_hours(self.active_hours, hour):
                assert self.active_hours is not None
                start, end = self.active_hours
                return ToolResult(
                    outcome="refused",
                    summary=f"not now: quiet hours (messages only {start}:00-{end}:00 UTC)",
                    data={"reason": "quiet_hours", "hour": hour},
                )
            if context.messages_last_hour >= self.per_hour:
                return ToolResult(
                    outcome="refused",
                    summary=f"not now: {context.messages_last_hour} messages in the last hour (limit {self.per_hour})",
                    data={"reason": "rate", "messages_last_hour": context.messages_last_hour},
                )
            ep = episode(
                context,
                self.name,
                arguments,
                type="being.message",
                description=f"said: {preview(text, 80)}",
                data={"text": text, "thought_id": context.thought_id},
            )
            return ToolResult(
                outcome="success", summary=f"said: {preview(text, 80)}", rows=(ep,), data={"chars": len(text)}
            )

        return act(said)
