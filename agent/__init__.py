"""The being: prompts, decisions, fallbacks, and the routes from streams through operators to sinks."""

from agent._protect import Protection, ProtectPolicies, protect
from agent._routes import (
    DESCRIPTION_MAX_CHARS,
    USER_TYPES,
    bad_input_route,
    dead_letter,
    mind_route,
    observe_episode,
    route_events,
    user_episode,
    user_route,
)
from agent._upkeep import UPKEEP, UpkeepReport, flush_job, upkeep_job, upkeep_route

__all__ = [
    "DESCRIPTION_MAX_CHARS",
    "UPKEEP",
    "USER_TYPES",
    "ProtectPolicies",
    "Protection",
    "UpkeepReport",
    "bad_input_route",
    "dead_letter",
    "flush_job",
    "mind_route",
    "observe_episode",
    "protect",
    "route_events",
    "upkeep_job",
    "upkeep_route",
    "user_episode",
    "user_route",
]
