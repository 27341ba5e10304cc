"""``being tail``: follow the episodes as the running service stores them (``GET /events``).

Prints one line per episode (``--json``: the episode's JSON), reconnecting with
``Last-Event-ID`` when the connection drops, so nothing still in the service's ring is missed;
a gap (the service restarted, or this client fell too far behind) is said on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from service.commands._common import EXIT_FAILED, EXIT_OK, add_config_option, load_or_exit
from service.commands._service_client import auth_headers, service_address
from service.errors import ServiceAnswerError
from service.settings import Settings

__all__ = ["ServerEvent", "parse_events", "register"]


@dataclass(slots=True)
class ServerEvent:
    """One Server-Sent Event: its id (``None`` when the frame had none), type and data."""

    id: str | None = None
    event: str = "message"
    data: list[str] = field(default_factory=list)
    retry_ms: int | None = None


def parse_events(lines: Iterator[str]) -> Iterator[ServerEvent]:
    """The events of an SSE stream, given its lines (comments and heartbeats skipped)."""
    current = ServerEvent()
    for line in lines:
        if line == "":
            if current.data or current.id is not None or current.retry_ms is not None:
                yield current
            current = ServerEvent()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            current.id = value
        elif name == "event":
            current.event = value
        elif name == "data":
            current.data.append(value)
        elif name == "retry" and value.isdigit():
            current.retry_ms = int(value)


def _line(episode: dict[str, Any]) -> str:
    description = str(episode.get("description", "")).replace("\n", " ")
    return f"{episode.get('time')}  {episode.get('type', ''):<22} {episode.get('outcome', ''):<9} {description[:100]}"


class _Follow:
    """One ``being tail``: the last event id seen, the reconnection delay, what is left to print."""

    def __init__(self, settings: Settings, types: list[str], as_json: bool, count: int | None) -> None:
        self.settings = settings
        self.params = {"type": ",".join(types)} if types else {}
        self.as_json = as_json
        self.left = count
        self.last_id: str | None = None
        self.retry_s = 3.0
        self.connected = False  # once a stream was open, a lost connection is reconnected

    def stream_once(self) -> bool:
        """Read one connection's events; ``True`` when done (``--count`` reached)."""
        address = service_address(self.settings)
        headers = {"Accept": "text/event-stream", **auth_headers(self.settings)}
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        # heartbeats come every http.events.heartbeat_s: a longer silence is a dead link
        timeout = httpx.Timeout(10.0, read=max(30.0, 3 * self.settings.http.events.heartbeat_s))
        url = f"{address.base_url}/events"
        with httpx.stream("GET", url, params=self.params, headers=headers, timeout=timeout) as r:
            if r.status_code != 200:
                text = r.read().decode("utf-8", "replace")
                try:
                    message = json.loads(text).get("error", text)
                except (ValueError, AttributeError):
                    message = text
                raise ServiceAnswerError(f"the service answered {r.status_code}: {str(message)[:200]}")
            self.connected = True
            for event in parse_events(r.iter_lines()):
                if event.retry_ms is not None:
                    self.retry_s = event.retry_ms / 1000
                if event.id is not None:
                    self.last_id = event.id
                if event.event == "gap":
                    print(f"being tail: episodes were missed: {''.join(event.data)}", file=sys.stderr)
                elif event.event == "episode" and self._print("\n".join(event.data)):
                    return True
        return False

    def _print(self, data: str) -> bool:
        print(data if self.as_json else _line(json.loads(data)), flush=True)
        if self.left is None:
            return False
        self.left -= 1
        return self.left <= 0


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    follow = _Follow(settings, list(args.type or []), args.json, args.count)
    try:
        while True:
            try:
                if follow.stream_once():
                    return EXIT_OK
            except httpx.TransportError as exc:
                if not follow.connected:
                    print(
                        f"being tail: no service answers at {service_address(settings).base_url}: {exc}",
                        file=sys.stderr,
                    )
                    return EXIT_FAILED
            print("being tail: the stream ended; reconnecting", file=sys.stderr)
            time.sleep(follow.retry_s)
    except KeyboardInterrupt:
        return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("tail", help="follow the episodes as the running service stores them")
    add_config_option(parser)
    parser.add_argument(
        "--type", action="append", help="only episodes of this type (repeat it; user.* matches a prefix)"
    )
    parser.add_argument("--json", action="store_true", help="print each episode's JSON instead of a line")
    parser.add_argument("--count", type=int, default=None, help="stop after this many episodes")
    parser.set_defaults(handler=handle)
