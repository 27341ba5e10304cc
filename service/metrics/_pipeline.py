"""Prometheus series of the pipeline itself: events in, rows inserted and skipped, batches, the writer queue."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from service.metrics._children import Children
from service.metrics._progress import EventProgress
from service.metrics._storage import StorageMetrics
from sinks import BatchResult, DuckWriter, WriterListener
from streams import Event

__all__ = ["PipelineMetrics"]

_BATCH_ROWS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _reason_kind(reason: str) -> str:
    """The label for a dead letter's reason: the word before the first colon (``undecodable``...)."""
    head = reason.split(":", 1)[0].strip().lower()
    return head if head.isidentifier() and len(head) <= 32 else "other"


class PipelineMetrics(WriterListener):
    """Counters and histograms of the pipeline, on the runtime's own registry.

    It is the writer's listener (admissions over the queue's bound, waits for room, job
    durations) and is told about every event that enters and every batch that is committed.
    The written counters count inserted rows only; rows of recovered input that were already
    stored are counted apart, in ``being_rows_skipped_total``.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.events_in = Counter(
            "being_events_in", "Events that entered the pipeline, by type", ["type"], registry=registry
        )
        self.episodes_written = Counter(
            "being_episodes_written",
            "Episodes inserted into DuckDB, by type (not those skipped as already stored)",
            ["type"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "being_dead_letters",
            "Dead letters inserted, by source and reason (not those skipped as already stored)",
            ["source", "reason"],
            registry=registry,
        )
        self.rows_inserted = Counter(
            "being_rows_inserted", "Rows inserted by committed batches, by table", ["table"], registry=registry
        )
        self.rows_skipped = Counter(
            "being_rows_skipped",
            "Rows of committed batches left out because their id was already stored (recovered input), by table",
            ["table"],
            registry=registry,
        )
        self.batch_rows = Histogram(
            "being_sink_batch_rows",
            "Rows per committed batch, every table, inserted or skipped",
            buckets=_BATCH_ROWS,
            registry=registry,
        )
        self.flush_seconds = Histogram(
            "being_sink_flush_seconds",
            "Time the writer thread spent on one job, by job and outcome",
            ["job", "outcome"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.queue_wait_seconds = Histogram(
            "being_sink_queue_wait_seconds",
            "Time a source waited for room (writer.room()) before it submitted, when it had to wait",
            buckets=_SECONDS,
            registry=registry,
        )
        self.admitted_over = Counter(
            "being_sink_admitted_over_bound",
            "Write jobs queued while the writer queue was at or over its bound (queued anyway, never dropped)",
            registry=registry,
        )
        self.over_bound_seconds = Histogram(
            "being_sink_over_bound_seconds",
            "How long the writer queue stayed at or over its bound, each time it went over",
            buckets=_SECONDS,
            registry=registry,
        )
        self.writer_pending = Gauge(
            "being_sink_pending_jobs", "Write jobs waiting for the writer thread", registry=registry
        )
        self._events_in = Children(self.events_in)
        self.progress = EventProgress(registry)
        self.storage = StorageMetrics(registry)

    def watch_writer(self, writer: DuckWriter) -> None:
        """Read the writer's queue length at each scrape (its bound is the setting ``sink.queue_max_batches``)."""
        self.writer_pending.set_function(lambda: writer.pending)

    def event_in(self, event_type: str) -> None:
        """One event entered the pipeline."""
        self._events_in(event_type).inc()

    def event_seen(self, event: Event) -> None:
        """One event entered the live pipeline: counted, and followed until its rows are stored."""
        self.event_in(event.type)
        self.progress.seen(event)

    def batch_committed(self, result: BatchResult) -> None:
        """A batch was committed: count what it inserted and what it skipped, and the events it ended."""
        self.progress.done(result.event_ids)
        self.batch_rows.observe(result.rows)
        for table, inserted in result.inserted.items():
            self.rows_inserted.labels(table=table).inc(inserted)
        for table, skipped in result.skipped.items():
            self.rows_skipped.labels(table=table).inc(skipped)
        for episode_type in result.episode_types:
            self.episodes_written.labels(type=episode_type).inc()
        for source, reason in zip(result.dead_letter_sources, result.dead_letter_reasons, strict=True):
            self.dead_letters.labels(source=source, reason=_reason_kind(reason)).inc()

    def queue_waited(self, seconds: float) -> None:
        self.queue_wait_seconds.observe(seconds)

    def admitted_over_bound(self, pending: int) -> None:
        self.admitted_over.inc()

    def over_bound_ended(self, seconds: float) -> None:
        self.over_bound_seconds.observe(seconds)

    def job_done(self, name: str, seconds: float, failed: bool) -> None:
        self.flush_seconds.labels(job=name, outcome="failure" if failed else "success").observe(seconds)
