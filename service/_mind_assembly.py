"""Building the being's mind from ``[mind]``: its policies, its memory, its context builder, its tools.

``[mind]`` holds each default once; the policies (``MindPolicy``, ``ToolPolicy``,
``ContextPolicy``) are built from it here and check the values again. Used by ``assemble`` for
``being run`` and ``being replay`` alike, so a replay thinks with the same parts as the live run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent import Protection, Remember
from agent.context import BeingMemory, ContextBuilder, ContextPolicy, MemoryRecall
from agent.mind import NULL_MIND_LISTENER, Mind, MindListener, MindPolicy
from agent.mind.tools import ToolPolicy, ToolRegistry, default_tools
from llm import ChatResult, LLMBackend
from service._assembly import remember_policy
from service.replay._compare import RUNTIME_TYPES
from service.settings import Settings
from sinks import EpisodeRow, RecordedEventRow, Row
from streams import Event

__all__ = ["Being", "build_being", "context_policy", "mind_policy", "tool_policy"]

MEMORY_RECENT = 200
"""Episodes the being's memory keeps (a thought is offered ``context_recent_episodes`` of them)."""


def mind_policy(settings: Settings) -> MindPolicy:
    """The thought's timeouts, deadline and budget per tick, from ``[mind]``."""
    mind = settings.mind
    return MindPolicy(
        monologue_timeout_s=mind.monologue_timeout_s,
        decision_timeout_s=mind.decision_timeout_s,
        thought_deadline_s=mind.thought_deadline_s,
        calls_per_tick=mind.calls_per_tick,
        optional_min_calls=mind.optional_min_calls,
        model=mind.model or None,
    )


def tool_policy(settings: Settings) -> ToolPolicy:
    """The tools' limits (notes, blocks, messages per hour, quiet hours, risk), from ``[mind]``."""
    mind = settings.mind
    return ToolPolicy(
        notes_max_bytes=mind.notes_max_bytes,
        block_max_chars=mind.block_max_chars,
        messages_per_hour=mind.messages_per_hour,
        active_hours=mind.hours,
        allow_high_risk=mind.allow_high_risk,
        timeout_s=mind.tool_timeout_s,
    )


def context_policy(settings: Settings) -> ContextPolicy:
    """The prompts' character budget and what they hold, from ``[mind]`` (the persona when one is set)."""
    mind = settings.mind
    persona: dict[str, Any] = {"persona": mind.persona} if mind.persona else {}
    return ContextPolicy(
        max_chars=mind.context_max_chars,
        recent_episodes=mind.context_recent_episodes,
        exchanges=mind.context_exchanges,
        recall_k=mind.context_recall_k,
        **persona,
    )


@dataclass(frozen=True, slots=True)
class Being:
    """What the being knows and how it thinks, wired into the pipeline by ``assemble``.

    Attributes:
        memory: the event loop's view of goals, blocks, principles, intentions and recent episodes.
        context: the one context builder, for thoughts and replies.
        recall: the memory's search by meaning (fed by the memory itself; ``None``: no recall).
        mind: thinks on heavy ticks (``None`` when ``[mind] enabled`` is off).
    """

    memory: BeingMemory
    context: ContextBuilder
    recall: MemoryRecall | None
    mind: Mind | None

    def observe(self, item: Event | Row) -> None:
        """Show the memory (and the mind's gate, the rows) one event or row, on the event loop.

        The mind route shows its gate every event itself; the rows come from here, so the replies
        and the dead letters of other routes wake the mind (its own rows it marked as its own).
        Episodes the live runtime writes on its own clock (``service.replay.RUNTIME_TYPES``) are
        not shown: a replay of the same events never makes them, and it must think the same.
        """
        if type(item) is RecordedEventRow:
            return  # the recorder's copy of an event the memory was shown already (one per event)
        if isinstance(item, EpisodeRow) and item.type in RUNTIME_TYPES:
            return  # the live runtime's own (upkeep): a replay has none, so the memory must not either
        self.memory.observe(item)
        if self.mind is not None and not isinstance(item, Event):
            self.mind.gate.see(item)


def build_being(
    settings: Settings,
    *,
    backend: LLMBackend,
    protection: Protection[ChatResult],
    listener: MindListener | None = None,
    remember: Remember | None = None,
) -> Being:
    """The memory, context builder, tool registry and mind, from the settings (the mind only when enabled).

    Args:
        backend: what the mind asks (the replies' backend).
        protection: the replies' protection: one breaker, budget and cache for every LLM call.
        listener: told of gate decisions, thoughts, steps, tool calls and overlap skips (metrics).
        remember: the remember route's policy, whose recent embeddings the recall shares (default:
            one made from the settings).
    """
    if remember is None:
        remember = remember_policy(settings)
    recall = MemoryRecall(remember) if remember is not None else None
    policy = context_policy(settings)
    memory = BeingMemory(
        recall=recall, max_recent=max(MEMORY_RECENT, policy.recent_episodes), max_exchanges=max(20, policy.exchanges)
    )
    context = ContextBuilder(memory, policy)
    mind: Mind | None = None
    if settings.mind.enabled:
        tools = tool_policy(settings)
        registry = ToolRegistry(default_tools(tools), allow_high_risk=tools.allow_high_risk)
        mind = Mind(
            backend=backend,
            protection=protection,
            policy=mind_policy(settings),
            registry=registry,
            memory=memory,
            context=context,
            listener=listener if listener is not None else NULL_MIND_LISTENER,
        )
    return Being(memory=memory, context=context, recall=recall, mind=mind)
