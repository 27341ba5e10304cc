"""``reflect``: turn what went well and badly lately into principles (stored once each)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from reactivex import Observable

from agent.mind.tools._results import act, episode, preview, text_arg
from agent.mind.tools._tool import Risk, ToolContext, ToolResult
from sinks import DeadLetterRow, EpisodeRow, PrincipleRow, principle_key

__all__ = ["FAILED_OUTCOMES", "ReflectTool"]

FAILED_OUTCOMES = frozenset({"failure", "fallback", "timeout", "error", "refused"})
"""Episode outcomes that count as something that went badly."""

EVIDENCE_MAX = 10
"""How many episode ids the ``mind.reflect`` episode cites."""

_ARGUMENTS: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "principles": {
            "type": "array",
            "items": text_arg(300),
            "minItems": 1,
            "maxItems": 3,
            "description": "rules to keep, each a short sentence",
        },
        "because": text_arg(1_000, min_chars=0, description="what in the recent past taught them"),
    },
    "required": ["principles"],
    "additionalProperties": False,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReflectTool:
    """:class:`PrincipleRow` s for the principles not yet known, and a ``mind.reflect`` episode with the evidence.

    Refused when the recent past holds nothing that went well or badly (nothing to learn from).
    """

    timeout_s: float = 5.0

    name: ClassVar[str] = "reflect"
    description: ClassVar[str] = (
        "Learn from recent failures and successes: state up to 3 principles to keep (each stored once)."
    )

    arguments: ClassVar[Mapping[str, Any]] = _ARGUMENTS
    risk: ClassVar[Risk] = "low"

    def run(self, arguments: Mapping[str, Any], context: ToolContext) -> Observable[ToolResult]:
        def reflected() -> ToolResult:
            failures: list[EpisodeRow | DeadLetterRow] = [
                r for r in context.recent if isinstance(r, DeadLetterRow | EpisodeRow) and _failed(r)
            ]
            successes = [r for r in context.recent if isinstance(r, EpisodeRow) and r.outcome == "success"]
            if not failures and not successes:
                return ToolResult(
                    outcome="refused",
                    summary="nothing to reflect on: no recent success or failure",
                    data={"reason": "no_evidence"},
                )
            known = {principle_key(p) for p in context.principles}
            new: list[str] = []
            repeated: list[str] = []
            for text in (" ".join(str(p).split()) for p in arguments["principles"]):
                if principle_key(text) in known:
                    repeated.append(text)
                else:
                    known.add(principle_key(text))
                    new.append(text)
            evidence = [r.id for r in failures[-EVIDENCE_MAX:]] or [r.id for r in successes[-EVIDENCE_MAX:]]
            data = {
                "principles": new,
                "known": repeated,
                "failures": len(failures),
                "successes": len(successes),
                "evidence": evidence,
                "because": str(arguments.get("because", "")),
            }
            ep = episode(
                context,
                self.name,
                arguments,
                type="mind.reflect",
                description=f"learnt {len(new)} principle(s)" + (f": {preview(new[0], 80)}" if new else ""),
                data=data,
            )
            rows = tuple(PrincipleRow(text=text, time=context.now, source="reflect") for text in new)
            summary = f"learnt: {' | '.join(new)}" if new else f"already known: {' | '.join(repeated)}"
            return ToolResult(outcome="success", summary=preview(summary, 400), rows=(*rows, ep), data=data)

        return act(reflected)


def _failed(row: EpisodeRow | DeadLetterRow) -> bool:
    return isinstance(row, DeadLetterRow) or row.outcome in FAILED_OUTCOMES
