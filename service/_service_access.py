"""What the runtime does about access at start and stop: the token's file and announcement, the live stream's hub.

Kept out of ``runtime.py`` so that the composition root only calls these in order:
:func:`service_token` when the runtime is made (a bad token variable or file stops the start
there), :func:`publish_token` before the server listens, :func:`announce_token` once it does,
:func:`forget_token` after it stopped.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote

from prometheus_client import CollectorRegistry

from service import _token
from service._token import ServiceToken
from service.http import EventHub, EventMetrics, EventStreamPolicy
from service.settings import Settings
from sinks import BatchResult

__all__ = [
    "announce_token",
    "console_url",
    "event_hub",
    "forget_token",
    "live_stream_feed",
    "publish_token",
    "service_token",
]

log = logging.getLogger("service.http")


def service_token(settings: Settings, env: Mapping[str, str]) -> ServiceToken:
    """The token of this run: the one given by variable or file, else a fresh one (see ``service/_token.py``)."""
    return _token.service_token(settings, env)


def publish_token(database_path: str | Path, token: ServiceToken) -> None:
    """Write a generated token to ``<database>.token`` (mode 0600); a given one is left where it is."""
    if token.source == "generated":
        _token.publish_token(database_path, token)


def forget_token(database_path: str | Path, token: ServiceToken) -> None:
    """Remove the file of a generated token (at a graceful stop)."""
    if token.source == "generated":
        _token.forget_token(database_path)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def console_url(host: str, port: int, token: str) -> str:
    """The console's link with the token in its fragment (never sent to the server)."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else "[::1]" if host == "::" else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/#token={quote(token, safe='')}"


def announce_token(token: ServiceToken, host: str, port: int) -> None:
    """Log where the token is (never the token); print the console's link on a terminal.

    A generated token on a non-loopback address is allowed and said loudly: whoever reaches
    the port needs the token, and the token is in the file named in the warning.
    """
    log.info("http.auth", extra={"token_source": token.source, "token_where": token.where})
    if token.source == "generated" and not _loopback(host):
        log.warning(
            "http.auth.generated_on_network",
            extra={
                "host": host,
                "token_file": token.where,
                "note": "clients need the token in this file; or give one with http.token_env or http.token_file",
            },
        )
    if token.source == "generated" and sys.stderr.isatty():
        # like Jupyter's link: only to a person at a terminal, never into a collected log
        print(f"console: {console_url(host, port, token.value)}", file=sys.stderr, flush=True)


def event_hub(settings: Settings, run_id: str, registry: CollectorRegistry) -> EventHub:
    """The live stream's hub of this run, its series on ``registry``."""
    policy = EventStreamPolicy.from_settings(settings.http.events)
    return EventHub(policy, stream_id=run_id, metrics=EventMetrics(registry))


def live_stream_feed(hub: EventHub, on_loop: Callable[[Callable[[], None]], None]) -> Callable[[BatchResult], None]:
    """What the writer thread tells of each committed batch: its episodes, handed to the hub on the loop."""

    def committed(result: BatchResult) -> None:
        if result.episode_rows:
            rows = result.episode_rows
            on_loop(lambda: hub.publish(rows))

    return committed
