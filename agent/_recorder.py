"""The recorder: numbers every event and LLM exchange of a run and turns them into recorder rows."""

from __future__ import annotations

from datetime import datetime

from llm import Exchange
from sinks import ExchangeRow, RecordedEventRow
from streams import Event

__all__ = ["Recorder"]


class Recorder:
    """Makes the rows of the ``events`` and ``llm_exchanges`` tables for one run.

    The rows are values: the route that saw the event or made the call emits them down its own
    stream, next to the rows they explain. The sequence number orders them within the run; it is
    given as each row is made, on the event loop (the one thread that owns pipeline state).

    Args:
        run_id: the run the rows belong to.
    """

    __slots__ = ("_seq", "run_id")

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._seq = 0

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def event_row(self, event: Event) -> RecordedEventRow:
        """The row that records ``event``."""
        self._seq += 1  # as _next(), without a call: every event takes this way
        return RecordedEventRow(
            run_id=self.run_id,
            seq=self._seq,
            id=event.id,
            time=event.time,
            type=event.type,
            source=event.source,
            payload=event.payload,
        )

    def exchange_row(self, exchange: Exchange, now: datetime) -> ExchangeRow:
        """The row that records one LLM exchange, stamped ``now`` (the scheduler's clock)."""
        return ExchangeRow(
            run_id=self.run_id,
            seq=self._next(),
            time=now,
            key=exchange.key,
            operation=exchange.operation,
            backend=exchange.backend,
            request=exchange.request,
            response=exchange.response,
            error=exchange.error,
            duration_s=exchange.duration_s,
            first_chunk_s=exchange.first_chunk_s,
        )
