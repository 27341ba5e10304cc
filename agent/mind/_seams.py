"""What the mind needs of the parts built beside it: the memory, the context builder, the tool registry.

They are Protocols holding only what the mind uses, so that ``agent.context.BeingMemory``,
``agent.context.ContextBuilder`` and ``agent.mind.tools.ToolRegistry`` fit them as they are, and
tests can give small fakes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from reactivex import Observable, abc

from agent.mind.tools import ToolContext, ToolResult
from sinks import GoalRow

__all__ = ["MindContext", "MindMemory", "MindTools", "ThoughtContext"]


class ThoughtContext(Protocol):
    """An assembled context (``agent.context.Context``)."""

    @property
    def text(self) -> str: ...

    @property
    def sections(self) -> Mapping[str, int]: ...

    @property
    def cut(self) -> Sequence[Mapping[str, Any]]: ...


class MindContext(Protocol):
    """Builds a thought's context within its character budget (``agent.context.ContextBuilder``)."""

    def for_thought(self, focus: str) -> ThoughtContext: ...


class MindMemory(Protocol):
    """What the being knows right now (``agent.context.BeingMemory``)."""

    @property
    def goals(self) -> Mapping[str, GoalRow]: ...

    def tool_context(self, now: datetime, thought_id: str) -> ToolContext: ...


class MindTools(Protocol):
    """The tools by name (``agent.mind.tools.ToolRegistry``)."""

    @property
    def names(self) -> tuple[str, ...]: ...

    @property
    def schemas(self) -> Mapping[str, Mapping[str, Any]]:
        """Each tool's argument schema by name, in order."""
        ...

    def describe(self) -> str: ...

    def call(
        self, name: str, arguments: object, context: ToolContext, *, scheduler: abc.SchedulerBase | None = None
    ) -> Observable[ToolResult]: ...
