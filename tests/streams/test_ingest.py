"""The HTTP ingest source: what is offered comes out once, after every subscriber is there; acknowledgements end it."""

from __future__ import annotations

from datetime import UTC, datetime

from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler

from streams import Event, IngestState, ingest, message_event

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def event(n: int, *, urgent: bool = False, recovered: bool = False) -> Event:
    return message_event(f"{n:032x}", urgent=urgent, text=f"m{n}", sender=None, time=T0, recovered=recovered)


def test_the_event_of_a_message_is_the_inbox_kind_with_source_http() -> None:
    urgent = message_event("a" * 32, urgent=True, text="help", sender="ana", time=T0)
    assert (urgent.type, urgent.source, dict(urgent.payload)) == (
        "user.urgent",
        "http",
        {"text": "help", "sender": "ana", "recovered": False},
    )
    assert event(1).type == "user.message" and "sender" not in event(1).payload


def test_recovered_and_early_offers_come_out_after_every_subscriber_of_a_shared_stream() -> None:
    scheduler = TestScheduler()
    state = IngestState([event(1, recovered=True)])
    assert state.offer(event(2))  # before the pipeline subscribed (HTTP starts first)
    shared = ingest(state).pipe(ops.share())
    first: list[str] = []
    second: list[str] = []
    shared.subscribe(lambda e: first.append(e.id), scheduler=scheduler)
    shared.subscribe(lambda e: second.append(e.id), scheduler=scheduler)
    assert first == second == []
    scheduler.start()
    assert first == second == [event(1).id, event(2).id]
    assert state.offer(event(3))
    assert first[-1] == second[-1] == event(3).id


def test_an_offer_of_a_message_already_out_is_not_emitted_again() -> None:
    scheduler = TestScheduler()
    state = IngestState()
    out: list[str] = []
    ingest(state).subscribe(lambda e: out.append(e.id), scheduler=scheduler)
    scheduler.start()
    assert state.offer(event(1)) and state.offer(event(1))
    assert out == [event(1).id] and state.in_flight() == 1


def test_acknowledgements_free_the_messages_and_tell_who_waits() -> None:
    told: list[list[str]] = []
    state = IngestState([event(1, recovered=True), event(2, recovered=True)], on_done=told.append)
    assert state.in_flight() == 2 and state.holds(event(1).id)
    assert state.acknowledge(["not ours", event(1).id]) == [event(1).id]
    assert told == [[event(1).id]] and state.in_flight() == 1 and not state.holds(event(1).id)
    assert state.acknowledge(["not ours"]) == [] and told == [[event(1).id]]


def test_after_disposal_offers_are_refused_and_left_for_the_next_start() -> None:
    scheduler = TestScheduler()
    state = IngestState()
    observer = scheduler.create_observer()
    subscription = ingest(state).subscribe(observer, scheduler=scheduler)
    scheduler.start()
    subscription.dispose()
    assert not state.offer(event(1))
    assert observer.messages == [] and state.in_flight() == 0


def test_the_source_never_completes_on_its_own() -> None:
    scheduler = TestScheduler()
    state = IngestState([event(1, recovered=True)])
    results = scheduler.start(lambda: ingest(state), created=5, subscribed=10, disposed=1000)
    assert results.messages == [ReactiveTest.on_next(10, event(1, recovered=True))]  # no completion
