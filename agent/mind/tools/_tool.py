"""What a tool of the mind is: a name, an argument schema, a risk level, a timeout and a run.

A tool never does I/O itself and never raises: it returns a :class:`ToolResult` whose rows (episodes,
goals, notes, memory blocks, principles) travel down the stream to the sinks, which do the writing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from reactivex import Observable

from sinks import GoalRow, Row

__all__ = ["Risk", "Tool", "ToolContext", "ToolResult"]

Risk = Literal["low", "medium", "high"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolContext:
    """What a tool may look at (a read-only view the mind builds before each act).

    Args:
        now: the scheduler's time.
        thought_id: the stable id of the thought acting (row ids derive from it).
        goals: every goal not yet done or dropped, by id.
        blocks: the memory blocks' current text (``self``, ``user``).
        principles: the principles already learnt (to store each once).
        recent: recent episodes, oldest first (what ``reflect`` learns from).
        recall: search memory by meaning: ``(query, k)`` → the texts found, best first.
        messages_last_hour: how many ``being.message`` episodes the being wrote in the last hour.
    """

    now: datetime
    thought_id: str
    goals: Mapping[str, GoalRow] = field(default_factory=dict)
    blocks: Mapping[str, str] = field(default_factory=dict)
    principles: Sequence[str] = ()
    recent: Sequence[Row] = ()
    recall: Callable[[str, int], Sequence[str]] = lambda _query, _k: ()
    messages_last_hour: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResult:
    """How one act ended.

    Args:
        outcome: ``success``, ``failure``, ``refused`` (not allowed now: quiet hours, a limit, risk) or ``skipped``.
        summary: one line for the next thought's context.
        rows: what the act leaves for the sinks.
        data: details for the ``mind.action`` episode.
    """

    outcome: Literal["success", "failure", "refused", "skipped"]
    summary: str
    rows: tuple[Row, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)


class Tool(Protocol):
    """One thing the mind can do, registered by ``name``."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str:
        """One line for the decision prompt."""
        ...

    @property
    def arguments(self) -> Mapping[str, Any]:
        """The JSON schema (Draft 2020-12) its arguments must match."""
        ...

    @property
    def risk(self) -> Risk: ...

    @property
    def timeout_s(self) -> float: ...

    def run(self, arguments: Mapping[str, Any], context: ToolContext) -> Observable[ToolResult]:
        """A cold observable of one result; the arguments have already matched :attr:`arguments`."""
        ...
