"""The episodes as they are stored, fanned out to ``GET /events`` clients without ever making the pipeline wait.

The runtime hands every committed batch's inserted episodes to :meth:`EventHub.publish` on the
event loop. The hub numbers them (``seq``, from 1 in each run) and keeps the newest
``ring_size`` in a ring: the only copy, shared by every client. Each client has a cursor (the
last ``seq`` it has been given) and reads from the ring at its own pace, woken when something
new arrives. ``publish`` appends, wakes, and disconnects every client that is now more than
``client_max_lag`` episodes behind: it never waits for one, and memory is the ring's, whatever
the clients do. An entry's SSE frame is encoded once, when the first client needs it.

An event's id is ``<stream_id>:<seq>`` (the stream id is the run's id), so a client that
reconnects with ``Last-Event-ID`` gets what it missed while it is still in the ring.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge

from service.settings import EventStreamSettings
from sinks import EpisodeRow, to_json_bytes

__all__ = ["DROP_REASONS", "EventClient", "EventHub", "EventMetrics", "EventStreamPolicy", "Resume", "TypeFilter"]

DROP_REASONS = ("slow", "stalled")
"""Why a client is disconnected: ``slow`` (over ``client_max_lag`` behind), ``stalled`` (its
connection took no bytes for ``write_timeout_s``)."""

MAX_TYPES = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class EventStreamPolicy:
    """How the live stream keeps and paces its clients (``[http.events]``)."""

    ring_size: int = 1000
    client_max_lag: int = 256
    heartbeat_s: float = 15.0
    write_timeout_s: float = 30.0
    retry_ms: int = 3000

    def __post_init__(self) -> None:
        for name in ("ring_size", "client_max_lag"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"EventStreamPolicy.{name}: expected an integer >= 1, got {value!r}")
        if self.client_max_lag > self.ring_size:
            raise ValueError(
                f"EventStreamPolicy.client_max_lag: expected at most ring_size ({self.ring_size}), "
                f"got {self.client_max_lag}"
            )
        for name in ("heartbeat_s", "write_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"EventStreamPolicy.{name}: expected a number > 0, got {getattr(self, name)!r}")
        if self.retry_ms < 0:
            raise ValueError(f"EventStreamPolicy.retry_ms: expected an integer >= 0, got {self.retry_ms!r}")

    @classmethod
    def from_settings(cls, events: EventStreamSettings) -> EventStreamPolicy:
        return cls(
            ring_size=events.ring_size,
            client_max_lag=events.client_max_lag,
            heartbeat_s=events.heartbeat_s,
            write_timeout_s=events.write_timeout_s,
            retry_ms=events.retry_ms,
        )


class EventMetrics:
    """The live stream's series.

    - ``being_events_clients`` gauge: streams open now
    - ``being_events_published_total``: stored episodes entered into the ring
    - ``being_events_sent_total``: episodes written to clients (one per client)
    - ``being_events_clients_dropped_total{reason}``: ``slow``, ``stalled``
    - ``being_events_resumes_total{outcome}``: ``Last-Event-ID`` given: ``resumed``, ``other_run``, ``too_old``
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.clients = Gauge("being_events_clients", "GET /events streams open now", registry=registry)
        self.published = Counter(
            "being_events_published", "Stored episodes entered into the live stream's ring", registry=registry
        )
        self.sent = Counter("being_events_sent", "Episodes written to live stream clients", registry=registry)
        self.dropped = Counter(
            "being_events_clients_dropped",
            "Live stream clients disconnected for not keeping up, by reason",
            ["reason"],
            registry=registry,
        )
        for reason in DROP_REASONS:
            self.dropped.labels(reason=reason)
        self.resumes = Counter(
            "being_events_resumes", "Live streams opened with Last-Event-ID, by outcome", ["outcome"], registry=registry
        )
        for outcome in ("resumed", "other_run", "too_old"):
            self.resumes.labels(outcome=outcome)


class TypeFilter:
    """Which episode types a client wants: exact names, and prefixes written ``user.*``; none: every type."""

    __slots__ = ("exact", "prefixes")

    def __init__(self, types: Iterable[str] = ()) -> None:
        names = [t for t in types if t]
        if len(names) > MAX_TYPES:
            raise ValueError(f"type: expected at most {MAX_TYPES} types, got {len(names)}")
        for name in names:
            if len(name) > 200 or any(c.isspace() or c in "*" for c in name.removesuffix(".*")):
                raise ValueError(f"type: expected episode types such as user.reply or user.*, got {name[:100]!r}")
        self.exact = frozenset(n for n in names if not n.endswith(".*"))
        self.prefixes = tuple(n[:-1] for n in names if n.endswith(".*"))

    def __call__(self, type_: str) -> bool:
        if not self.exact and not self.prefixes:
            return True
        return type_ in self.exact or type_.startswith(self.prefixes)


class _Entry:
    """One stored episode in the ring; its SSE frame is made once, when first asked for."""

    __slots__ = ("_frame", "row", "seq")

    def __init__(self, seq: int, row: EpisodeRow) -> None:
        self.seq = seq
        self.row = row
        self._frame: bytes | None = None

    def frame(self, stream_id: str) -> bytes:
        if self._frame is None:
            row = self.row
            body = to_json_bytes(
                {
                    "id": row.id,
                    "time": row.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "type": row.type,
                    "description": row.description,
                    "outcome": row.outcome,
                    "data": row.data,
                }
            )
            self._frame = b"id: %s:%d\nevent: episode\ndata: %s\n\n" % (stream_id.encode(), self.seq, body)
        return self._frame


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a new stream starts: after ``cursor``; ``gap`` says why episodes were missed (``None``: none were)."""

    cursor: int
    gap: Literal["other_run", "too_old"] | None = None


class EventClient:
    """One open stream: its cursor, its filter, and how the hub wakes or drops it.

    Attributes:
        abort: closes the connection at once (set by the route); a client dropped for not
            keeping up is cut off with it, so a write blocked on a full socket ends too.
    """

    __slots__ = ("_hub", "abort", "cursor", "dropped", "types", "wake")

    def __init__(self, hub: EventHub, cursor: int, types: TypeFilter) -> None:
        self._hub = hub
        self.cursor = cursor
        self.types = types
        self.wake = asyncio.Event()
        self.dropped: str | None = None
        self.abort: Callable[[], None] | None = None

    def take(self) -> list[bytes]:
        """The frames of every matching episode after the cursor (which moves to the newest)."""
        frames = self._hub.frames_after(self)
        self.cursor = self._hub.head
        return frames

    def drop(self, reason: str) -> None:
        """End this stream: the serving loop stops; unless at shutdown, the connection is cut."""
        if self.dropped is None:
            self.dropped = reason
            self.wake.set()
            if reason != "shutdown" and self.abort is not None:
                self.abort()


class EventHub:
    """The ring of recently stored episodes and the clients reading it; used on the event loop only.

    Args:
        policy: ring size, lag bound, pacing.
        stream_id: this run's id, the first part of every event id.
        metrics: the series (``None``: not counted).
    """

    def __init__(self, policy: EventStreamPolicy, *, stream_id: str, metrics: EventMetrics | None = None) -> None:
        if not stream_id or ":" in stream_id:
            raise ValueError(f"EventHub.stream_id: expected a non-empty id without ':', got {stream_id!r}")
        self.policy = policy
        self.stream_id = stream_id
        self._metrics = metrics
        self._ring: deque[_Entry] = deque(maxlen=policy.ring_size)
        self._clients: set[EventClient] = set()
        self.head = 0
        self.closed = False
        if metrics is not None:
            metrics.clients.set_function(lambda: len(self._clients))

    @property
    def clients(self) -> int:
        return len(self._clients)

    @property
    def streams(self) -> tuple[EventClient, ...]:
        """The clients open now."""
        return tuple(self._clients)

    @property
    def oldest(self) -> int:
        """The ``seq`` of the oldest episode in the ring (``head + 1`` when it is empty)."""
        return self._ring[0].seq if self._ring else self.head + 1

    def event_id(self, seq: int) -> str:
        return f"{self.stream_id}:{seq}"

    def publish(self, rows: Sequence[EpisodeRow]) -> None:
        """Enter stored episodes, in the order stored; wake every client, drop those too far behind."""
        if not rows or self.closed:
            return
        for row in rows:
            self.head += 1
            self._ring.append(_Entry(self.head, row))
        if self._metrics is not None:
            self._metrics.published.inc(len(rows))
        for client in list(self._clients):
            if self.head - client.cursor > self.policy.client_max_lag:
                self.drop(client, "slow")
            else:
                client.wake.set()

    def resume_at(self, last_event_id: str | None) -> Resume:
        """Where a stream that last saw ``last_event_id`` starts.

        Raises:
            ValueError: the id is malformed, or of this run but not sent yet.
        """
        if last_event_id is None or not last_event_id.strip():
            return Resume(self.head)
        text = last_event_id.strip()
        stream, _, number = text.rpartition(":")
        if not stream or not number.isdigit() or len(text) > 200:
            raise ValueError(f"Last-Event-ID: expected <run>:<seq> as this stream sends, got {text[:100]!r}")
        seq = int(number)
        if stream != self.stream_id:
            outcome: Literal["other_run", "too_old"] | None = "other_run"
            cursor = self.oldest - 1
        elif seq > self.head:
            newest = self.event_id(self.head)
            raise ValueError(f"Last-Event-ID: {text!r} has not been sent yet (the newest is {newest})")
        elif seq < self.oldest - 1:
            outcome, cursor = "too_old", self.oldest - 1
        else:
            outcome, cursor = None, seq
        if self._metrics is not None:
            self._metrics.resumes.labels(outcome=outcome or "resumed").inc()
        return Resume(cursor, outcome)

    def gap_frame(self, last_event_id: str, reason: str) -> bytes:
        """The ``event: gap`` frame: the client missed episodes it must read from ``GET /episodes``."""
        oldest = self.event_id(self.oldest) if self._ring else None
        body = to_json_bytes({"last_event_id": last_event_id.strip()[:200], "reason": reason, "oldest_id": oldest})
        return b"event: gap\ndata: %s\n\n" % body

    def join(self, resume: Resume, types: TypeFilter) -> EventClient:
        """A new client reading after ``resume.cursor``."""
        client = EventClient(self, resume.cursor, types)
        if self.closed:
            client.dropped = "shutdown"
        self._clients.add(client)
        return client

    def leave(self, client: EventClient) -> None:
        self._clients.discard(client)

    def frames_after(self, client: EventClient) -> list[bytes]:
        if client.cursor >= self.head:
            return []
        start = max(client.cursor + 1, self.oldest) - self.oldest
        frames = [
            entry.frame(self.stream_id)
            for entry in itertools.islice(self._ring, start, None)
            if client.types(entry.row.type)
        ]
        if self._metrics is not None and frames:
            self._metrics.sent.inc(len(frames))
        return frames

    def drop(self, client: EventClient, reason: str) -> None:
        """Disconnect a client that does not keep up (counted)."""
        if client.dropped is None and self._metrics is not None and reason in DROP_REASONS:
            self._metrics.dropped.labels(reason=reason).inc()
        client.drop(reason)

    def close(self) -> None:
        """End every stream (at shutdown); later publishes are ignored."""
        self.closed = True
        for client in list(self._clients):
            client.drop("shutdown")
