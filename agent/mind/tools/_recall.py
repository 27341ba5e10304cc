"""``recall``: search memory by meaning; the texts found go into the next thought's context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from reactivex import Observable

from agent.mind.tools._results import act, preview, text_arg
from agent.mind.tools._tool import Risk, ToolContext, ToolResult

__all__ = ["RECALL_MAX_K", "RecallTool"]

RECALL_MAX_K = 10
"""The most memories one recall may ask for."""

FOUND_TEXT_MAX_CHARS = 500
"""How much of each text found the summary and the action's data keep."""

_ARGUMENTS: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "query": text_arg(500, description="what to look for, in words"),
        "k": {"type": "integer", "minimum": 1, "maximum": RECALL_MAX_K, "description": "how many memories"},
    },
    "required": ["query"],
    "additionalProperties": False,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RecallTool:
    """Search memory with ``context.recall``; writes nothing, its summary holds what was found."""

    timeout_s: float = 5.0
    default_k: int = 4

    def __post_init__(self) -> None:
        if not 1 <= self.default_k <= RECALL_MAX_K:
            raise ValueError(f"RecallTool.default_k: expected 1 to {RECALL_MAX_K}, got {self.default_k}")

    name: ClassVar[str] = "recall"
    description: ClassVar[str] = "Search memory by meaning; what is found is shown to the next thought."

    arguments: ClassVar[Mapping[str, Any]] = _ARGUMENTS
    risk: ClassVar[Risk] = "low"

    def run(self, arguments: Mapping[str, Any], context: ToolContext) -> Observable[ToolResult]:
        query = str(arguments["query"])
        k = int(arguments.get("k", self.default_k))

        def recalled() -> ToolResult:
            found = [preview(str(text), FOUND_TEXT_MAX_CHARS) for text in list(context.recall(query, k))[:k]]
            if not found:
                summary = f"recalled nothing for {preview(query, 80)!r}"
            else:
                summary = f"recalled {len(found)} for {preview(query, 80)!r}: " + " | ".join(found)
            return ToolResult(outcome="success", summary=summary, data={"query": query, "k": k, "found": found})

        return act(recalled)
