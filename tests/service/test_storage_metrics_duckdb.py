"""``being_duckdb_memory_bytes``: DuckDB's memory, read on the writer thread, one scrape behind."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from service.metrics._storage import StorageMetrics
from sinks import DuckWriter, open_database
from tests.support import wait_until


def test_the_gauge_reports_what_the_writer_read_at_the_scrape_before(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    metrics = StorageMetrics(registry)
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    writer.call("fill", lambda con: con.execute("CREATE TABLE t AS SELECT range AS x FROM range(300000)"))
    metrics.watch_duckdb_memory(writer)

    def value() -> float:
        got = registry.get_sample_value("being_duckdb_memory_bytes")
        assert got is not None
        return got

    assert value() == 0.0  # the first scrape asks; nothing read yet
    wait_until(lambda: value() > 0, timeout_s=10, what="a DuckDB memory reading")
    writer.close()
    last = value()
    assert value() == last > 0  # a closed writer: the last value stays, the scrape does not fail
