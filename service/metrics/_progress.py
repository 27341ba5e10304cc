"""Prometheus series of the pipeline's progress: how long inbox messages wait for their answer, heavy ticks.

An event is done when its rows are committed (the batch reports its id, the same report that
acknowledges an inbox line). The event's own time and the clock are the scheduler's, so the
lag is measured on the clock the pipeline runs on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge, Histogram

from streams import Event, InboxState

__all__ = ["EventProgress"]

HEAVY_TICK = "tick.heavy"
_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class EventProgress:
    """Inbox lag, answers and heavy ticks, from the events that enter and the batches that commit.

    - ``being_inbox_lag_seconds`` gauge: age of the oldest inbox message not yet answered (0 when none waits)
    - ``being_inbox_unanswered`` gauge: inbox messages read and not yet answered
    - ``being_inbox_claims_pending`` gauge: inbox files claimed and not yet released
    - ``being_message_answer_seconds`` histogram: from an inbox message's time to its answer stored
    - ``being_heavy_tick_seconds`` histogram: from a heavy tick to its rows stored

    ``seen`` is called on the event loop, ``done`` on the writer thread, the gauges at a scrape:
    a lock guards the table of waiting events.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, Event] = {}
        self._clock: Callable[[], datetime] | None = None
        self.lag = Gauge(
            "being_inbox_lag_seconds",
            "Age of the oldest inbox message read and not yet answered (0 when none waits)",
            registry=registry,
        )
        self.lag.set_function(self._lag_s)
        self.unanswered = Gauge("being_inbox_unanswered", "Inbox messages read and not yet answered", registry=registry)
        self.unanswered.set_function(self._unanswered)
        self.claims = Gauge("being_inbox_claims_pending", "Inbox files claimed and not yet released", registry=registry)
        self.answer_seconds = Histogram(
            "being_message_answer_seconds",
            "From an inbox message's time to its answer (or its dead letter) stored",
            buckets=_SECONDS,
            registry=registry,
        )
        self.heavy_tick_seconds = Histogram(
            "being_heavy_tick_seconds",
            "From a heavy tick to its rows stored",
            buckets=_SECONDS,
            registry=registry,
        )

    def watch(self, inbox: InboxState, clock: Callable[[], datetime]) -> None:
        """Read the inbox's claims at each scrape, and measure ages on ``clock`` (the scheduler's)."""
        self._clock = clock
        self.claims.set_function(lambda: len(inbox.claims))

    def seen(self, event: Event) -> None:
        """An event entered the pipeline: remember it when its end is measured."""
        if (event.source == "inbox" and event.type.startswith("user.")) or event.type == HEAVY_TICK:
            with self._lock:
                self._waiting[event.id] = event

    def done(self, event_ids: frozenset[str]) -> None:
        """These events' rows are committed."""
        clock = self._clock
        if clock is None or not event_ids:
            return
        now = clock()
        with self._lock:
            ended = [event for event_id in event_ids if (event := self._waiting.pop(event_id, None)) is not None]
        for event in ended:
            seconds = max((now - event.time).total_seconds(), 0.0)
            target = self.heavy_tick_seconds if event.type == HEAVY_TICK else self.answer_seconds
            target.observe(seconds)

    def _messages(self) -> list[Event]:
        with self._lock:
            return [e for e in self._waiting.values() if e.type != HEAVY_TICK]

    def _unanswered(self) -> float:
        return float(len(self._messages()))

    def _lag_s(self) -> float:
        clock = self._clock
        waiting = self._messages()
        if clock is None or not waiting:
            return 0.0
        oldest = min(e.time for e in waiting)
        return max((clock() - oldest).total_seconds(), 0.0)
