"""The being: prompts, decisions, fallbacks, and the routes from streams through operators to sinks."""

from agent._deferred import DEFERRED, DeferPolicy, PendingReply, deferred_id
from agent._fallback_texts import CAUSES, explain_failure
from agent._pipeline import Route, Wiring, wire_pipeline
from agent._protect import Protection, ProtectPolicies, protect
from agent._recorder import Recorder
from agent._remember import Remember, remember_missing, remember_route
from agent._reply import REPLY, Replier, ReplyPolicy, fallback_chat_result, reply_id, reply_route
from agent._routes import (
    DESCRIPTION_MAX_CHARS,
    USER_TYPES,
    dead_letter,
    route_events,
    route_one,
)
from agent._trace import NO_TRACE, NoTrace, PipelineTrace
from agent._upkeep import UPKEEP, UpkeepReport, flush_job, upkeep_job, upkeep_route

__all__ = [
    "CAUSES",
    "DEFERRED",
    "DESCRIPTION_MAX_CHARS",
    "NO_TRACE",
    "REPLY",
    "UPKEEP",
    "USER_TYPES",
    "DeferPolicy",
    "NoTrace",
    "PendingReply",
    "PipelineTrace",
    "ProtectPolicies",
    "Protection",
    "Recorder",
    "Remember",
    "Replier",
    "ReplyPolicy",
    "Route",
    "UpkeepReport",
    "Wiring",
    "dead_letter",
    "deferred_id",
    "explain_failure",
    "fallback_chat_result",
    "flush_job",
    "protect",
    "remember_missing",
    "remember_route",
    "reply_id",
    "reply_route",
    "route_events",
    "route_one",
    "upkeep_job",
    "upkeep_route",
    "wire_pipeline",
]
