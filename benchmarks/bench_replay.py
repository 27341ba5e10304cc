"""Replay of 1,000,000 recorded events at ``--speed max`` with recorded LLM answers, as ``being replay`` runs it.

The recording is what a day of the service looks like, compressed: a light tick every second,
a heavy tick every minute, and a user message every 1,000 events (each a different text, so
every one is a real LLM call). Its exchanges (the replies' and the mind's, which the heavy
ticks wake) are recorded first by a replay of the same events against the simulator, and the
recording is exported to JSON lines as ``being record export`` writes it.

Timed, on ``being replay``'s path (BLAS on one thread, as ``service.cli`` sets it): reading the
file (``sinks.read_recording``), then ``run_replay`` on the virtual clock with the recorded
answers into a fresh DuckDB file. Target: at least 100,000 events per second.

Beside it, like for like: the live wiring (``ops.share()``, the asyncio scheduler the service
runs on, batches cut by time) fed the same events from memory, against the replay of the same
events, both with replies and the mind off. With them on the two would not do the same work: fed
all at once on the wall clock, the live side's calls miss the recorded answers (their prompts hold
other times) and its mind skips the ticks that come while a thought is in flight (at 50,000
events, 4 LLM calls against the replay's 148). Off, both write the same rows, which the benchmark
checks before it prints.

Each rate is on the wall clock and on the process's CPU time (every thread: the event loop, the
writer, DuckDB's), because on a shared machine the wall clock says as much about the neighbours
as about the code.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import reactivex
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

from service._assembly import Parts, assemble
from service._blas import single_threaded_blas
from service.replay import ReplayOptions, run_replay
from service.settings import Settings, load_settings
from sinks import DuckWriter, Recording, RecordingHeader, export_recording, open_database, read_recording
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


def bench_settings(folder: Path, *, llm: bool = True) -> Settings:
    """The benchmark's settings; ``llm=False``: replies and the mind off (the like-for-like pair)."""
    path = folder / ("config.toml" if llm else "config-quiet.toml")
    quiet = "" if llm else "[reply]\nenabled = false\n[mind]\nenabled = false\n"
    path.write_text(
        f'[storage]\ndatabase_path = "{folder / "live.duckdb"}"\n'
        "[resilience.rate_limit]\nenabled = false\n[resilience.budget]\nenabled = false\n" + quiet,
        encoding="utf-8",
    )
    return load_settings(path, env={})


def record_file(settings: Settings, events: list[Event], folder: Path) -> Path:
    """A JSON-lines recording of ``events`` with the exchanges of one replay of them against the simulator:
    the replies' and the mind's (a heavy tick may wake the mind, whose thoughts and decisions are LLM calls)."""
    recording = Recording(header=RecordingHeader(source="bench"), events=events)
    answered = folder / "answers.duckdb"
    asyncio.run(run_replay(settings, recording, ReplayOptions(out=answered, llm="simulator"), install_signals=False))
    out = folder / "recording.jsonl"
    con = open_database(answered, read_only=True)
    try:
        export_recording(con, out, format="jsonl", header=RecordingHeader(source="bench"))
    finally:
        con.close()
    return out


Rates = tuple[float, float]
"""Events per second on the wall clock, and per second of the process's CPU time."""


def _rates(n: int, wall_s: float, cpu_s: float) -> Rates:
    return n / wall_s, n / cpu_s


def replay_file(settings: Settings, path: Path, folder: Path, n: int) -> tuple[Rates, Rates, int]:
    """``being replay PATH``'s work: read the file, replay it. The rates of the reading and of
    both together, and how many LLM calls the replay made."""
    started, cpu = time.perf_counter(), time.process_time()
    recording = read_recording(path)
    read_wall, read_cpu = time.perf_counter() - started, time.process_time() - cpu
    report = asyncio.run(
        run_replay(settings, recording, ReplayOptions(out=folder / "replay.duckdb"), install_signals=False)
    )
    wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    if report.miss is not None or report.events != n or recording.problems:
        raise SystemExit(f"replay went wrong: {report}, {len(recording.problems)} problems in the recording")
    return _rates(n, read_wall, read_cpu), _rates(n, wall, cpu_s), report.llm_calls


def replay_memory(settings: Settings, events: list[Event], out: Path) -> Rates:
    """``run_replay`` of ``events`` held in memory."""
    recording = Recording(header=RecordingHeader(source="bench"), events=events)
    started, cpu = time.perf_counter(), time.process_time()
    report = asyncio.run(run_replay(settings, recording, ReplayOptions(out=out), install_signals=False))
    rates = _rates(len(events), time.perf_counter() - started, time.process_time() - cpu)
    if report.events != len(events):
        raise SystemExit(f"replay went wrong: {report}")
    return rates


async def _live(settings: Settings, events: list[Event], out: Path) -> Rates:
    loop = asyncio.get_running_loop()
    scheduler = AsyncIOThreadSafeScheduler(loop)  # what the service runs on
    writer = DuckWriter(open_database(out))
    assembled = assemble(settings, reactivex.from_iterable(events), Parts(writer=writer, run_id="live"))
    started, cpu = time.perf_counter(), time.process_time()
    finished, _ = subscribe_to_completion(assembled.committed, loop=loop, scheduler=scheduler)
    await finished
    rates = _rates(len(events), time.perf_counter() - started, time.process_time() - cpu)
    await asyncio.to_thread(writer.close, checkpoint=False)
    return rates


_COMPARED = ("episodes", "events", "dead_letters", "vectors", "llm_exchanges")


def _table_counts(path: Path) -> dict[str, int]:
    con = open_database(path, read_only=True)
    try:
        return {table: int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]) for table in _COMPARED}
    finally:
        con.close()


def main(quick: bool) -> None:
    single_threaded_blas()  # as `being` does (service.cli.main)
    n = 50_000 if quick else 1_000_000
    events = make_events(n)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = bench_settings(folder)
        recording = record_file(settings, events, folder)
        read, replay, calls = replay_file(settings, recording, folder, n)
        quiet = bench_settings(folder, llm=False)
        live_q = asyncio.run(_live(quiet, events, folder / "live-quiet.duckdb"))
        replay_q = replay_memory(quiet, events, folder / "replay-quiet.duckdb")
        live_rows, replay_rows = (
            _table_counts(folder / "live-quiet.duckdb"),
            _table_counts(folder / "replay-quiet.duckdb"),
        )
    if live_rows != replay_rows:
        raise SystemExit(f"the like-for-like pair wrote different rows: live {live_rows}, replay {replay_rows}")
    messages = sum(1 for e in events if e.type == "user.message")
    print(
        f"events: {n:,} ({messages:,} user messages; the replay made {calls:,} LLM calls, answered from the recording)"
    )
    print("                                              wall clock     CPU time   (events/s)")
    print(f"  being replay: reading the JSON-lines file    {read[0]:>10,.0f}  {read[1]:>11,.0f}")
    print(
        f"  being replay: reading, then replaying        {replay[0]:>10,.0f}  {replay[1]:>11,.0f}   (target >= 100,000)"
    )
    print(f"like for like, replies and the mind off (both wrote the same rows: {replay_rows})")
    print(f"  live wiring, events fed from memory          {live_q[0]:>10,.0f}  {live_q[1]:>11,.0f}")
    print(f"  replay, events in memory                     {replay_q[0]:>10,.0f}  {replay_q[1]:>11,.0f}")
    print(
        f"  replay / live: {replay_q[0] / live_q[0]:.2f}x on the wall clock, {replay_q[1] / live_q[1]:.2f}x in CPU time"
    )
