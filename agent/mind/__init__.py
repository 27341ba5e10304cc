"""The mind: on each heavy tick, gate → context → think → decide → act → after (docs/mind.md)."""

from agent.mind._decision import DEFAULT_ACTION, Decision, Problem, decision_schema, default_decision, read_decision
from agent.mind._episodes import ACTION, DECISION, IDLE, THOUGHT, thought_id
from agent.mind._gate import Gate, Look, ProtectionState, protection_state
from agent.mind._mind import Mind
from agent.mind._policy import NULL_MIND_LISTENER, MindListener, MindPolicy, NullMindListener
from agent.mind._route import OVERLAP_REASON, mind_route
from agent.mind._seams import MindContext, MindMemory, MindTools, ThoughtContext
from agent.mind._steps import TickBudget

__all__ = [
    "ACTION",
    "DECISION",
    "DEFAULT_ACTION",
    "IDLE",
    "NULL_MIND_LISTENER",
    "OVERLAP_REASON",
    "THOUGHT",
    "Decision",
    "Gate",
    "Look",
    "Mind",
    "MindContext",
    "MindListener",
    "MindMemory",
    "MindPolicy",
    "MindTools",
    "NullMindListener",
    "Problem",
    "ProtectionState",
    "ThoughtContext",
    "TickBudget",
    "decision_schema",
    "default_decision",
    "mind_route",
    "protection_state",
    "read_decision",
    "thought_id",
]
