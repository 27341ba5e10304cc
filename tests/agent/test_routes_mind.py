"""The routes when the mind is on: heavy ticks are the mind's, intentions changes become episodes."""

from __future__ import annotations

from datetime import UTC, datetime

from reactivex.testing import ReactiveTest, TestScheduler

from agent import route_events
from sinks import EpisodeRow, Row
from streams import HEAVY_TICK, MIND_INTENTIONS, Event

T = datetime(2026, 3, 1, tzinfo=UTC)


def _rows(events: list[Event], *, heavy_ticks: bool) -> list[Row]:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(
        *[ReactiveTest.on_next(210 + 10 * n, e) for n, e in enumerate(events)], ReactiveTest.on_completed(900)
    )
    result = scheduler.start(lambda: route_events(source, heavy_ticks=heavy_ticks))
    return [m.value.value for m in result.messages if m.value.kind == "N"]


def _intentions(event_id: str, text: str, *, truncated: bool = False) -> Event:
    payload = {"text": text, "sha256": "ab" * 32, "bytes": len(text.encode()), "truncated": truncated, "path": "i.md"}
    return Event(id=event_id, type=MIND_INTENTIONS, time=T, source="intentions", payload=payload)


def test_heavy_ticks_write_no_observe_episode_when_the_mind_takes_them() -> None:
    tick = Event(id="h1", type=HEAVY_TICK, time=T, source="ticks", payload={"n": 1})
    assert [r.type for r in _rows([tick], heavy_ticks=True) if isinstance(r, EpisodeRow)] == ["heavy_tick.observe"]
    assert _rows([tick], heavy_ticks=False) == []


def test_an_intentions_change_is_an_episode_holding_the_text() -> None:
    rows = _rows(
        [
            _intentions("i1", "remind me to stretch\nevery two hours"),
            _intentions("i2", ""),
            _intentions("i3", "x", truncated=True),
        ],
        heavy_ticks=False,
    )
    changed, cleared, cut = rows
    assert isinstance(changed, EpisodeRow) and isinstance(cleared, EpisodeRow) and isinstance(cut, EpisodeRow)
    assert changed.type == MIND_INTENTIONS and changed.outcome == "success"
    assert changed.description == "intentions changed (36 bytes): remind me to stretch every two hours"
    assert changed.data["text"] == "remind me to stretch\nevery two hours"
    assert changed.data["event_id"] == "i1" and changed.event_id == "i1"
    assert cleared.description == "intentions cleared (the file is gone)"
    assert "(cut at the size limit)" in cut.description
    assert len({changed.id, cleared.id, cut.id}) == 3
