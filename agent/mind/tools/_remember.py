"""``remember``: edit the being's self-model or what it knows of one sender (a small block, size-capped).

What the being knows of a sender is that sender's own block (``user:<sender>``): a reply to one
sender shows only that sender's block, so what one user told the being never reaches another's reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reactivex import Observable

from agent.mind.tools._results import act, episode, preview, text_arg, with_dead_letter
from agent.mind.tools._tool import Risk, ToolContext, ToolResult
from sinks import MemoryBlockRow, user_block

__all__ = ["SENDER_MAX_CHARS", "RememberTool"]

SENDER_MAX_CHARS = 200
"""The longest sender name a user block may be named by."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RememberTool:
    """Replace or append to a block: a :class:`MemoryBlockRow` and a ``mind.remember`` episode holding the old text."""

    max_chars: int = 2_000
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_chars < 1:
            raise ValueError(f"RememberTool.max_chars: expected >= 1, got {self.max_chars}")

    @property
    def name(self) -> str:
        return "remember"

    @property
    def description(self) -> str:
        return (
            "Edit a memory block: 'self' (who I am) or 'user' (what I know of one sender, named by "
            "'sender'; leave 'sender' empty for 'self'); mode 'replace' or 'append'; "
            f"a block holds at most {self.max_chars} characters."
        )

    @property
    def arguments(self) -> Mapping[str, Any]:
        return {
            "type": "object",
            "properties": {
                "block": {"enum": ["self", "user"]},
                "sender": {"type": "string", "maxLength": SENDER_MAX_CHARS},
                "mode": {"enum": ["replace", "append"]},
                "text": text_arg(self.max_chars),
            },
            "required": ["block", "sender", "mode", "text"],
            "additionalProperties": False,
        }

    @property
    def risk(self) -> Risk:
        return "low"

    def run(self, arguments: Mapping[str, Any], context: ToolContext) -> Observable[ToolResult]:
        def remembered() -> ToolResult:
            sender = str(arguments.get("sender", "")).strip()
            block = "self" if arguments["block"] == "self" else user_block(sender)
            problem = _sender_problem(sender) if block != "self" else None
            if problem is not None:
                return with_dead_letter(context, self.name, arguments, reason="invalid_arguments", detail=problem)
            mode, text = str(arguments["mode"]), str(arguments["text"]).strip()
            old = context.blocks.get(block, "")
            new = f"{old.rstrip()}\n{text}" if mode == "append" and old.strip() else text
            if len(new) > self.max_chars:
                detail = f"the {block} block would hold {len(new)} characters, over the cap of {self.max_chars}"
                return with_dead_letter(context, self.name, arguments, reason="invalid_arguments", detail=detail)
            if new == old:
                return ToolResult(
                    outcome="success", summary=f"the {block} block already says that", data={"block": block}
                )
            ep = episode(
                context,
                self.name,
                arguments,
                type="mind.remember",
                description=f"{mode}d the {block} block: {preview(text, 80)}",
                data={"block": block, "mode": mode, "old": old, "new": new},
            )
            return ToolResult(
                outcome="success",
                summary=f"the {block} block now holds {len(new)} characters",
                rows=(MemoryBlockRow(name=block, text=new, time=context.now), ep),
                data={"block": block, "mode": mode, "chars": len(new)},
            )

        return act(remembered)


def _sender_problem(sender: str) -> str | None:
    """Why ``sender`` cannot name a user block (``None``: it can)."""
    if not sender:
        return "the user block needs the sender it is about ('sender')"
    if any(ord(c) < 32 or ord(c) == 127 for c in sender):
        return "the sender holds control characters"
    return None
