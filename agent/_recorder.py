"""The recorder: numbers every event and LLM exchange of a run and turns them into recorder rows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from reactivex.subject import Subject

from llm import Exchange
from sinks import ExchangeRow, RecordedEventRow, Row
from streams import Event

__all__ = ["Recorder"]


class Recorder:
    """Makes the rows of the ``events`` and ``llm_exchanges`` tables for one run.

    It is the ``ExchangeSink`` of the run's ``RecordingBackend``: each exchange becomes an
    :class:`ExchangeRow` pushed to ``side_rows``, the stream of rows made outside the routes.

    Args:
        run_id: the run the rows belong to.
        now: the scheduler's clock (the time an exchange is recorded).
        side_rows: where exchange rows go.
    """

    def __init__(self, run_id: str, now: Callable[[], datetime], side_rows: Subject[Row]) -> None:
        self.run_id = run_id
        self._now = now
        self._side_rows = side_rows
        self._lock = threading.Lock()
        self._seq = 0

    def _next(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def event_row(self, event: Event) -> RecordedEventRow:
        """The row that records ``event``."""
        return RecordedEventRow(
            run_id=self.run_id,
            seq=self._next(),
            id=event.id,
            time=event.time,
            type=event.type,
            source=event.source,
            payload=event.payload,
        )

    def write(self, exchange: Exchange) -> None:
        """Record one LLM exchange (called by ``RecordingBackend`` when a call ends)."""
        self._side_rows.on_next(
            ExchangeRow(
                run_id=self.run_id,
                seq=self._next(),
                time=self._now(),
                key=exchange.key,
                operation=exchange.operation,
                backend=exchange.backend,
                request=exchange.request,
                response=exchange.response,
                error=exchange.error,
                duration_s=exchange.duration_s,
                first_chunk_s=exchange.first_chunk_s,
            )
        )
