"""The JetStream source: messages from a durable pull consumer, as ``user.message``/``user.urgent`` events.

Each message is acknowledged only when its acknowledging row is committed, like an inbox line or
a message taken over HTTP: the runtime hands the committed event ids of each batch to
:meth:`JetStreamState.acknowledge` (on the loop), which acks the messages of those ids, or
terminates them when their row is a dead letter. Until then a message is held:

- **bounded in flight**: the source never asks for more than the room ``max_in_flight`` leaves
  (the consumer's ``max_ack_pending`` bounds every instance together), so a slow LLM slows the
  fetching instead of filling memory;
- **heartbeats**: every ``heartbeat_s`` each held message is told ``in_progress`` so a slow reply
  does not make JetStream deliver it again elsewhere;
- **redelivered** (delivered before, to this or another instance): emitted ``recovered``, so the
  sink skips what is stored and the reply route does not ask the LLM again for a stored reply;
  a copy that arrives while the first is still held rides with it and is acked with it;
- **published again** with its ``Nats-Msg-Id`` after the stream's duplicate window: emitted
  ``recovered`` too while its id is among the last ``JETSTREAM_RECENT_IDS`` answered, which the
  state is seeded with at a start (the database's, ``recent``) and adds to as it acknowledges;
- **a stream made again**: the ids without ``Nats-Msg-Id`` name the stream's instance, read around
  each fetch; a batch fetched across a reset is given back once subscribed again (``_jetstream_instance``);
- **poison**: a body the message rules refuse becomes a dead letter (``input.invalid``), and a
  message at its ``max_deliver``-th delivery that ``is_done`` says is not answered becomes one too;
  both are terminated once their dead letter is committed, so they are never delivered again;
- **shutdown**: disposal stops the fetching (a fetch under way ends within ``fetch_wait_s``; what
  it brings is not taken); :meth:`JetStreamState.close`, once the pipeline has drained, first
  withdraws the subscription (``Fetcher.withdraw``: the server drops the pull requests it still
  holds for this instance and hands over what they brought), then gives back (``nak``) every
  message still held, brought by the last fetch or left in the subscription, so another instance
  takes it at once. Withdrawn first, because a pull request that outlived its fetch would take a
  message given back straight back into the stopping instance, where it would wait for
  ``ack_wait``.

Every method of :class:`JetStreamState` runs on the event loop; the message's time comes from the
scheduler the source is subscribed with.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.scheduler import CurrentThreadScheduler

from streams._event import Event
from streams._inbox_events import INVALID_INPUT
from streams._jetstream_events import MSG_ID_HEADER, delivery_event, delivery_id, undelivered_event
from streams._jetstream_instance import TRANSIENT, StreamInstance
from streams._jetstream_types import (
    JETSTREAM_RECENT_IDS,
    NULL_JETSTREAM_LISTENER,
    Delivery,
    Fetcher,
    JetStreamListener,
    JetStreamPolicy,
)
from streams.errors import JetStreamError

__all__ = [
    "JETSTREAM_RECENT_IDS",
    "NULL_JETSTREAM_LISTENER",
    "Delivery",
    "Fetcher",
    "JetStreamListener",
    "JetStreamPolicy",
    "JetStreamState",
    "jetstream",
]

log = logging.getLogger("streams")


@dataclass(slots=True)
class _Held:
    """The deliveries of one event id held until its row is committed; ``poison``: terminate, not ack.

    ``by_msg_id``: its id comes from its ``Nats-Msg-Id``, so a copy published again later has the
    same id and is remembered once acknowledged. An id from the stream sequence is not: a copy
    published again has a new sequence, and the sequences start again at 1 in a stream made again.
    """

    deliveries: list[Delivery]
    poison: bool = False
    by_msg_id: bool = False


async def _not_done(_event: Event) -> bool:
    return False


def _ignore_headers(_event_id: str, _headers: Mapping[str, str]) -> None:
    return None


class JetStreamState:
    """The messages held (delivered, not yet acknowledged) and the fetching that brings them.

    Args:
        fetcher: the durable consumer's pull subscription.
        policy: how messages are taken.
        listener: told of every message received and settled, and of failures.
        on_headers: told the event id and headers of each message before its event is emitted
            (the trace context is read from them).
        is_done: whether a message's acknowledging row is stored already (asked only at its last
            delivery: stored, it is acknowledged; not stored, it becomes a dead letter). The default
            says never, so every message at its last delivery becomes a dead letter.
        recent: the ids of messages with a ``Nats-Msg-Id`` answered before this start, oldest first
            (the database's, ``sinks.recent_nats_ids``): with the ids this state acknowledges, the
            newest ``JETSTREAM_RECENT_IDS`` are kept, so a copy published again after the stream's duplicate
            window is emitted ``recovered`` across restarts too.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        policy: JetStreamPolicy,
        *,
        listener: JetStreamListener = NULL_JETSTREAM_LISTENER,
        on_headers: Callable[[str, Mapping[str, str]], None] = _ignore_headers,
        is_done: Callable[[Event], Awaitable[bool]] = _not_done,
        recent: Iterable[str] = (),
    ) -> None:
        self._fetcher = fetcher
        self.policy = policy
        self._listener = listener
        self._on_headers = on_headers
        self._is_done = is_done
        self._held: dict[str, _Held] = {}
        self._count = 0  # deliveries held (a redelivered copy of a held id counts too)
        self._recent: OrderedDict[str, None] = OrderedDict()
        for event_id in recent:
            self._remember(event_id)
        self._room = asyncio.Event()
        self._effects: set[asyncio.Future[Any]] = set()
        self._pump: asyncio.Task[None] | None = None
        self._beat: abc.DisposableBase | None = None
        self._observer: abc.ObserverBase[Event] | None = None
        self._scheduler: abc.SchedulerBase | None = None
        self._stopped = False
        self._returned: list[Delivery] | None = []  # fetched as the source stopped; None once closed
        self._stream = StreamInstance(
            fetcher,
            policy,
            listener,
            give_back=self._give_back,
            keep_alive=lambda delivery: self._spawn("in_progress", delivery.in_progress()),
            stopped=lambda: self._stopped,
            fail=self._fail,
        )

    def in_flight(self) -> int:
        """Deliveries held now (what counts against ``max_in_flight``)."""
        return self._count

    def holds(self, event_id: str) -> bool:
        """Whether a message of this event id is held now."""
        return event_id in self._held

    def remembers(self, event_id: str) -> bool:
        """Whether a copy of this event id delivered now would be emitted ``recovered`` as answered lately."""
        return event_id in self._recent

    def _remember(self, event_id: str) -> None:
        self._recent[event_id] = None
        self._recent.move_to_end(event_id)
        if len(self._recent) > JETSTREAM_RECENT_IDS:
            self._recent.popitem(last=False)

    def acknowledge(self, ids: Iterable[str]) -> list[str]:
        """Take the committed event ids of a batch: ack (or terminate) their messages; returns this source's ids."""
        done = [event_id for event_id in ids if event_id in self._held]
        for event_id in done:
            held = self._held.pop(event_id)
            self._count -= len(held.deliveries)
            how = "termed" if held.poison else "acked"
            for delivery in held.deliveries:
                self._spawn(how, delivery.term() if held.poison else delivery.ack())
            self._listener.settled(how, len(held.deliveries))
            if held.by_msg_id:
                self._remember(event_id)
        if done:
            self._room.set()
        return done

    async def close(self, timeout_s: float = 10.0) -> int:
        """Stop fetching, withdraw the subscription, give back (``nak``) every message still held, and wait.

        What is given back: the messages held, those the last fetch brought as the source stopped,
        and those the subscription received and nobody fetched; after the naks, what was on its
        way as the withdrawal reached the server. Then it waits for the acks and naks under way.
        Returns the messages given back. Call it after the pipeline drained and before the
        connection closes.
        """
        self._stop()
        if self._pump is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._pump), timeout=self.policy.fetch_wait_s + timeout_s)
            except TimeoutError:
                self._pump.cancel()
            except Exception as exc:  # noqa: BLE001 - the pump's failure already went down the stream
                log.debug("jetstream.pump_failed", extra={"error": str(exc)})
        left = await self._withdraw(timeout_s)  # before any nak: no pull request of ours can take one back
        held, self._held = self._held, {}
        returned, self._returned = [*(self._returned or []), *self._stream.take_unsure()], None
        given_back = self._give_back([*(d for h in held.values() for d in h.deliveries), *returned, *left])
        self._count = 0
        if self._effects:
            await asyncio.wait(set(self._effects), timeout=timeout_s)
        late = await self._withdraw(timeout_s)  # under way as the withdrawal reached the server
        given_back += self._give_back(late)
        if self._effects:
            await asyncio.wait(set(self._effects), timeout=timeout_s)
        return given_back

    async def _withdraw(self, timeout_s: float) -> Sequence[Delivery]:
        """The fetcher's withdrawal; a failure is reported, and what it kept comes again after ``ack_wait``."""
        try:
            return await asyncio.wait_for(self._fetcher.withdraw(), timeout=timeout_s)
        except Exception as exc:  # noqa: BLE001 - reported; the naks still go out
            log.warning("jetstream.withdraw_failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            self._listener.failed("withdraw", exc)
            return []

    def _give_back(self, deliveries: Sequence[Delivery]) -> int:
        for delivery in deliveries:
            self._spawn("naked", delivery.nak())
        if deliveries:
            self._listener.settled("naked", len(deliveries))
        return len(deliveries)

    # -- the subscription -------------------------------------------------------------------------

    def _attach(self, observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase) -> None:
        if self._observer is not None:
            raise JetStreamError(f"{self.policy.name}: the source is subscribed once only")
        if not isinstance(scheduler, abc.PeriodicSchedulerBase):
            raise JetStreamError(f"{self.policy.name}: the scheduler {scheduler!r} cannot run the heartbeats")
        self._observer = observer
        self._scheduler = scheduler
        self._beat = scheduler.schedule_periodic(self.policy.heartbeat_s, self._heartbeat)
        self._pump = asyncio.ensure_future(self._run())

    def _stop(self) -> None:
        self._stopped = True
        self._observer = None
        self._room.set()  # a pump waiting for room wakes and sees it is stopped
        if self._beat is not None:
            self._beat.dispose()
            self._beat = None

    def _heartbeat(self, _state: Any = None) -> None:
        for held in self._held.values():
            for delivery in held.deliveries:
                self._spawn("in_progress", delivery.in_progress())

    def _spawn(self, what: str, effect: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(effect)
        self._effects.add(task)

        def finished(done: asyncio.Future[Any]) -> None:
            self._effects.discard(done)
            if done.cancelled():
                return
            error = done.exception()
            if error is not None:  # not lost: JetStream delivers the message again after ack_wait
                log.warning("jetstream.settle_failed", extra={"what": what, "error": str(error)})
                self._listener.failed(what, error)

        task.add_done_callback(finished)

    def _fail(self, doing: str, exc: BaseException) -> None:
        """Stop, and send a failure that is not passing down the stream."""
        observer = self._observer
        self._stop()
        if observer is not None:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            observer.on_error(JetStreamError(f"{self.policy.name}: {doing} {self.policy.stream} failed: {why}"))

    async def _run(self) -> None:
        """Fetch while subscribed: never more than the room left; a failure that is not passing goes down the stream."""
        policy = self.policy
        while not self._stopped:
            room = policy.max_in_flight - self._count
            if room <= 0:
                self._room.clear()
                await self._room.wait()
                continue
            if not await self._stream.ready():
                continue
            try:
                deliveries = await self._fetcher.fetch(min(room, policy.fetch_batch), timeout=policy.fetch_wait_s)
            except TimeoutError:  # nats.errors.TimeoutError, or asyncio's from inside the client: nothing to take now
                continue
            except TRANSIENT as exc:  # the client reconnects; ask again after a pause
                self._listener.failed("fetch", exc)
                await asyncio.sleep(policy.fetch_wait_s)
                continue
            except Exception as exc:  # noqa: BLE001 - translated and sent down the stream
                self._fail("fetching from", exc)
                return
            if not deliveries or not await self._stream.confirmed(deliveries):
                continue
            for n, delivery in enumerate(deliveries):
                try:
                    self._take(delivery)
                except Exception as exc:  # noqa: BLE001 - a message the source cannot take: loud, never a silent stall
                    held = {id(d) for h in self._held.values() for d in h.deliveries}  # close() gives those back
                    for rest in deliveries[n:]:  # fetched, not held: close() gives them back, after the withdrawal
                        if id(rest) not in held:
                            self._return(rest)
                    self._fail("taking a message from", exc)
                    return

    def _take(self, delivery: Delivery) -> None:
        meta = delivery.metadata
        deliveries = meta.num_delivered
        self._listener.received(deliveries > 1)
        if self._stopped or self._observer is None or self._scheduler is None:
            self._return(delivery)  # fetched as the source stopped: another instance takes it
            return
        headers = delivery.headers or {}
        instance = self._stream.current or ""  # read before any fetch (delivery_id refuses '')
        event_id = delivery_id(headers, stream=self.policy.stream, instance=instance, sequence=meta.sequence.stream)
        held = self._held.get(event_id)
        if held is not None:  # delivered again while its first copy is worked on: acked with it
            self._count += 1
            held.deliveries.append(delivery)
            return
        event = delivery_event(
            delivery.data,
            headers,
            stream=self.policy.stream,
            instance=instance,
            sequence=meta.sequence.stream,
            time=self._scheduler.now,
            limits=self.policy.limits,
            recovered=deliveries > 1 or event_id in self._recent,
        )
        self._count += 1  # held only once its event is made: a delivery that failed before is given back
        held = self._held[event_id] = _Held([delivery], by_msg_id=bool(headers.get(MSG_ID_HEADER)))
        if event.type == INVALID_INPUT:
            held.poison = True
            self._emit(event, headers)
        elif deliveries >= self.policy.max_deliver:
            self._spawn("last_delivery", self._last_delivery(event, held, headers, deliveries))
        else:
            self._emit(event, headers)

    def _return(self, delivery: Delivery) -> None:
        """Give back a delivery the source does not take: at close, once withdrawn (at once, closed already)."""
        if self._returned is None:
            self._give_back([delivery])
        else:
            self._returned.append(delivery)

    async def _last_delivery(self, event: Event, held: _Held, headers: Mapping[str, str], deliveries: int) -> None:
        """The last delivery of a message: answered already, it is acknowledged; not answered, a dead letter."""
        if not await self._is_done(event):
            held.poison = True
            event = undelivered_event(event, deliveries=deliveries, max_deliver=self.policy.max_deliver)
        if self._held.get(event.id) is held:
            self._emit(event, headers)

    def _emit(self, event: Event, headers: Mapping[str, str]) -> None:
        observer = self._observer
        if observer is None:  # stopped meanwhile: close() gives it back
            return
        self._on_headers(event.id, headers)
        observer.on_next(event)


def jetstream(state: JetStreamState) -> Observable[Event]:
    """The messages of ``state``'s consumer as events, from the subscription until disposal.

    It must be subscribed on a thread with a running asyncio loop; the fetching starts on the
    scheduler, after every subscriber of a shared stream has subscribed. The source never completes
    on its own; stop it with ``take_until``, then :meth:`JetStreamState.close` the state.
    """

    def subscribe(observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        on = scheduler or CurrentThreadScheduler.singleton()

        def attach_now(_scheduler: abc.SchedulerBase, _state: object = None) -> None:
            try:
                state._attach(observer, on)
            except JetStreamError as exc:
                observer.on_error(exc)

        attach = on.schedule(attach_now)
        return CompositeDisposable(attach, Disposable(state._stop))

    return reactivex.create(subscribe)
