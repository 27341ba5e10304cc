"""How the mind thinks: its limits and budget (:class:`MindPolicy`), and what it reports (:class:`MindListener`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from operators import PolicyError

__all__ = ["NULL_MIND_LISTENER", "MindListener", "MindPolicy", "NullMindListener"]


def _seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _count(value: object, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


@dataclass(frozen=True, slots=True, kw_only=True)
class MindPolicy:
    """The limits of one thought.

    Args:
        monologue_timeout_s: the monologue call's time limit (the step's, outside the protection's own).
        decision_timeout_s: the decision call's time limit, and its repair's.
        thought_deadline_s: the whole thought's, from the heavy tick to the act's end.
        calls_per_tick: the mind's own LLM calls per heavy tick (reset at each), inside the
            shared protection's budget.
        optional_min_calls: when fewer calls than this are left, the optional steps (``recall``,
            ``reflect``) are skipped (outcome ``skipped``).
        model: the chat model (``None``: the backend's configured one).
        options: generation options laid over the backend's.
        optional_tools: the tools that are optional steps (added: the spec names them, this holds them).
        focus_max_chars: the longest focus kept for recall and the prompt (added).
        answer_max_chars: the longest decision answer parsed; a longer one is unusable (added).
    """

    monologue_timeout_s: float = 30.0
    decision_timeout_s: float = 45.0
    thought_deadline_s: float = 120.0
    calls_per_tick: int = 4
    optional_min_calls: int = 2
    model: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    optional_tools: frozenset[str] = frozenset({"recall", "reflect"})
    focus_max_chars: int = 500
    answer_max_chars: int = 16_384

    def __post_init__(self) -> None:
        w = "MindPolicy"
        for name in ("monologue_timeout_s", "decision_timeout_s", "thought_deadline_s"):
            if not _seconds(getattr(self, name)):
                raise PolicyError(f"{w}.{name}", "seconds > 0", getattr(self, name))
        if not _count(self.calls_per_tick, 1):
            raise PolicyError(f"{w}.calls_per_tick", "an integer >= 1", self.calls_per_tick)
        if not _count(self.optional_min_calls, 0):
            raise PolicyError(f"{w}.optional_min_calls", "an integer >= 0", self.optional_min_calls)
        for name in ("focus_max_chars", "answer_max_chars"):
            if not _count(getattr(self, name), 1):
                raise PolicyError(f"{w}.{name}", "an integer >= 1", getattr(self, name))
        if not isinstance(self.optional_tools, frozenset) or not all(isinstance(t, str) for t in self.optional_tools):
            raise PolicyError(f"{w}.optional_tools", "a frozenset of tool names", self.optional_tools)


class MindListener(Protocol):
    """Told of what the mind does (the metrics are made from these reports)."""

    def on_gate(self, decision: Literal["idle", "think"]) -> None:
        """A heavy tick's gate said ``idle`` (nothing changed) or ``think``."""

    def on_thought(self, outcome: str, duration_s: float) -> None:
        """A thought ended (``success``, ``defaulted``, ``degraded``, ``timeout``) after ``duration_s``."""

    def on_step(self, step: str, outcome: str, duration_s: float) -> None:
        """A step (``monologue``, ``decision``, ``repair``, ``act``) ended."""

    def on_tool(self, tool: str, outcome: str) -> None:
        """A tool was called (or skipped) and ended with ``outcome``."""

    def on_overlap_skip(self) -> None:
        """A heavy tick came while a thought was still running, and was skipped."""


class NullMindListener:
    """A listener that is told everything and does nothing."""

    def on_gate(self, decision: Literal["idle", "think"]) -> None:
        return None

    def on_thought(self, outcome: str, duration_s: float) -> None:
        return None

    def on_step(self, step: str, outcome: str, duration_s: float) -> None:
        return None

    def on_tool(self, tool: str, outcome: str) -> None:
        return None

    def on_overlap_skip(self) -> None:
        return None


NULL_MIND_LISTENER: MindListener = NullMindListener()
