"""The thin agent's routes: which events become which rows, with ids derived from the events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reactivex.testing import ReactiveTest, TestScheduler

from agent import DESCRIPTION_MAX_CHARS, route_events
from sinks import DeadLetterRow, EpisodeRow
from streams import HEAVY_TICK, INVALID_INPUT, LIGHT_TICK, Event

T = datetime(2026, 3, 1, tzinfo=UTC)


def ev(event_id: str, kind: str, **payload: Any) -> Event:
    return Event(id=event_id, type=kind, time=T, source="inbox" if kind != HEAVY_TICK else "ticks", payload=payload)


def run(*timed: tuple[float, Event]) -> list[tuple[float, Any]]:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(
        *[ReactiveTest.on_next(t, e) for t, e in timed], ReactiveTest.on_completed(900)
    )
    result = scheduler.start(lambda: route_events(source))
    assert source.subscriptions == [ReactiveTest.subscribe(200, 900)]
    assert result.messages[-1] == ReactiveTest.on_completed(900)
    return [(m.time, m.value.value) for m in result.messages[:-1]]


def test_each_kind_of_event_goes_to_its_route() -> None:
    out = run(
        (210, ev("m1", "user.message", text="hi", claim="c", line=1)),
        (220, ev("t1", LIGHT_TICK)),
        (230, ev("h1", HEAVY_TICK, n=3)),
        (240, ev("u1", "user.urgent", text="fire")),
        (250, ev("b1", INVALID_INPUT, reason="undecodable: bad byte", raw="\\xff", line=2, claim="c")),
        (260, ev("x1", "something.unknown")),
        (270, ev("w1", "world.file_changed", path="notes/today.txt", change="modified")),
        (280, ev("s1", "system.start")),
    )
    assert [t for t, _ in out] == [210, 230, 240, 250, 260, 270, 280]
    message, observe, urgent, letter, unknown, world, start = (row for _, row in out)
    assert isinstance(message, EpisodeRow) and message.type == "user.message" and message.description == "hi"
    assert message.event_id == "m1" and message.data["claim"] == "c"
    assert isinstance(observe, EpisodeRow) and observe.type == "heavy_tick.observe" and observe.data["tick"] == 3
    assert isinstance(urgent, EpisodeRow) and urgent.type == "user.urgent"
    assert isinstance(letter, DeadLetterRow)
    assert letter.reason.startswith("undecodable: bad byte") and "line=2" in letter.reason
    assert letter.raw == "\\xff" and letter.event_id == "b1"
    assert isinstance(unknown, DeadLetterRow) and "unknown event type" in unknown.reason
    assert '"id":"x1"' in unknown.raw
    assert isinstance(world, EpisodeRow) and world.type == "world.file_changed"
    assert world.description == "file modified: notes/today.txt"
    assert isinstance(start, EpisodeRow) and start.type == "system.start"


def test_ids_derive_from_events_and_recovered_input_may_exist() -> None:
    first = run((210, ev("m1", "user.message", text="hi", recovered=True)))
    second = run((210, ev("m1", "user.message", text="hi", recovered=True)))
    assert first[0][1].id == second[0][1].id
    assert first[0][1].id != "m1"
    assert first[0][1].may_exist is True


def test_long_messages_are_shortened_in_the_description_only() -> None:
    text = "слово " * 500
    ((_, row),) = run((210, ev("m1", "user.message", text=text)))
    assert isinstance(row, EpisodeRow)
    assert len(row.description) == DESCRIPTION_MAX_CHARS
    assert row.data["text"] == text
