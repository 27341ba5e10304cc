"""The HTTP surface of the service (aiohttp)."""

from service.http._app import BadParameter, build_app, parse_episode_query, parse_search_query
from service.http._health import Health
from service.http._search import LexicalQueryEmbedder, SearchBackend, query_embedder

__all__ = [
    "BadParameter",
    "Health",
    "LexicalQueryEmbedder",
    "SearchBackend",
    "build_app",
    "parse_episode_query",
    "parse_search_query",
    "query_embedder",
]
