"""wire_pipeline's ``observe`` hook: told of every event before the routes, and of every row before the sink."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import reactivex
from reactivex.scheduler.eventloop import AsyncIOScheduler

from agent import Recorder, Wiring, wire_pipeline
from sinks import DuckWriter, EpisodeRow, Row, open_database
from streams import HEAVY_TICK, MIND_INTENTIONS, Event, subscribe_to_completion

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _events() -> list[Event]:
    payload = {"text": "stretch", "sha256": "0" * 64, "bytes": 7, "truncated": False, "path": "i.md"}
    return [
        Event(id="i1", type=MIND_INTENTIONS, time=T0, source="intentions", payload=payload),
        Event(id="m1", type="user.message", time=T0 + timedelta(seconds=1), source="inbox", payload={"text": "hi"}),
        Event(id="h1", type=HEAVY_TICK, time=T0 + timedelta(seconds=2), source="ticks", payload={"n": 0}),
    ]


async def test_the_observer_sees_each_event_before_its_row_and_every_row_before_it_is_written(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    seen: list[Event | Row] = []
    stored_when_seen: list[int] = []

    def observe(item: Event | Row) -> None:
        seen.append(item)
        if isinstance(item, EpisodeRow):  # the sink has not written it yet
            stored_when_seen.append(
                writer.call(
                    "count",
                    lambda con: con.execute("SELECT count(*) FROM episodes WHERE id = ?", [item.id]).fetchone()[0],
                )
            )

    wiring = Wiring(writer=writer, batch_max_rows=100, batch_max_wait_s=0.01, recorder=Recorder("run"), observe=observe)
    finished, _ = subscribe_to_completion(
        wire_pipeline(reactivex.from_iterable(_events()), wiring), loop=loop, scheduler=AsyncIOScheduler(loop)
    )
    await asyncio.wait_for(finished, timeout=10)
    events = [x for x in seen if isinstance(x, Event)]
    episodes = [x for x in seen if isinstance(x, EpisodeRow)]
    assert [e.id for e in events] == ["i1", "m1", "h1"]
    assert sorted(e.type for e in episodes) == ["heavy_tick.observe", "mind.intentions", "user.message"]
    for episode in episodes:  # each event was seen before the row made of it
        assert seen.index(next(e for e in events if e.id == episode.event_id)) < seen.index(episode)
    assert stored_when_seen == [0, 0, 0]
    recorded = [x for x in seen if not isinstance(x, Event | EpisodeRow)]
    assert len(recorded) == 3  # the recorder's rows pass the observer too
    stored = writer.call("read", lambda con: con.execute("SELECT count(*) FROM episodes").fetchone()[0])
    assert stored == 3
    writer.close()
