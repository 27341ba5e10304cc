"""The being: prompts, decisions, fallbacks, and the routes from streams through operators to sinks."""

from agent._call_rows import CallRecord, dead_letter_row
from agent._deferred import DEFERRED, DeferPolicy, PendingReply, deferred_id, deferred_replies
from agent._fallback_texts import CAUSES, explain_failure
from agent._pipeline import Route, Wiring, wire_pipeline
from agent._prompts import FALLBACK_REPLY, SYSTEM_PROMPT
from agent._protect import Protection, ProtectPolicies, protect
from agent._recorder import Recorder
from agent._remember import REMEMBERED_TYPES, Remember, remember_missing, remember_route, vector_of
from agent._reply import REPLY, Replier, ReplyPolicy, fallback_chat_result, reply_id, reply_route
from agent._routes import (
    DESCRIPTION_MAX_CHARS,
    USER_TYPES,
    dead_letter,
    observe_episode,
    route_events,
    route_one,
    user_episode,
)
from agent._upkeep import UPKEEP, UpkeepReport, flush_job, upkeep_job, upkeep_route

__all__ = [
    "CAUSES",
    "DEFERRED",
    "DESCRIPTION_MAX_CHARS",
    "FALLBACK_REPLY",
    "REMEMBERED_TYPES",
    "REPLY",
    "SYSTEM_PROMPT",
    "UPKEEP",
    "USER_TYPES",
    "CallRecord",
    "DeferPolicy",
    "PendingReply",
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
    "dead_letter_row",
    "deferred_id",
    "deferred_replies",
    "explain_failure",
    "fallback_chat_result",
    "flush_job",
    "observe_episode",
    "protect",
    "remember_missing",
    "remember_route",
    "reply_id",
    "reply_route",
    "route_events",
    "route_one",
    "upkeep_job",
    "upkeep_route",
    "user_episode",
    "vector_of",
    "wire_pipeline",
]
