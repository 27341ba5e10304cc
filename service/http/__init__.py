"""The HTTP surface of the service (aiohttp): the app, its guard, the console, and serving it with limits."""

from service.health import Health
from service.http._app import BadParameter, build_app, parse_episode_query, parse_search_query
from service.http._hosts import HostRules
from service.http._message_body import MessageLimits
from service.http._message_desk import MessageDesk, recovered_events
from service.http._metrics import HttpMetrics
from service.http._search import SearchBackend
from service.http._serve import Served, serve
from service.http._status import StatusBoard

__all__ = [
    "BadParameter",
    "Health",
    "HostRules",
    "HttpMetrics",
    "MessageDesk",
    "MessageLimits",
    "SearchBackend",
    "Served",
    "StatusBoard",
    "build_app",
    "parse_episode_query",
    "parse_search_query",
    "recovered_events",
    "serve",
]
