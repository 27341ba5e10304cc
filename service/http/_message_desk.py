"""The message desk: what ``POST /messages`` and ``GET /messages/{id}`` do, between the HTTP routes and the pipeline.

Taking a message (``accept``), on the event loop:

1. its id: ``stable_id("http", client, Idempotency-Key)`` when a key is sent (a retry is the
   same message), else a fresh one;
2. a writer job stores it in ``ingest`` and commits (``sinks.store_message``), unless that id
   is stored: then the stored copy answers (a retry), and nothing is stored or emitted again;
3. a new message's event goes to the ingest source (``IngestState.offer``), which emits it into
   the pipeline; the route answers 202.

So a 202 means committed: a kill after it loses nothing, and the next start emits the messages
not done as recovered (:func:`recovered_events`). A message is done when its acknowledging row
is committed (the reply, or the message's own episode with replies off); the desk then marks it
done in ``ingest`` (a writer job) and wakes the requests waiting for it.

Every method runs on the event loop; the writer thread owns the database (reads run on a worker
thread with a cursor of their own, like the other HTTP reads).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from agent import deferred_id, reply_id
from service.http._message_body import MessageBody
from sinks import DuckWriter, IngestedMessage, SinkClosedError, mark_messages_done, read_message, store_messages
from streams import Event, IngestState, message_event, new_event_id, stable_id

__all__ = ["Accepted", "DeskBusy", "KeyReused", "MessageDesk", "recovered_events"]

log = logging.getLogger("service")

_MARK_EVERY = 256


class DeskBusy(Exception):
    """The desk takes no message now (stopping, or too many waiting for their replies)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class KeyReused(Exception):
    """An ``Idempotency-Key`` sent again with a different message."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """What ``accept`` answers: the message's id, its state now, and whether it was a retry."""

    id: str
    state: str
    duplicate: bool
    urgent: bool


def recovered_events(pending: Sequence[IngestedMessage]) -> list[Event]:
    """The events of messages a previous run took and did not finish, marked recovered (same ids)."""
    return [
        message_event(
            m.id, urgent=m.type == "user.urgent", text=m.text, sender=m.sender, time=m.received_at, recovered=True
        )
        for m in pending
    ]


class MessageDesk:
    """Takes messages for the pipeline and tells what became of them.

    Args:
        writer: the writer thread (stores, marks, reads in order with the batches).
        state: the ingest source's state.
        clock: the scheduler's clock (a message's time).
        max_pending: messages out and not done, at most; more get :class:`DeskBusy`.
        max_wait_s: the longest ``look`` may wait.
        replies_on: whether messages are answered (else a stored message is ``stored``, not ``queued``).
        stopping: whether the service is stopping (then it takes no message).
        on_headers: told a new message's id and the trace headers it came with, before its event
            is emitted (``service.tracing.Tracing.message_received``).
    """

    def __init__(
        self,
        writer: DuckWriter,
        state: IngestState,
        *,
        clock: Callable[[], datetime],
        max_pending: int,
        max_wait_s: float,
        replies_on: bool,
        stopping: Callable[[], bool] = lambda: False,
        on_headers: Callable[[str, Mapping[str, str]], None] = lambda _id, _headers: None,
    ) -> None:
        self._on_headers = on_headers
        self._writer = writer
        self._state = state
        self._clock = clock
        self.max_pending = max_pending
        self.max_wait_s = max_wait_s
        self._replies_on = replies_on
        self._stopping = stopping
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._to_store: list[tuple[IngestedMessage, asyncio.Future[tuple[IngestedMessage, bool]]]] = []
        self._storing = False
        self._unmarked: list[str] = []  # done, not yet marked: they ride with the next store's commit
        state.on_done = self._done

    async def accept(
        self, body: MessageBody, *, client: str, key: str | None, carrier: Mapping[str, str] | None = None
    ) -> Accepted:
        """Store a message (or find its first copy) and hand it to the pipeline.

        ``carrier`` holds the request's W3C trace headers; a new message's go to ``on_headers``.

        Raises:
            DeskBusy: stopping, or ``max_pending`` messages are out.
            KeyReused: ``key`` was sent before with another message.
            SinkError: the store failed (nothing is stored).
        """
        if self._stopping():
            raise DeskBusy("the service is stopping; send the message again when it is back", 5)
        message_id = stable_id("http", client, key) if key is not None else new_event_id()
        if self._state.in_flight() >= self.max_pending and not self._state.holds(message_id):
            raise DeskBusy(
                f"{self._state.in_flight()} messages are waiting for their replies "
                f"(ingest.max_pending = {self.max_pending}); send it again later",
                1,
            )
        message = IngestedMessage(
            id=message_id,
            client=client,
            idempotency_key=key,
            received_at=self._clock(),
            type="user.urgent" if body.urgent else "user.message",
            text=body.text,
            sender=body.sender,
        )
        stored, new = await self._store(message)
        if not new:
            if not stored.same_request(message):
                raise KeyReused(
                    f"Idempotency-Key: {key!r} was sent before with another message; use a new key for a new message"
                )
            answered = stored.done or not self._state.holds(stored.id)  # done marks lag behind the replies
            return Accepted(stored.id, self._state_of(stored, answered=answered), True, stored.type == "user.urgent")
        if carrier:
            self._on_headers(message.id, carrier)
        self._state.offer(
            message_event(message.id, urgent=body.urgent, text=body.text, sender=body.sender, time=message.received_at)
        )
        return Accepted(message.id, "queued" if self._replies_on else "stored", False, body.urgent)

    async def _store(self, message: IngestedMessage) -> tuple[IngestedMessage, bool]:
        """Store through a group commit: the messages that arrive while a store job runs share the next one."""
        answer: asyncio.Future[tuple[IngestedMessage, bool]] = asyncio.get_running_loop().create_future()
        self._to_store.append((message, answer))
        if not self._storing:
            self._store_queued()
        return await answer

    def _store_queued(self) -> None:
        batch, self._to_store = self._to_store, []
        self._storing = True
        messages = [message for message, _ in batch]
        done, self._unmarked = self._unmarked, []  # marked done in the same commit
        job = asyncio.wrap_future(
            self._writer.submit("ingest.store", lambda con: store_messages(con, messages, done=done))
        )

        def stored(done: asyncio.Future[list[tuple[IngestedMessage, bool]]]) -> None:
            self._storing = False
            error = done.exception()
            for n, (_, answer) in enumerate(batch):
                if answer.done():
                    continue
                if error is not None:
                    answer.set_exception(error)
                else:
                    answer.set_result(done.result()[n])
            if self._to_store:
                self._store_queued()

        job.add_done_callback(stored)

    async def look(self, message_id: str, wait_s: float = 0.0) -> dict[str, Any] | None:
        """The message's state and replies (``None``: no such message), waiting up to ``wait_s`` for a reply."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(message_id, []).append(waiter)  # before the read: a reply between them wakes it
        try:
            found = await self._read(message_id)
            if found is None or wait_s <= 0 or found["state"] != "queued":
                return found
            try:
                await asyncio.wait_for(waiter, timeout=min(wait_s, self.max_wait_s))
            except TimeoutError:
                return found
            return await self._read(message_id)
        finally:
            waiters = self._waiters.get(message_id, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._waiters.pop(message_id, None)

    def _state_of(self, message: IngestedMessage, *, answered: bool) -> str:
        if not self._replies_on:
            return "stored"
        return "answered" if answered else "queued"

    async def _read(self, message_id: str) -> dict[str, Any] | None:
        ids = (reply_id(message_id), deferred_id(message_id))
        found = await asyncio.to_thread(_read_with, self._writer.reader, message_id, ids)
        if found is None:
            return None
        message, replies = found
        if replies:
            state = "answered"
        elif not self._replies_on:
            state = "stored"
        else:
            state = "queued"
        return {
            "id": message.id,
            "state": state,
            "text": message.text,
            "urgent": message.type == "user.urgent",
            "sender": message.sender,
            "received_at": message.received_at.isoformat(),
            "reply": replies[-1] if replies else None,
            "replies": replies,
        }

    def _done(self, ids: list[str]) -> None:
        """On the loop: messages whose acknowledging row is committed; wake their waiters, mark them done.

        The marks ride with the next store's commit (a commit of their own per batch would take the
        writer's time from the messages arriving); past ``_MARK_EVERY`` unmarked with no store
        running, they get a job of their own. A mark lost to a kill only makes the next start emit
        that message again, and the reply route acknowledges it without asking the LLM.
        """
        for message_id in ids:
            for waiter in self._waiters.get(message_id, []):
                if not waiter.done():
                    waiter.set_result(None)
        self._unmarked.extend(ids)
        if self._storing or len(self._unmarked) < _MARK_EVERY:
            return
        marks, self._unmarked = self._unmarked, []
        try:
            future = self._writer.submit("ingest.done", lambda con: mark_messages_done(con, marks))
        except SinkClosedError:  # closing: the next start acknowledges them again, without a new reply
            log.warning("ingest.mark_deferred", extra={"messages": len(marks)})
        else:
            future.add_done_callback(_log_failure)


def _read_with(
    reader: Callable[[], duckdb.DuckDBPyConnection], message_id: str, reply_ids: Sequence[str]
) -> tuple[IngestedMessage, list[dict[str, Any]]] | None:
    cursor = reader()
    try:
        return read_message(cursor, message_id, reply_ids)
    finally:
        cursor.close()


def _log_failure(future: Any) -> None:
    exc = future.exception()
    if exc is not None:  # the message stays not done: the next start acknowledges it again, without a new reply
        log.error("ingest.mark_failed", extra={"error": str(exc)})
