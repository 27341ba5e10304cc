"""What the being knows and how a prompt is built from it: the memory, the recall, the context builder."""

from agent.context._builder import CUT_ORDER, DEFAULT_PERSONA, Context, ContextBuilder, ContextPolicy
from agent.context._memory import INTENTIONS, MESSAGE, BeingMemory, ObservingRecall, SenderRecall, sender_of
from agent.context._recall import MemoryRecall, OwnedVector, read_recall_seed
from agent.context._seed import CONVERSATION_TYPES, read_memory_episodes

__all__ = [
    "CONVERSATION_TYPES",
    "CUT_ORDER",
    "DEFAULT_PERSONA",
    "INTENTIONS",
    "MESSAGE",
    "BeingMemory",
    "Context",
    "ContextBuilder",
    "ContextPolicy",
    "MemoryRecall",
    "ObservingRecall",
    "OwnedVector",
    "SenderRecall",
    "read_memory_episodes",
    "read_recall_seed",
    "sender_of",
]
