"""Traces stay out of the data: a recording made with tracing on replays to the same episodes."""

from __future__ import annotations

from pathlib import Path

import duckdb
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.replay import ReplayOptions, compare_episodes, run_replay
from sinks import read_recording
from tests.metrics_support import live_service
from tests.service.test_tracing_live import CALLER_TRACE, TRACEPARENT, answered, post, traced
from tests.service.tracing_support import QUIET, in_memory, named


def every_value(database: Path) -> str:
    """Every row of every table of ``database``, as text."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return "\n".join(str(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)
    finally:
        con.close()


async def test_a_recording_made_with_tracing_on_replays_identically(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    async with live_service(tmp_path / "live", make_tracing=in_memory(exporter), **QUIET) as service:
        service.simulator.inject("status:500")  # a retried call is recorded too
        first = await post(service, "remember this trace", {"traceparent": TRACEPARENT})
        await answered(service, first)
        second = await post(service, "and this one", {"traceparent": TRACEPARENT, "tracestate": "vendor=secret"})
        await answered(service, second)
        await traced(exporter, second)
        settings = service.settings
        sent = [t for t in service.simulator.stats.traceparents if t is not None]
    spans = exporter.get_finished_spans()
    assert len(named(spans, "being.message")) == 2 and len(sent) == 3

    database = Path(settings.storage.database_path)
    stored = every_value(database)
    for trace_value in [CALLER_TRACE, "vendor=secret", *(t.split("-")[2] for t in sent)]:
        assert trace_value not in stored  # no trace id, span id or tracestate in any table
    recording = read_recording(database)
    assert len(recording.exchanges) == 3

    out = tmp_path / "replayed.duckdb"
    report = await run_replay(settings, recording, ReplayOptions(out=out), install_signals=False)
    assert report.miss is None and report.llm_calls == 3
    result = compare_episodes(recording.episodes, read_recording(out).episodes)
    assert result.identical, result.to_json()
