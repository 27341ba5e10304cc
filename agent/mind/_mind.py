"""What the mind is made of: the backend and its protection, the policy, the tools, the memory, the context."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent._protect import Protection
from agent.mind._gate import Gate
from agent.mind._policy import NULL_MIND_LISTENER, MindListener, MindPolicy
from agent.mind._seams import MindContext, MindMemory, MindTools
from llm import ChatResult, LLMBackend

__all__ = ["Mind"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Mind:
    """What the mind route needs.

    Args:
        backend: what answers.
        protection: the SAME protection object as the replies' (breaker, budget, cache, fallbacks).
        policy: the time limits and the per-tick call budget.
        registry: the tools by name (``agent.mind.tools.ToolRegistry``).
        memory: what the being knows (``agent.context.BeingMemory``).
        context: builds a thought's context (``agent.context.ContextBuilder``).
        listener: told of gates, thoughts, steps, tools and skipped ticks.
        gate: what changed since the last thought (added). The mind route feeds it every event;
            the wiring may show it every row too (``mind.gate.see``), so replies and the dead letters
            of other routes wake the mind.
    """

    backend: LLMBackend
    protection: Protection[ChatResult]
    policy: MindPolicy
    registry: MindTools
    memory: MindMemory
    context: MindContext
    listener: MindListener = NULL_MIND_LISTENER
    gate: Gate = field(default_factory=Gate)
