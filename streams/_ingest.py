"""The HTTP ingest source: messages the service took over HTTP, as ``user.message``/``user.urgent`` events.

The HTTP route stores a message (it is committed before the client hears 202) and then hands its
event to :meth:`IngestState.offer`; this source emits it into the pipeline, where it takes the
inbox's path: one episode, one reply, acknowledged by the reply's row. A restart hands the
messages not acknowledged before the crash to a new :class:`IngestState` as ``recovered``
events (same ids), so the sink skips what is stored and the reply route does not ask the LLM
again for a message whose reply is stored.

Every method of :class:`IngestState` runs on the event loop (the source's scheduler).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.scheduler import CurrentThreadScheduler

from streams._event import Event

__all__ = ["HTTP_SOURCE", "IngestState", "ingest", "message_event"]

HTTP_SOURCE = "http"
"""The ``source`` of every event this source emits."""


def message_event(
    message_id: str, *, urgent: bool, text: str, sender: str | None, time: datetime, recovered: bool = False
) -> Event:
    """The event of one message sent over HTTP (the same fields as an inbox line's, plus its sender)."""
    payload: dict[str, object] = {"text": text, "recovered": recovered}
    if sender is not None:
        payload["sender"] = sender
    kind = "user.urgent" if urgent else "user.message"
    return Event(id=message_id, type=kind, time=time, source=HTTP_SOURCE, payload=payload)


class IngestState:
    """The messages out in the pipeline (emitted, or waiting to be, and not yet acknowledged).

    Args:
        recovered: the events of the messages a previous run left unacknowledged; emitted first.
        on_done: told, on the loop, of the message ids whose acknowledging row is committed.
    """

    def __init__(self, recovered: Sequence[Event] = (), *, on_done: Callable[[list[str]], None] | None = None) -> None:
        self._queued: deque[Event] = deque(recovered)
        self._out: set[str] = {event.id for event in recovered}
        self._observer: abc.ObserverBase[Event] | None = None
        self._closed = False
        self.on_done = on_done

    def in_flight(self) -> int:
        """Messages taken and not yet acknowledged (the ingest's backpressure counts these)."""
        return len(self._out)

    def holds(self, message_id: str) -> bool:
        """Whether the message is out in the pipeline now."""
        return message_id in self._out

    def offer(self, event: Event) -> bool:
        """Emit a stored message's event (queued until the source is subscribed); False once it has stopped.

        A message offered after the source stopped is stored but not emitted: the next start
        emits it as recovered.
        """
        if self._closed:
            return False
        if event.id in self._out:
            return True  # already out (a retried POST racing its first copy)
        self._out.add(event.id)
        if self._observer is None:
            self._queued.append(event)
        else:
            self._observer.on_next(event)
        return True

    def acknowledge(self, ids: Iterable[str]) -> list[str]:
        """Take the committed event ids of a batch; returns the messages of this source now done."""
        done = [event_id for event_id in ids if event_id in self._out]
        for event_id in done:
            self._out.discard(event_id)
        if done and self.on_done is not None:
            self.on_done(done)
        return done

    def _attach(self, observer: abc.ObserverBase[Event]) -> None:
        self._observer = observer
        while self._queued:
            observer.on_next(self._queued.popleft())

    def _detach(self) -> None:
        self._observer = None
        self._closed = True


def ingest(state: IngestState) -> Observable[Event]:
    """The messages handed to ``state``, from the first queued (recovered, then offered) to the last.

    What was queued before the subscription is emitted on the scheduler, after every subscriber
    of a shared stream has subscribed. The source never completes on its own; stop it with
    ``take_until``. After disposal, offers are refused (they are stored and come back at the next start).
    """

    def subscribe(observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        on = scheduler or CurrentThreadScheduler.singleton()

        def attach_now(_scheduler: abc.SchedulerBase, _state: object = None) -> None:
            state._attach(observer)

        attach = on.schedule(attach_now)
        return CompositeDisposable(attach, Disposable(state._detach))

    return reactivex.create(subscribe)
