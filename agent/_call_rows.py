"""The rows an LLM call leaves besides its answer: the dead letter of a failure, the recorded exchanges.

A route collects them per call (a :class:`CallRecord`) and emits them down the call's own stream,
before the row that acknowledges the input, so that nothing travels on a side channel.
"""

from __future__ import annotations

import json
from datetime import datetime

from agent._recorder import Recorder
from llm import Exchange
from operators import DeadLetter
from sinks import DeadLetterRow, Row
from streams import stable_id

__all__ = ["CallRecord", "dead_letter_row"]


def dead_letter_row(letter: DeadLetter, now: datetime) -> DeadLetterRow:
    """The dead letter of a failed LLM call that a fallback (or a skip) replaced."""
    request = json.dumps(letter.request, ensure_ascii=False, sort_keys=True, default=str)
    return DeadLetterRow(
        id=stable_id(letter.name, letter.key or request, now.isoformat(), letter.reason),
        time=now,
        source=f"llm:{letter.name}",
        reason=f"{letter.reason}: {type(letter.error).__name__}: {letter.error} (replaced by {letter.kind})",
        raw=request,
    )


class CallRecord:
    """What one protected call left behind: its dead letters and (when recording) its exchanges.

    It is the exchange sink of the call's ``RecordingBackend`` and the dead-letter receiver of
    its ``protect``; :meth:`rows` turns both into rows once the call has ended.
    """

    __slots__ = ("exchanges", "letters")

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.letters: list[DeadLetter] = []

    def write(self, exchange: Exchange) -> None:
        """Keep one exchange (the ``ExchangeSink`` method)."""
        self.exchanges.append(exchange)

    def dead_letter(self, letter: DeadLetter) -> None:
        """Keep one dead letter (the receiver ``protect`` calls before a fallback goes on)."""
        self.letters.append(letter)

    def rows(self, now: datetime, recorder: Recorder | None, *, letters: bool = True) -> list[Row]:
        """The dead-letter rows (unless ``letters`` is false), then the exchange rows (none without a
        recorder), stamped ``now``."""
        rows: list[Row] = [dead_letter_row(letter, now) for letter in self.letters] if letters else []
        if recorder is not None:
            rows.extend(recorder.exchange_row(exchange, now) for exchange in self.exchanges)
        return rows
