"""``observe``: nothing to do this time (the being's "all is well"); it leaves no row of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from reactivex import Observable

from agent.mind.tools._results import act, preview, text_arg
from agent.mind.tools._tool import Risk, ToolContext, ToolResult

__all__ = ["ObserveTool"]

_ARGUMENTS: Mapping[str, Any] = {
    "type": "object",
    "properties": {"note": text_arg(300, min_chars=0, description="what was looked at, if anything")},
    "additionalProperties": False,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ObserveTool:
    """Do nothing; the ``mind.action`` episode the thought writes is the whole record."""

    timeout_s: float = 5.0

    name: ClassVar[str] = "observe"
    description: ClassVar[str] = "Nothing needs doing now; keep watching."

    arguments: ClassVar[Mapping[str, Any]] = _ARGUMENTS
    risk: ClassVar[Risk] = "low"

    def run(self, arguments: Mapping[str, Any], context: ToolContext) -> Observable[ToolResult]:
        note = str(arguments.get("note", ""))

        def observed() -> ToolResult:
            summary = "observed" + (f": {preview(note)}" if note else "")
            return ToolResult(outcome="success", summary=summary, data={"note": note})

        return act(observed)
