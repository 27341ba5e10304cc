"""The JetStream source on virtual time: heartbeats, the room it fetches into, ack or term by the row, nak at close.

The deliveries are in-memory stand-ins for ``nats.aio.msg.Msg`` that count what is done to them;
the source runs on a ``TestScheduler`` (its clock and heartbeats) inside a real event loop (its
fetching task). The same source against a real nats-server: tests/e2e/test_nats.py.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import pytest
from reactivex.testing import TestScheduler

from streams import INVALID_INPUT, Event, JetStreamPolicy, JetStreamState, jetstream, stable_id
from tests.support import until


@dataclass
class _Seq:
    stream: int


@dataclass
class _Meta:
    sequence: _Seq
    num_delivered: int
    stream: str = "S"


@dataclass
class FakeDelivery:
    data: bytes
    headers: dict[str, str] | None
    metadata: _Meta
    done: Counter[str] = field(default_factory=Counter)
    journal: list[str] | None = None  # the fetcher's, told of each nak
    label: str = ""  # how the journal names it

    async def ack(self) -> None:
        self.done["ack"] += 1

    async def nak(self, delay: float | None = None) -> None:
        self.done["nak"] += 1
        if self.journal is not None:
            self.journal.append(f"nak {self.label}")

    async def term(self) -> None:
        self.done["term"] += 1

    async def in_progress(self) -> None:
        self.done["in_progress"] += 1


def delivery(n: int, body: object = None, *, deliveries: int = 1, msg_id: str | None = None) -> FakeDelivery:
    data = body if isinstance(body, bytes) else json.dumps(body or {"text": f"message {n}"}).encode()
    headers = {"Nats-Msg-Id": msg_id} if msg_id else None
    return FakeDelivery(data, headers, _Meta(_Seq(n), deliveries), label=str(n))


INSTANCE = "2026-03-01T12:00:00.000001+00:00"
"""The stream's instance the fake fetcher tells, until a test makes the stream again."""


class FakeFetcher:
    """Hands out queued deliveries, at most ``batch`` a fetch; records each batch asked for.

    ``left`` holds what each withdrawal (or renewal) hands back (the subscription's queue, then what
    came after); ``journal`` records the withdrawals, renewals and naks in order. ``instance_now``
    is the stream's instance a read tells (``reads`` counts them); ``read_failures`` are raised by
    the next reads, one each, first.
    """

    def __init__(self) -> None:
        self.queue: list[FakeDelivery] = []
        self.asked: list[int] = []
        self.left: list[list[FakeDelivery]] = []
        self.journal: list[str] = []
        self.instance_now = INSTANCE
        self.read_failures: list[BaseException] = []
        self.reads = 0
        self._more = asyncio.Event()

    async def instance(self) -> str:
        self.reads += 1
        if self.read_failures:
            raise self.read_failures.pop(0)
        return self.instance_now

    async def renew(self) -> list[Any]:
        self.journal.append("renew")
        return await self.withdraw()

    def put(self, *items: FakeDelivery) -> None:
        for item in items:
            item.journal = self.journal
        self.queue.extend(items)
        self._more.set()

    async def withdraw(self) -> list[Any]:
        self.journal.append("withdraw")
        found = self.left.pop(0) if self.left else []
        for item in found:
            item.journal = self.journal
        return found

    async def fetch(self, batch: int = 1, timeout: float | None = 5, heartbeat: float | None = None) -> list[Any]:
        if not self.queue:
            self._more.clear()
            try:
                await asyncio.wait_for(self._more.wait(), timeout=timeout)
            except TimeoutError:
                raise nats.errors.TimeoutError from None
        self.asked.append(batch)
        taken, self.queue = self.queue[:batch], self.queue[batch:]
        return taken


POLICY = JetStreamPolicy(stream="S", max_in_flight=3, fetch_batch=2, max_deliver=3, heartbeat_s=10.0, fetch_wait_s=0.01)


@dataclass
class Run:
    state: JetStreamState
    fetcher: FakeFetcher
    scheduler: TestScheduler
    events: list[Event]
    errors: list[Exception]


def start(policy: JetStreamPolicy = POLICY, *, fetcher: FakeFetcher | None = None, **kwargs: Any) -> Run:
    fetcher = fetcher if fetcher is not None else FakeFetcher()
    scheduler = TestScheduler()
    state = JetStreamState(fetcher, policy, **kwargs)
    events: list[Event] = []
    errors: list[Exception] = []
    jetstream(state).subscribe(events.append, errors.append, scheduler=scheduler)
    scheduler.advance_to(0.001)  # the attach runs on the scheduler
    return Run(state, fetcher, scheduler, events, errors)


async def test_held_messages_are_told_in_progress_every_heartbeat_of_virtual_time_until_acknowledged() -> None:
    run = start()
    one = delivery(1)
    run.fetcher.put(one)
    await until(lambda: len(run.events) == 1, what="the event")
    run.scheduler.advance_to(35.0)  # heartbeats at 10, 20 and 30
    await until(lambda: one.done["in_progress"] == 3, what="three heartbeats")
    assert run.state.acknowledge([run.events[0].id, "someone else's"]) == [run.events[0].id]
    run.scheduler.advance_to(95.0)
    await until(lambda: one.done["ack"] == 1, what="the ack")
    assert one.done == Counter(in_progress=3, ack=1)
    await run.state.close()


async def test_it_never_fetches_more_than_the_room_left_and_fetches_again_as_rows_commit() -> None:
    run = start()
    items = [delivery(n) for n in range(1, 6)]
    run.fetcher.put(*items)
    await until(lambda: len(run.events) == 3, what="three events")
    assert run.fetcher.asked == [2, 1] and run.state.in_flight() == 3 and len(run.fetcher.queue) == 2
    run.state.acknowledge([run.events[0].id])
    await until(lambda: len(run.events) == 4, what="one more")
    assert run.fetcher.asked == [2, 1, 1]
    run.state.acknowledge([e.id for e in run.events[1:]])
    await until(lambda: len(run.events) == 5, what="the last")
    assert run.fetcher.asked == [2, 1, 1, 2] and run.state.in_flight() == 1  # room 3, batch 2: one was left
    await run.state.close()


async def test_a_poison_body_is_a_dead_letter_event_and_its_commit_terminates_it() -> None:
    run = start()
    bad = delivery(1, b"{not json")
    run.fetcher.put(bad)
    await until(lambda: len(run.events) == 1, what="the dead letter event")
    assert run.events[0].type == INVALID_INPUT and run.events[0].source == "nats"
    run.state.acknowledge([run.events[0].id])
    await until(lambda: bad.done["term"] == 1, what="the term")
    assert bad.done == Counter(term=1)
    await run.state.close()


async def test_a_copy_delivered_again_while_the_first_is_held_is_not_emitted_and_is_acked_with_it() -> None:
    run = start()
    first, again = delivery(1, msg_id="same"), delivery(1, msg_id="same", deliveries=2)
    run.fetcher.put(first)
    await until(lambda: len(run.events) == 1, what="the first")
    assert run.events[0].payload["recovered"] is False
    run.fetcher.put(again)
    await until(lambda: run.state.in_flight() == 2, what="the copy held")
    assert len(run.events) == 1
    run.state.acknowledge([stable_id("nats", "same")])
    await until(lambda: first.done["ack"] == 1 and again.done["ack"] == 1, what="both acked")
    await run.state.close()


async def test_a_redelivered_message_is_emitted_recovered() -> None:
    run = start()
    run.fetcher.put(delivery(1, deliveries=2))
    await until(lambda: len(run.events) == 1, what="the event")
    assert run.events[0].type == "user.message" and run.events[0].payload["recovered"] is True
    await run.state.close()


@pytest.mark.parametrize(
    ("answered", "kind", "settled"), [(False, INVALID_INPUT, "term"), (True, "user.message", "ack")]
)
async def test_at_its_last_delivery_a_message_is_a_dead_letter_unless_its_reply_is_stored(
    answered: bool, kind: str, settled: str
) -> None:
    asked: list[str] = []

    async def is_done(event: Event) -> bool:
        asked.append(event.id)
        return answered

    run = start(is_done=is_done)
    last = delivery(1, deliveries=POLICY.max_deliver)
    run.fetcher.put(last)
    await until(lambda: len(run.events) == 1, what="the event")
    assert run.events[0].type == kind and run.events[0].payload["recovered"] is True and asked == [run.events[0].id]
    run.state.acknowledge([run.events[0].id])
    await until(lambda: last.done[settled] == 1, what=settled)
    await run.state.close()


async def test_close_withdraws_then_gives_back_what_is_held_fetched_at_the_stop_or_left_in_the_subscription() -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    run = start(on_headers=lambda event_id, headers: seen.append((event_id, dict(headers))))
    held = delivery(1, msg_id="h")
    run.fetcher.put(held)
    await until(lambda: len(run.events) == 1, what="the event")
    assert seen == [(stable_id("nats", "h"), {"Nats-Msg-Id": "h"})]
    run.state._stop()  # the source is disposed: a fetch under way brings one more
    stopped = delivery(2)
    stopped.journal = run.fetcher.journal
    run.state._take(stopped)
    assert stopped.done == Counter()  # not given back yet: a pull request of ours could take it back
    queued, on_its_way = delivery(3), delivery(4)
    run.fetcher.left = [[queued], [on_its_way]]
    assert await run.state.close() == 4
    assert run.fetcher.journal == ["withdraw", "nak 1", "nak 2", "nak 3", "withdraw", "nak 4"]
    assert all(d.done == Counter(nak=1) for d in (held, stopped, queued, on_its_way))
    assert run.state.in_flight() == 0 and len(run.events) == 1 and run.errors == []
    late = delivery(5)
    run.state._take(late)  # after the close: given back at once
    await until(lambda: late.done["nak"] == 1, what="the late one given back")


async def test_a_failed_withdrawal_is_reported_and_what_is_held_is_still_given_back() -> None:
    failures: list[str] = []

    class Listener:
        def received(self, redelivered: bool) -> None:
            return None

        def settled(self, how: str, count: int) -> None:
            return None

        def failed(self, what: str, error: BaseException) -> None:
            failures.append(what)

    class Closed(FakeFetcher):
        async def withdraw(self) -> list[Any]:
            raise nats.errors.ConnectionClosedError

    fetcher = Closed()
    scheduler = TestScheduler()
    state = JetStreamState(fetcher, POLICY, listener=Listener())
    events: list[Event] = []
    jetstream(state).subscribe(events.append, scheduler=scheduler)
    scheduler.advance_to(0.001)
    held = delivery(1)
    fetcher.put(held)
    await until(lambda: len(events) == 1, what="the event")
    assert await state.close() == 1
    assert held.done == Counter(nak=1) and failures == ["withdraw", "withdraw"]


async def test_a_fetch_failure_that_is_not_an_outage_goes_down_the_stream() -> None:
    class Broken(FakeFetcher):
        async def fetch(self, batch: int = 1, timeout: float | None = 5, heartbeat: float | None = None) -> list[Any]:
            raise nats.js.errors.NotFoundError(description="consumer deleted")

    fetcher = Broken()
    scheduler = TestScheduler()
    state = JetStreamState(fetcher, POLICY)
    errors: list[Exception] = []
    jetstream(state).subscribe(on_error=errors.append, scheduler=scheduler)
    scheduler.advance_to(0.001)
    await until(lambda: bool(errors), what="the error")
    assert "fetching from S failed" in str(errors[0]) and type(errors[0]).__name__ == "JetStreamError"
    await state.close()


def test_the_policy_is_checked_when_built() -> None:
    with pytest.raises(ValueError, match="max_deliver: expected >= 2, got 1"):
        JetStreamPolicy(stream="S", max_deliver=1)
    with pytest.raises(ValueError, match="heartbeat_s: expected > 0"):
        JetStreamPolicy(stream="S", heartbeat_s=0)
    with pytest.raises(ValueError, match="stream"):
        JetStreamPolicy(stream="")


async def test_a_timeout_from_inside_the_client_is_nothing_to_take_not_a_failure() -> None:
    class Quiet(FakeFetcher):
        timeouts = 0

        async def fetch(self, batch: int = 1, timeout: float | None = 5, heartbeat: float | None = None) -> list[Any]:
            if self.timeouts < 3:  # nats-py lets asyncio's TimeoutError out of a fetch that found nothing
                self.timeouts += 1
                raise TimeoutError
            return await super().fetch(batch, timeout, heartbeat)

    fetcher = Quiet()
    scheduler = TestScheduler()
    state = JetStreamState(fetcher, POLICY)
    events: list[Event] = []
    errors: list[Exception] = []
    jetstream(state).subscribe(events.append, errors.append, scheduler=scheduler)
    scheduler.advance_to(0.001)
    fetcher.put(delivery(1))
    await until(lambda: len(events) == 1, what="the event after the timeouts")
    assert errors == [] and fetcher.timeouts == 3
    await state.close()
