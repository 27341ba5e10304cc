"""The episode sink writing 1,000,000 episodes, beside the predecessor's SQLite way and a raw DuckDB Arrow insert.

All three write the same rows, in one run, to files in a temporary folder:

- ours: ``EpisodeRow`` objects through ``write_batches`` (buffer → writer thread → one Arrow
  insert per batch, in one transaction each) into the real schema with its indexes;
- raw: the same rows turned into one Arrow table and inserted with one
  ``INSERT INTO episodes SELECT * FROM arrow_table`` into the same schema: the library's own
  fastest path from the same input, with no pipeline, batching or thread around it. Also
  printed: the insert alone of a prebuilt Arrow table (DuckDB's ceiling, for reference);
- predecessor: SQLite in autocommit, one INSERT per episode (measured on a slice, since it
  is too slow for a million rows; its rate does not depend on the table size).

Targets: ours >= 50 × the SQLite way and >= 0.5 × the raw insert.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import reactivex

from sinks import DuckWriter, EpisodeRow, open_database, to_json, write_batches

TYPES = ("user.message", "heavy_tick.observe", "world.file_changed", "monologue")
OUTCOMES = ("success", "failure", "fallback", "skipped")


def make_rows(n: int) -> list[EpisodeRow]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        EpisodeRow(
            id=f"{i:032x}",
            time=start + timedelta(milliseconds=i),
            type=TYPES[i % 4],
            description=f"episode {i}: something happened",
            outcome=OUTCOMES[i % 4],
            data={"n": i, "text": "hello"},
        )
        for i in range(n)
    ]


def ours(rows: list[EpisodeRow], folder: Path, batch_rows: int) -> float:
    writer = DuckWriter(open_database(folder / "ours.duckdb"))
    done = threading.Event()
    errors: list[Exception] = []

    def failed(exc: Exception) -> None:
        errors.append(exc)
        done.set()

    started = time.perf_counter()
    reactivex.from_iterable(rows).pipe(write_batches(writer, max_rows=batch_rows, max_wait_s=1.0)).subscribe(
        on_error=failed, on_completed=done.set
    )
    done.wait()
    elapsed = time.perf_counter() - started
    writer.close(checkpoint=False)
    if errors:
        raise errors[0]
    return elapsed


def raw(rows: list[EpisodeRow], folder: Path, prebuilt: bool) -> float:
    """One Arrow insert of all rows; with ``prebuilt`` the Arrow table is built before the clock starts."""
    started = time.perf_counter()
    table = pa.table(
        {
            "id": [r.id for r in rows],
            "time": pa.array([r.time for r in rows], pa.timestamp("us", tz="UTC")),
            "type": [r.type for r in rows],
            "description": [r.description for r in rows],
            "outcome": [r.outcome for r in rows],
            "data": [to_json(r.data) for r in rows],
        }
    )
    con = open_database(folder / f"raw-{prebuilt}.duckdb")
    if prebuilt:
        started = time.perf_counter()
    con.register("arrow_table", table)
    con.execute("INSERT INTO episodes SELECT * FROM arrow_table")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def sqlite_way(rows: list[EpisodeRow], folder: Path) -> float:
    con = sqlite3.connect(folder / "legacy.db", isolation_level=None)
    con.execute(
        "CREATE TABLE episodes (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT, event_type TEXT,"
        " description TEXT, outcome TEXT, data TEXT)"
    )
    started = time.perf_counter()
    for r in rows:
        con.execute(
            "INSERT INTO episodes (timestamp, event_type, description, outcome, data) VALUES (?, ?, ?, ?, ?)",
            (r.time.isoformat(), r.type, r.description, r.outcome, to_json(r.data)),
        )
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def main(quick: bool) -> None:
    n = 50_000 if quick else 1_000_000
    sqlite_n = 2_000 if quick else 20_000
    rows = make_rows(n)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rate_raw = n / raw(rows, folder, prebuilt=False)
        rate_ceiling = n / raw(rows, folder, prebuilt=True)
        rate_ours = n / ours(rows, folder, batch_rows=10_000)
        rate_ours_1k = n / ours(rows, Path(tempfile.mkdtemp(dir=folder)), batch_rows=1000)
        rate_sqlite = sqlite_n / sqlite_way(rows[:sqlite_n], folder)
    print(f"episodes: {n:,} (SQLite slice: {sqlite_n:,})")
    print(f"  raw DuckDB Arrow insert, rows → Arrow → insert {rate_raw:>12,.0f} episodes/s")
    print(f"  (insert alone of a prebuilt Arrow table         {rate_ceiling:>12,.0f} episodes/s)")
    print(f"  ours, 10,000-row batches (default)              {rate_ours:>12,.0f} episodes/s")
    print(f"  ours, 1,000-row batches                         {rate_ours_1k:>12,.0f} episodes/s")
    print(f"  predecessor (SQLite autocommit)                 {rate_sqlite:>12,.0f} episodes/s")
    print(f"  ours / SQLite way: {rate_ours / rate_sqlite:8.1f}x   (target >= 50x)")
    print(f"  ours / raw insert: {rate_ours / rate_raw:8.2f}x   (target >= 0.5x)")
