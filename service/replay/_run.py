"""The replay command's composition: a recording through the same routes as ``being run``, on virtual time.

Like ``runtime.py`` for the live service, this is where a replay's resources are made and
closed: the output database and its writer thread, the LLM backend (the recording itself, a
local simulator, or the live server), and the virtual clock. The wiring is the live one
(``agent.wire_pipeline``), so a replay exercises exactly the code that runs in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reactivex import operators as ops
from reactivex.subject import ReplaySubject

from llm import (
    Exchange,
    InMemoryExchangeStore,
    LLMBackend,
    ReplayBackend,
    ReplayMissError,
    backend_from_settings,
)
from llm.simulator import FaultPlan, Simulator
from service._assembly import Parts, assemble, settings_snapshot
from service._version import VERSION
from service.errors import UsageError
from service.replay._driver import AnswerTimes, CallTracker, ReplayScheduler, check_replay_clock, drive
from service.replay._seeds import RunSeeds
from service.settings import Settings, path_owner
from sinks import (
    BatchResult,
    DeadLetterRow,
    DuckWriter,
    Recording,
    RecordingProblem,
    Row,
    RunRow,
    open_database,
    write_rows,
)
from streams import Event, replay_events, stable_id, subscribe_to_completion

__all__ = ["REPLAY_BATCH_WAIT_S", "ReplayOptions", "ReplayReport", "notes_beside", "run_replay"]

REPLAY_BATCH_WAIT_S = 86400.0
"""Virtual seconds a replay batch may wait for more rows (count cuts the batches).

A day: a recording of a light tick a second fills a batch (``sink.batch_max_rows``) long
before it; an hour cut a batch every 3,600 rows, and each batch costs the writer thread its
keyed writes, its notes pass and a vector batch of its own whatever its size.
"""


REPLAY_GC_THRESHOLD = 50_000
"""The collector's youngest-generation threshold while a replay drives (see ``_recording_frozen``)."""


def notes_beside(out: Path) -> Path:
    """The folder a replay's notes are written in: ``<out>.notes`` beside its output database."""
    return out.with_name(out.name + ".notes")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayOptions:
    """How ``being replay`` runs.

    Args:
        out: the new DuckDB file the replay writes (must not exist).
        llm: ``recorded`` (answers from the recording), ``simulator`` (a local simulator) or ``live``.
        on_miss: with ``recorded``: ``error`` stops at the first request the recording cannot
            answer; ``fallback`` lets the reply's fallback stand in.
        speed: ``None`` as fast as possible, else N times real time.
    """

    out: Path
    llm: str = "recorded"
    on_miss: str = "error"
    speed: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayReport:
    """What a replay did."""

    events: int
    episodes: int
    dead_letters: int
    exchanges: int
    llm_calls: int
    problems: int
    interrupted: bool
    miss: str | None
    seconds: float


@dataclass(slots=True)
class _Opened:
    """A replay's resources: the output database's writer, the answering backend, the simulator if any."""

    writer: DuckWriter
    tracker: CallTracker
    watched: LLMBackend
    simulator: Simulator | None

    async def aclose(self) -> None:
        await self.tracker.aclose()
        if self.simulator is not None:
            await self.simulator.stop()
        await asyncio.to_thread(self.writer.close, checkpoint=True, timeout_s=60.0)


def _check_output(settings: Settings, out: Path) -> None:
    if out.exists():
        raise UsageError(f"{out} exists; a replay writes a new file and never changes an old one")
    owner = path_owner(settings, out)
    if owner is not None:
        raise UsageError(f"{out} is where the service keeps {owner}; a replay writes a new file elsewhere")
    notes = notes_beside(out)
    if notes.exists():
        raise UsageError(f"{notes} exists; a replay writes its notes into a new folder beside its output")


async def _open(
    settings: Settings, recording: Recording, options: ReplayOptions, scheduler: ReplayScheduler
) -> _Opened:
    """The answering backend, then the output database (opened last: a replay that cannot start leaves no file)."""
    simulator: Simulator | None = None
    inner: LLMBackend
    if options.llm == "recorded":
        answer_times = AnswerTimes(scheduler, limit_s=settings.resilience.timeout.deadline_s)
        inner = ReplayBackend(InMemoryExchangeStore(_exchanges(recording)), answer_at=answer_times.until)
    elif options.llm == "simulator":
        simulator = Simulator(FaultPlan(models=()))
        inner = backend_from_settings(
            dataclasses.replace(settings.llm, backend="ollama", base_url=await simulator.start()), {}
        )
    else:
        inner = backend_from_settings(settings.llm, os.environ)
    writer = DuckWriter(open_database(options.out), max_pending=settings.sink.queue_max_batches)
    watched = _MissWatch(inner) if options.on_miss == "error" else inner
    return _Opened(writer=writer, tracker=CallTracker(watched), watched=watched, simulator=simulator)


def _start_rows(
    settings: Settings, recording: Recording, options: ReplayOptions, run_id: str, first: datetime
) -> list[Row]:
    """The replay's run row and one dead letter per problem of the recording."""
    run = RunRow(
        run_id=run_id,
        started_at=first,
        kind="replay",
        service_version=VERSION,
        settings={**settings_snapshot(settings), "replay": {"source": recording.header.source, "llm": options.llm}},
    )
    problems: list[Row] = [
        DeadLetterRow(
            id=stable_id(run_id, "problem", str(n)),
            time=first,
            source="replay",
            reason=f"{p.reason} ({p.where})",
            raw=p.raw,
        )
        for n, p in enumerate(recording.problems)
    ]
    return [run, *problems]


async def run_replay(
    settings: Settings,
    recording: Recording,
    options: ReplayOptions,
    *,
    on_progress: Callable[[int, datetime], None] = lambda _done, _now: None,
    on_start: Callable[[], None] = lambda: None,
    install_signals: bool = True,
) -> ReplayReport:
    """Run ``recording`` through the same routes as ``being run`` on virtual time (see ``service.replay``).

    Open (the output database, the answering backend) → compose (``assemble``, the live wiring) →
    drive (the virtual clock) → report.

    Raises:
        UsageError: the output file exists or is one of the service's own paths.
        SinkError: the output file cannot be written.
    """
    _check_output(settings, options.out)
    check_replay_clock(recording.events, settings, waits_s={"the replay's batch wait": REPLAY_BATCH_WAIT_S})
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    first = recording.events[0].time if recording.events else datetime.now(UTC)
    # The clock starts a second before the first event: subscribing the wiring's merges takes
    # scheduled steps of its own, and every route must be listening before the first event comes.
    scheduler = ReplayScheduler(first - timedelta(seconds=1))
    run_id = stable_id("replay", recording.header.source, options.llm)
    opened = await _open(settings, recording, options, scheduler)
    # A replay subject: a Ctrl+C that comes before the pipeline is subscribed must still stop it.
    stop: ReplaySubject[object] = ReplaySubject(1)
    counts = {"events": 0, "episodes": 0, "dead_letters": 0, "exchanges": 0}

    def count_event(_event: Event) -> None:
        counts["events"] += 1

    def committed(result: BatchResult) -> None:
        counts["episodes"] += result.episodes
        counts["dead_letters"] += result.dead_letters
        counts["exchanges"] += result.exchanges

    seeds = RunSeeds(recording, settings)  # each recorded start's memory, given before that run's first event
    events = replay_events(recording.events)
    if len(seeds):  # a recording without seeds (most) pays no look per event
        events = events.pipe(ops.do_action(seeds.before))
    assembled = assemble(
        settings,
        events.pipe(ops.take_until(stop)),
        Parts(
            writer=opened.writer,
            run_id=run_id,
            backend=opened.tracker,
            # No shared store, whatever [resilience.cache] backend says: a replay must give the same episodes
            # each time, and answers left in Redis by the live service or an earlier replay would change them.
            shared=None,
            # On virtual time a batch cut by the clock would hold a handful of rows; replays cut by count
            # (and flush at the end), which is what makes them fast.
            batch_max_wait_s=REPLAY_BATCH_WAIT_S,
            remember_max_wait_s=REPLAY_BATCH_WAIT_S,
            # The mind's notes go beside the output, never into the live service's notes folder.
            notes_dir=notes_beside(options.out),
            on_event=count_event,
            on_committed=committed,
            # the recording's events come from the virtual clock, on the event loop alone
            one_thread=True,
        ),
    )
    seeds.being = assembled.being
    interrupted = [False]

    def interrupt() -> None:
        interrupted[0] = True
        stop.on_next(True)

    if install_signals:
        loop.add_signal_handler(signal.SIGINT, interrupt)
    on_start()
    try:
        start_rows = [*_start_rows(settings, recording, options, run_id, first), *seeds.rows(run_id)]
        await asyncio.wrap_future(opened.writer.submit("replay.start", lambda con: write_rows(con, start_rows)))
        finished, subscription = subscribe_to_completion(assembled.committed, loop=loop, scheduler=scheduler)

        def step(now: datetime) -> None:
            if _MissWatch.first_miss(opened.watched) is not None and not interrupted[0]:
                interrupted[0] = True
                stop.on_next(True)
            on_progress(counts["events"], now)

        with _recording_frozen():
            await drive(scheduler, tracker=opened.tracker, done=finished, speed=options.speed, on_step=step)
        await finished
        subscription.dispose()
    finally:
        if install_signals:
            loop.remove_signal_handler(signal.SIGINT)
        await opened.aclose()
    miss_text = _MissWatch.first_miss(opened.watched)
    return ReplayReport(
        events=counts["events"],
        episodes=counts["episodes"],
        dead_letters=counts["dead_letters"],
        exchanges=counts["exchanges"],
        llm_calls=opened.tracker.calls,
        problems=len(recording.problems),
        interrupted=interrupted[0] and miss_text is None,
        miss=miss_text,
        seconds=time.perf_counter() - started,
    )


@contextlib.contextmanager
def _recording_frozen() -> Iterator[None]:
    """Keep what exists now (the recording, the wiring) out of the garbage collector's full passes while it runs.

    A recording of a million events is millions of objects that live as long as the replay;
    every full collection would walk them all again, and the replay's rows, which live until
    their batch is written, keep setting such collections off (``docs/performance.md``).
    ``gc.freeze`` moves them to the permanent generation, ``gc.unfreeze`` gives them back when
    the replay ends.

    The youngest generation's threshold is raised meanwhile (:data:`REPLAY_GC_THRESHOLD`):
    each event leaves a few objects alive until its batch is written, and at the default 700
    the collector ran a young pass every few hundred events and walked each row it found there
    again in the older passes they set off.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], REPLAY_GC_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _exchanges(recording: Recording) -> list[Exchange]:
    """The recorded exchanges a replay can use; one that does not decode becomes a problem of the recording."""
    usable: list[Exchange] = []
    for index, body in enumerate(recording.exchanges, start=1):
        try:
            usable.append(Exchange.from_json(body))
        except (KeyError, TypeError, ValueError) as exc:
            recording.problems.append(
                RecordingProblem(f"exchange #{index}", f"exchange does not decode: {exc!r}", str(body)[:2000])
            )
    return usable


class _MissWatch:
    """A backend wrapper that remembers the first request a recording could not answer."""

    def __init__(self, inner: LLMBackend) -> None:
        self.inner = inner
        self.miss: str | None = None

    @staticmethod
    def first_miss(backend: object) -> str | None:
        return backend.miss if isinstance(backend, _MissWatch) else None

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not asyncio.iscoroutinefunction(attribute):
            return attribute

        async def watched(*args: Any, **kwargs: Any) -> Any:
            try:
                return await attribute(*args, **kwargs)
            except ReplayMissError as exc:
                if self.miss is None:
                    self.miss = str(exc)
                raise

        return watched
