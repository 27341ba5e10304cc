"""The JetStream ack rule's second half: a message is acknowledged once what answers it is published.

Each committed batch (on the event loop) hands the gate its event ids. With an out stream
(``[nats] publish_replies``), the gate flushes the sink (``sinks.JetStreamOut.flush``: every
committed, unpublished reply and message, in commit order) and only then acknowledges the
batch's JetStream messages; without one, it acknowledges them at once. A flush that fails keeps
the ids and tries again after ``retry_s`` (and with every later batch), so a message whose reply
could not be published is never acknowledged — nor forgotten: it is acknowledged as soon as a
flush succeeds, or, after a kill, redelivered (its reply is stored, so it is answered without a
call and its reply published by the next start's first flush).

Everything here runs on the event loop (docs/architecture.md, the threading rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Protocol

from sinks import SinkError

__all__ = ["Acknowledging", "Flushing", "OutGate"]


class Acknowledging(Protocol):
    """What the gate acknowledges on (``streams.JetStreamState``)."""

    def acknowledge(self, ids: Iterable[str]) -> list[str]: ...


class Flushing(Protocol):
    """What the gate publishes through (``sinks.JetStreamOut``)."""

    async def flush(self) -> None: ...


log = logging.getLogger("service")


class OutGate:
    """Acknowledges the JetStream source's messages after the out sink has published their batch.

    Args:
        state: the JetStream source's state (``None``: no source; the gate only publishes).
        out: the out stream's sink (``None``: nothing is published; messages are acknowledged at once).
        retry_s: how long a failed flush waits before it is tried again.
    """

    def __init__(self, state: Acknowledging | None, out: Flushing | None, *, retry_s: float = 1.0) -> None:
        self._state = state
        self._out = out
        self._retry_s = retry_s
        self._waiting: set[str] = set()
        self._kicked = False
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._closed = False
        self.failures = 0

    def committed(self, ids: Iterable[str]) -> None:
        """A batch committed (on the loop): publish what it holds, then acknowledge its messages."""
        if self._state is not None:
            self._waiting.update(ids)
        if self._out is None:
            self._acknowledge()
            return
        self._kicked = True
        if not self._closed and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._run())

    def _acknowledge(self) -> None:
        if self._state is not None and self._waiting:
            ids, self._waiting = self._waiting, set()
            self._state.acknowledge(ids)

    async def _run(self) -> None:
        assert self._out is not None
        while self._kicked and not self._closed:
            self._kicked = False
            waiting = set(self._waiting)
            try:
                await self._out.flush()
            except SinkError as exc:
                self.failures += 1
                if not self._failing:  # one line per outage, not per try
                    log.warning("nats.out_flush_failed", extra={"error": str(exc), "waiting": len(self._waiting)})
                self._failing = True
                self._kicked = True
                await asyncio.sleep(self._retry_s)
                continue
            if self._failing:
                log.info("nats.out_flush_recovered", extra={"waiting": len(self._waiting)})
                self._failing = False
            if self._state is not None and waiting:  # what was committed before this flush began is published
                self._waiting -= waiting
                self._state.acknowledge(waiting)

    async def close(self, timeout_s: float = 10.0) -> None:
        """One last flush and acknowledgement (after the drain, before the source gives back what it holds)."""
        task = self._task
        self._closed = True
        if task is not None and not task.done():  # it ends after the flush under way (or its wait to retry)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), timeout=timeout_s)
        if self._out is None:
            self._acknowledge()
            return
        try:
            await asyncio.wait_for(self._out.flush(), timeout=timeout_s)
        except (SinkError, TimeoutError) as exc:  # the next start publishes them; JetStream redelivers the messages
            log.warning("nats.out_final_flush_failed", extra={"error": str(exc), "waiting": len(self._waiting)})
            return
        self._acknowledge()
