"""Replay of 1,000,000 recorded events at ``--speed max`` with recorded LLM answers, beside the live pipeline.

Both sides run the same wiring (``agent.wire_pipeline``: routes, replies through ``protect``,
recorder, batch sink into a fresh DuckDB file) over the same events, with the LLM answered
from the same recorded exchanges:

- replay: ``run_replay`` on the virtual clock, the driver stepping from instant to instant;
- live: the events fed from memory (``from_iterable``) on the asyncio loop, no clock to drive.

The recording is what a day of the service looks like, compressed: a light tick every second,
a heavy tick every minute, and a user message every 1,000 events (each a different text, so
every one is a real LLM call). Its exchanges (the replies' and the mind's, which the heavy
ticks wake) are recorded first by a replay of the same events against the simulator. Each
side prints its rate on the wall clock and on the process's CPU time (both
threads: the event loop and the writer), because on a shared machine the wall clock says as
much about the neighbours as about the code. Target: the replay at least 100,000 events per
second.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import reactivex
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

from llm import Exchange, InMemoryExchangeStore, ReplayBackend
from service._assembly import Parts, assemble
from service.replay import ReplayOptions, run_replay
from service.settings import Settings, load_settings
from sinks import DuckWriter, Recording, RecordingHeader, open_database, read_recording
from streams import HEAVY_TICK, LIGHT_TICK, Event, subscribe_to_completion

START = datetime(2026, 1, 1, tzinfo=UTC)


def make_events(n: int) -> list[Event]:
    events: list[Event] = []
    for i in range(n):
        at = START + timedelta(seconds=i)
        if i % 1000 == 999:
            events.append(Event(id=f"m{i}", type="user.message", time=at, source="inbox", payload={"text": f"q {i}"}))
        elif i % 60 == 59:
            events.append(Event(id=f"h{i}", type=HEAVY_TICK, time=at, source="ticks", payload={"n": i}))
        else:
            events.append(Event(id=f"l{i}", type=LIGHT_TICK, time=at, source="ticks", payload={"n": i}))
    return events


def bench_settings(folder: Path) -> Settings:
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{folder / "live.duckdb"}"\n'
        "[resilience.rate_limit]\nenabled = false\n[resilience.budget]\nenabled = false\n",
        encoding="utf-8",
    )
    return load_settings(path, env={})


def record_answers(settings: Settings, events: list[Event], folder: Path) -> list[dict[str, object]]:
    """The exchanges of one replay of ``events`` against the simulator: the replies' and the mind's
    (a heavy tick may wake the mind, whose thoughts and decisions are LLM calls too)."""
    recording = Recording(header=RecordingHeader(source="bench"), events=events)
    out = folder / "answers.duckdb"
    asyncio.run(run_replay(settings, recording, ReplayOptions(out=out, llm="simulator"), install_signals=False))
    return read_recording(out).exchanges


Rates = tuple[float, float]
"""Events per second on the wall clock, and per second of the process's CPU time."""


def replay_rate(settings: Settings, events: list[Event], exchanges: list[dict[str, object]], folder: Path) -> Rates:
    recording = Recording(header=RecordingHeader(source="bench"), events=events, exchanges=exchanges)
    options = ReplayOptions(out=folder / "replay.duckdb")
    started, cpu = time.perf_counter(), time.process_time()
    report = asyncio.run(run_replay(settings, recording, options, install_signals=False))
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    if report.miss is not None or report.events != len(events):
        raise SystemExit(f"replay went wrong: {report}")
    return len(events) / elapsed, len(events) / cpu_s


async def _live(settings: Settings, events: list[Event], exchanges: list[dict[str, object]], folder: Path) -> Rates:
    loop = asyncio.get_running_loop()
    scheduler = AsyncIOThreadSafeScheduler(loop)  # what the service runs on
    writer = DuckWriter(open_database(folder / "live-fed.duckdb"))
    backend = ReplayBackend(InMemoryExchangeStore([Exchange.from_json(x) for x in exchanges]))
    assembled = assemble(
        settings, reactivex.from_iterable(events), Parts(writer=writer, run_id="live", backend=backend)
    )
    started, cpu = time.perf_counter(), time.process_time()
    finished, _ = subscribe_to_completion(assembled.committed, loop=loop, scheduler=scheduler)
    await finished
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    await asyncio.to_thread(writer.close, checkpoint=False)
    return len(events) / elapsed, len(events) / cpu_s


def main(quick: bool) -> None:
    n = 50_000 if quick else 1_000_000
    events = make_events(n)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = bench_settings(folder)
        exchanges = record_answers(settings, events, folder)
        live = asyncio.run(_live(settings, events, exchanges, folder))
        replay = replay_rate(settings, events, exchanges, folder)
    messages = sum(1 for e in events if e.type == "user.message")
    print(f"events: {n:,} ({messages:,} user messages answered from {len(exchanges):,} recorded exchanges)")
    print("                                          wall clock     CPU time   (events/s)")
    print(f"  live pipeline, events fed from memory  {live[0]:>10,.0f}  {live[1]:>11,.0f}")
    print(f"  replay, --speed max, recorded answers  {replay[0]:>10,.0f}  {replay[1]:>11,.0f}   (target >= 100,000)")
    print(f"  replay / live: {replay[0] / live[0]:.2f}x on the wall clock, {replay[1] / live[1]:.2f}x in CPU time")
