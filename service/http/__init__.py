"""The HTTP surface of the service (aiohttp)."""

from service.http._app import BadParameter, build_app, parse_episode_query
from service.http._health import Health

__all__ = ["BadParameter", "Health", "build_app", "parse_episode_query"]
