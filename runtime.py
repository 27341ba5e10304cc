"""The composition root: builds every source, route and sink from the settings, runs them, stops them.

Lifecycle of ``being run``::

    open DuckDB (schema) → writer thread → system.start → HTTP up → subscribe the pipeline
    first SIGTERM/SIGINT → sources stop (take_until) → in-flight rows drain until
        shutdown.drain_timeout_s → sinks flushed → system.stop → CHECKPOINT → exit 0
    second signal → say what was cut off → exit 130 at once (inbox files not yet
        acknowledged stay on disk and are read again on the next start)

Nothing else in the project creates long-lived resources.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from reactivex.abc import SchedulerBase
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

from agent import PendingReply
from service._arrow_pool import use_system_arrow_pool
from service._assembly import settings_snapshot
from service._discovery import ServiceAddress, forget_address, publish_address
from service._drain import drain, pipeline_failure
from service._gc import freeze_started, thaw
from service._live_pipeline import LiveParts, build_pipeline
from service._llm_parts import open_llm_parts
from service._memory_seed import Seed, give_seed
from service._native_heap import trim_heap_every
from service._nats_parts import NatsParts, open_jetstream
from service._service_access import (
    announce_token,
    event_hub,
    forget_token,
    live_stream_feed,
    publish_token,
    service_token,
)
from service._service_app import service_app
from service._start_state import read_start_state
from service._version import VERSION
from service._watch import ServiceWatch, llm_stuck_after_s
from service._writer_jobs import durable_after_checkpoint, release_claims, stored_lookup
from service.cli import main as cli_main
from service.health import LLMHealth
from service.http import Health, Served, StatusBoard, serve
from service.metrics import (
    CheckOutcome,
    HealthCollector,
    LLMMetrics,
    MindMetrics,
    PipelineMetrics,
    ResilienceMetrics,
    ServiceMetrics,
    probe_loop_lag,
)
from service.settings import Settings, check_paths
from service.tracing import Tracing
from sinks import (
    DuckWriter,
    EpisodeRow,
    Outbox,
    RunRow,
    VectorIndex,
    flush_access,
    open_database,
    utc_now,
    write_rows,
)
from streams import IngestState, new_event_id, subscribe_to_completion

__all__ = ["EXIT_CUT_OFF", "Runtime", "main", "run_service"]

log = logging.getLogger("runtime")

EXIT_CUT_OFF = 130


def _system_episode(kind: str, scheduler: SchedulerBase, outcome: str, data: dict[str, Any]) -> EpisodeRow:
    return EpisodeRow(
        id=new_event_id(),
        time=scheduler.now,
        type=kind,
        description=f"{kind} (pid {os.getpid()}, version {VERSION})",
        outcome=outcome,
        data={"pid": os.getpid(), "version": VERSION, **data},
    )


class Runtime:
    """One run of the service: owns the writer, the HTTP server and the subscription.

    Args:
        settings: the loaded settings.
        registry: the Prometheus registry (a fresh one by default).
        config_path: shown in the start episode.
        install_signals: handle SIGTERM/SIGINT (off when embedded in a test's loop).
        tracing: traces each message (default: as ``[tracing]`` says; closed when the run ends).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        registry: CollectorRegistry | None = None,
        config_path: Path | None = None,
        install_signals: bool = True,
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.metrics = PipelineMetrics(self.registry)
        self.resilience_metrics = ResilienceMetrics(self.registry)
        self.mind_metrics = MindMetrics(self.registry)
        self.service_metrics = ServiceMetrics(self.registry, version=VERSION)  # record_check() for the checks
        self.llm_metrics = LLMMetrics(self.registry)
        self.run_id = new_event_id()
        self.health = Health()
        HealthCollector(self.health, self.registry)
        self._clock: Callable[[], datetime] = utc_now  # the scheduler's, once it runs
        self.llm_health = LLMHealth(clock=lambda: self._clock(), stuck_after_s=llm_stuck_after_s(settings))
        self.watch = ServiceWatch(settings, self.health)
        self.status = StatusBoard(self.registry)  # GET /status: the protections, once the pipeline is built
        self.config_path = config_path
        self.install_signals = install_signals
        self.bound_port: int | None = None
        self._stop_requested: asyncio.Event | None = None
        self._signals = 0
        self._writer: DuckWriter | None = None
        self.vector_index = VectorIndex(  # its row files (quantised) go beside the database
            quantised=settings.memory.search.quantised_index, rows_folder=Path(settings.storage.database_path).parent
        )
        self._waiting: tuple[PendingReply, ...] = ()
        self._memory_seed: Seed | None = None
        self._ingest = IngestState()
        self._nats: NatsParts | None = None  # [nats] enabled: the connection and the JetStream source
        self.token = service_token(settings, os.environ)  # a bad token variable or file stops here
        self.events = event_hub(settings, self.run_id, self.registry)  # GET /events
        if tracing is None:  # a bad [tracing] headers variable stops here
            tracing = Tracing(settings.tracing, env=os.environ, service_version=VERSION, instance_id=self.run_id)
        self.tracing = tracing

    def request_stop(self) -> None:
        """Begin a graceful shutdown (what the first signal does)."""
        if self._stop_requested is not None:
            self._stop_requested.set()

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals == 1:
            log.info("shutdown.requested", extra={"signal": name})
            self.watch.stopping()
            self.request_stop()
            return
        pending = self._writer.pending if self._writer is not None else 0
        message = (
            f"second {name}: stopping at once; cut off: {pending} queued write job(s) and the rows still "
            "in flight. Inbox files not yet acknowledged stay on disk and are read again on the next start."
        )
        log.error("shutdown.cut_off", extra={"signal": name, "pending_jobs": pending})
        print(message, file=sys.stderr, flush=True)
        os._exit(EXIT_CUT_OFF)

    async def run(self) -> int:
        """Run until a stop is requested; returns the process exit code."""
        check_paths(self.settings)  # settings built in code are refused like loaded ones, before anything is touched
        loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        scheduler = AsyncIOThreadSafeScheduler(loop)
        self._clock = lambda: scheduler.now
        storage = self.settings.storage
        connection = await asyncio.to_thread(
            open_database,
            storage.database_path,
            threads=storage.duckdb_threads,
            memory_limit_mb=storage.duckdb_memory_limit_mb,
        )
        writer = DuckWriter(connection, max_pending=self.settings.sink.queue_max_batches, listener=self.metrics)
        self._writer = writer
        self.metrics.watch_writer(writer)
        self.metrics.storage.watch(Path(storage.database_path), self.vector_index)
        self.metrics.storage.watch_duckdb_memory(writer)
        self.health.writer_alive = lambda: writer.alive
        self.watch.watch_writer(writer)
        served: Served | None = None
        try:
            await self._write_now(writer, _system_episode("system.start", scheduler, "success", self._start_data()))
            run = RunRow(
                run_id=self.run_id,
                started_at=scheduler.now,
                kind="live",
                service_version=VERSION,
                settings=settings_snapshot(self.settings),
            )
            await asyncio.wrap_future(writer.submit("run", lambda con: write_rows(con, [run])))
            start = await read_start_state(
                writer, self.settings, self.vector_index, run_id=self.run_id, started=run.started_at
            )
            self._waiting, self._memory_seed, self._ingest = start.waiting, start.memory_seed, start.ingest
            outbox = start.outbox
            self._nats = await open_jetstream(
                self.settings,
                writer,
                registry=self.registry,
                health=self.health,
                clock=lambda: self._clock(),
                on_headers=lambda event_id, carrier: self.tracing.message_received(event_id, "nats", carrier),
                headers_for=self.tracing.carrier_for,
            )
            served = await self._serve_http(writer)
            return await self._run_pipeline(writer, scheduler, loop, outbox)
        finally:
            if self._nats is not None:  # closed after the pipeline (idempotent): a start cut short closes it here
                await self._nats.link.close()
            if served is not None:
                forget_address(self.settings.storage.database_path)
                await served.close()
                forget_token(self.settings.storage.database_path, self.token)
            closed = await asyncio.to_thread(writer.close, checkpoint=True, timeout_s=30.0)
            if not closed:
                log.error("shutdown.writer_stuck", extra={"pending_jobs": writer.pending})
            await self.watch.close()
            await self.tracing.close()  # last: the spans of the stop are exported too (within a time limit)
            log.info("shutdown.done")

    def _start_data(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "config": str(self.config_path) if self.config_path else "defaults",
            "database": self.settings.storage.database_path,
            "inbox": self.settings.inbox.path,
        }

    async def _write_now(self, writer: DuckWriter, row: EpisodeRow) -> None:
        await asyncio.wrap_future(writer.submit("system", lambda con: write_rows(con, [row])))

    async def _serve_http(self, writer: DuckWriter) -> Served:
        http = self.settings.http
        app = service_app(
            self.settings,
            registry=self.registry,
            health=self.health,
            writer=writer,
            index=self.vector_index,
            storage=self.metrics.storage,
            status=self.status,
            ingest=self._ingest,
            token=self.token,
            events=self.events,
            clock=lambda: self._clock(),
            on_message_headers=lambda event_id, carrier: self.tracing.message_received(event_id, "http", carrier),
        )
        publish_token(self.settings.storage.database_path, self.token)  # before the address: a client finds both
        try:
            served = await serve(app, http)
        except BaseException:
            forget_token(self.settings.storage.database_path, self.token)
            raise
        self.bound_port = served.port
        publish_address(self.settings.storage.database_path, ServiceAddress(http.host, self.bound_port, os.getpid()))
        log.info("http.listening", extra={"host": http.host, "port": self.bound_port})
        announce_token(self.token, http.host, self.bound_port)
        return served

    async def _run_pipeline(
        self, writer: DuckWriter, scheduler: AsyncIOThreadSafeScheduler, loop: asyncio.AbstractEventLoop, outbox: Outbox
    ) -> int:
        assert self._stop_requested is not None
        parts, closers = self._live_parts(writer, loop, outbox)
        pipeline = build_pipeline(self.settings, parts)
        if pipeline.protection is not None:
            self.resilience_metrics.watch(pipeline.protection)
            self.status.watch(pipeline.protection, loop.time)  # the operators' clock on the loop
            if pipeline.protection.breaker is not None:
                self.llm_health.watch_breaker(pipeline.protection.breaker)
                self.service_metrics.watch_breaker(pipeline.protection.breaker, loop.time)  # the breaker's clock
            self.health.add("llm", self.llm_health)
        if pipeline.being is not None and self._memory_seed is not None:
            being = pipeline.being
            give_seed(being, self._memory_seed)
            self.mind_metrics.watch_goals(lambda: len(being.memory.goals))
        self.metrics.progress.watch(pipeline.inbox, lambda: scheduler.now)
        lag_probe = asyncio.ensure_future(probe_loop_lag(self.service_metrics.loop_lag))
        heap_trim = asyncio.ensure_future(trim_heap_every())
        finished, subscription = subscribe_to_completion(pipeline.committed, loop=loop, scheduler=scheduler)
        self.health.pipeline_running = True
        self.watch.started(pipeline.inbox, parts.shared, clock=self._clock)
        if self.install_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self._on_signal, signum)
        frozen = freeze_started()  # full collections walk only what the service makes from now on
        log.info("service.started", extra={"database": self.settings.storage.database_path, "gc_frozen": frozen})
        stop_wait: asyncio.Future[Any] = asyncio.ensure_future(self._stop_requested.wait())
        watched: set[asyncio.Future[Any]] = {stop_wait, finished}
        try:
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_wait.cancel()
        try:
            failure = pipeline_failure(finished)
            self.health.stopping = True
            cut_off = False
            if failure is None:
                pipeline.shutdown.on_next(True)
                failure, cut_off = await drain(
                    finished,
                    subscription,
                    timeout_s=self.settings.shutdown.drain_timeout_s,
                    pending_jobs=lambda: writer.pending,
                )
            subscription.dispose()
            released = await release_claims(writer, pipeline.inbox)
            kept = [c.path.name for c in pipeline.inbox.claims]
            log.info("inbox.released", extra={"released": len(released), "kept_for_next_start": kept})
            self.health.pipeline_running = False
            outcome = "failure" if failure is not None else "cut_off" if cut_off else "success"
            stop_data: dict[str, Any] = {"inbox_claims_kept": kept}
            if failure is not None:
                stop_data["error"] = str(failure)
            if cut_off:
                stop_data["pending_write_jobs"] = writer.pending
            await self._final_writes(writer, scheduler, outcome, stop_data)
        finally:
            thaw()
            lag_probe.cancel()
            heap_trim.cancel()
            if self._nats is not None:  # after the drain: what is still held goes back to JetStream at once
                given_back = await self._nats.close()
                log.info("nats.closed", extra={"given_back": given_back})
            for close in closers:  # the LLM connection pool, the cache's shared store
                await close()
        return 0 if failure is None else 1

    async def _final_writes(
        self, writer: DuckWriter, scheduler: SchedulerBase, outcome: str, data: dict[str, Any]
    ) -> None:
        """Search hits and ``system.stop``, within a deadline: a stuck writer must not hold the exit."""
        stop = _system_episode("system.stop", scheduler, outcome, data)
        access = self.vector_index.access
        jobs: list[asyncio.Future[Any]] = [
            asyncio.wrap_future(writer.submit("vectors.access", lambda con: flush_access(con, access))),
            asyncio.wrap_future(writer.submit("system", lambda con: write_rows(con, [stop]))),
        ]
        try:
            await asyncio.wait_for(asyncio.gather(*jobs), timeout=max(self.settings.shutdown.drain_timeout_s, 1.0))
        except TimeoutError:
            log.error("shutdown.final_writes_timeout", extra={"pending_jobs": writer.pending})

    def _live_parts(
        self, writer: DuckWriter, loop: asyncio.AbstractEventLoop, outbox: Outbox
    ) -> tuple[LiveParts, list[Callable[[], Awaitable[None]]]]:
        """The parts of the live pipeline; and what to close at the end (the LLM's connections and stores)."""
        llm = open_llm_parts(
            self.settings,
            llm_health=self.llm_health,
            llm_metrics=self.llm_metrics,
            resilience_metrics=self.resilience_metrics,
            watch=self.watch,
            tracing=self.tracing,
            clock=self._clock,
        )

        def on_loop(work: Callable[[], None]) -> None:
            loop.call_soon_threadsafe(work)

        parts = LiveParts(
            writer=writer,
            metrics=self.metrics,
            run_id=self.run_id,
            backend=llm.backend,
            listener=llm.listener,
            shared=llm.shared,
            limits=llm.limits,
            vector_index=self.vector_index,
            answered=stored_lookup(writer),
            waiting=self._waiting,
            on_loop=on_loop,
            make_durable=durable_after_checkpoint(writer),
            mind_listener=self.mind_metrics,
            ingest=self._ingest,
            jetstream=self._nats.state if self._nats is not None else None,
            out_gate=self._nats.gate if self._nats is not None else None,
            outbox=outbox,
            on_committed=live_stream_feed(self.events, on_loop),
            tracing=self.tracing,
        )
        return parts, llm.closers


def run_service(
    settings: Settings,
    config_path: Path | None = None,
    checked: Sequence[CheckOutcome] = (),
    loop_factory: Callable[[], Any] | None = None,
) -> int:
    """Run the service on uvloop (when available) until a signal; returns the exit code.

    ``checked`` are the start's check results, counted in ``being_checks_total``.
    """
    factory = loop_factory
    if factory is None:
        try:
            import uvloop

            factory = uvloop.new_event_loop
        except ImportError:
            factory = None
    use_system_arrow_pool(os.environ)  # pyarrow's own pool keeps freed pages resident (service/_arrow_pool.py)
    runtime = Runtime(settings, config_path=config_path)
    runtime.service_metrics.record_checks(checked)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(runtime.run())


def main(argv: Sequence[str] | None = None) -> int:
    """The ``being`` console script: the CLI, with this root's ``run_service`` behind ``being run``."""
    return cli_main(argv, run_service=run_service)


if __name__ == "__main__":
    sys.exit(main())
