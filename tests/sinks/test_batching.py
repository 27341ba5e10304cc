"""The batch sink: batching by count and by time, outcomes kept, flush before completion, no duplicates, counts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import reactivex
from prometheus_client import CollectorRegistry
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from service.metrics import PipelineMetrics
from sinks import BatchResult, DeadLetterRow, DuckWriter, EpisodeRow, Row, SinkError, open_database, write_batches
from tests.support import wait_until

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def episode(n: int, outcome: str = "success", may_exist: bool = False) -> EpisodeRow:
    return EpisodeRow(
        id=f"e{n}",
        time=NOW,
        type="user.message",
        description=f"message {n}",
        outcome=outcome,
        data={"n": n, "text": "Привет"},
        event_id=f"ev{n}",
        may_exist=may_exist,
    )


class Run:
    """Subscribe rows to the sink and collect what comes out."""

    def __init__(
        self,
        writer: DuckWriter,
        rows: reactivex.Observable[Row],
        max_rows: int,
        max_wait_s: float,
        scheduler: TestScheduler | None = None,
    ) -> None:
        self.results: list[BatchResult] = []
        self.errors: list[Exception] = []
        self.done = threading.Event()
        rows.pipe(write_batches(writer, max_rows=max_rows, max_wait_s=max_wait_s)).subscribe(
            on_next=self.results.append,
            on_error=self._error,
            on_completed=self.done.set,
            scheduler=scheduler,
        )

    def _error(self, exc: Exception) -> None:
        self.errors.append(exc)
        self.done.set()


@pytest.fixture
def writer(tmp_path: Path) -> DuckWriter:
    return DuckWriter(open_database(tmp_path / "db.duckdb"))


def count(writer: DuckWriter, sql: str) -> int:
    value = writer.call("count", lambda con: con.execute(sql).fetchone(), timeout_s=10)
    assert value is not None
    return int(value[0])


def test_batches_by_count_and_flushes_the_rest_before_completing(writer: DuckWriter) -> None:
    run = Run(writer, reactivex.from_iterable([episode(n) for n in range(1050)]), max_rows=100, max_wait_s=60.0)
    assert run.done.wait(10)
    assert run.errors == []
    assert [r.episodes for r in run.results] == [100] * 10 + [50]
    assert count(writer, "SELECT count(*) FROM episodes") == 1050
    assert set().union(*(r.event_ids for r in run.results)) == {f"ev{n}" for n in range(1050)}


def test_a_partial_batch_is_written_when_its_time_is_up(writer: DuckWriter) -> None:
    scheduler = TestScheduler()
    rows: Subject[Row] = Subject()
    run = Run(writer, rows, max_rows=100, max_wait_s=5.0, scheduler=scheduler)
    scheduler.advance_to(1.0)
    rows.on_next(episode(1))
    rows.on_next(episode(2))
    scheduler.advance_to(5.9)
    assert run.results == []
    scheduler.advance_to(6.0)  # five seconds after the first row
    wait_until(lambda: len(run.results) == 1, what="the timed batch")
    assert run.results[0].episodes == 2
    assert not run.done.is_set()


def test_outcomes_are_kept_exactly_as_given(writer: DuckWriter) -> None:
    outcomes = ["success", "failure", "fallback", "skipped", "unknown", "weird-but-kept"]
    run = Run(writer, reactivex.from_iterable([episode(n, o) for n, o in enumerate(outcomes)]), 100, 60.0)
    assert run.done.wait(10)
    stored = writer.call("read", lambda con: con.execute("SELECT outcome FROM episodes ORDER BY id").fetchall())
    assert [r[0] for r in stored] == outcomes


def test_data_round_trips_as_json(writer: DuckWriter) -> None:
    run = Run(writer, reactivex.from_iterable([episode(7)]), 100, 60.0)
    assert run.done.wait(10)
    stored = writer.call("read", lambda con: con.execute("SELECT data->>'text', data->>'n' FROM episodes").fetchall())
    assert stored == [("Привет", "7")]


def test_dead_letters_go_to_their_table_in_the_same_batch(writer: DuckWriter) -> None:
    letter = DeadLetterRow(id="d1", time=NOW, source="inbox", reason="undecodable: x", raw="\\xff", event_id="evd")
    run = Run(writer, reactivex.from_iterable([episode(1), letter]), 100, 60.0)
    assert run.done.wait(10)
    assert run.results[0].dead_letters == 1 and run.results[0].episodes == 1
    assert run.results[0].event_ids == {"ev1", "evd"}
    assert count(writer, "SELECT count(*) FROM dead_letters") == 1


def test_rows_that_may_exist_are_not_written_twice(writer: DuckWriter) -> None:
    first = Run(writer, reactivex.from_iterable([episode(n) for n in range(10)]), 100, 60.0)
    assert first.done.wait(10)
    again = [episode(n, may_exist=True) for n in range(5, 15)]
    second = Run(writer, reactivex.from_iterable(again), 100, 60.0)
    assert second.done.wait(10)
    assert count(writer, "SELECT count(*) FROM episodes") == 15
    assert count(writer, "SELECT count(DISTINCT id) FROM episodes") == 15
    assert second.results[0].event_ids == {f"ev{n}" for n in range(5, 15)}


def test_a_failed_write_errors_the_stream_and_keeps_nothing_of_the_batch(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    writer.call(
        "break",
        lambda con: con.execute(
            "DROP TABLE episodes; CREATE TABLE episodes (id VARCHAR, time TIMESTAMPTZ, type VARCHAR,"
            " description INTEGER, outcome VARCHAR, data JSON)"
        ),
    )
    run = Run(writer, reactivex.from_iterable([episode(1)]), 100, 60.0)
    assert run.done.wait(10)
    assert len(run.errors) == 1 and isinstance(run.errors[0], SinkError)
    assert isinstance(run.errors[0].__cause__, duckdb.Error)
    assert count(writer, "SELECT count(*) FROM episodes") == 0


def letter(n: int, may_exist: bool = False) -> DeadLetterRow:
    return DeadLetterRow(
        id=f"d{n}",
        time=NOW,
        source="inbox",
        reason="undecodable: x",
        raw="\\xff",
        event_id=f"evd{n}",
        may_exist=may_exist,
    )


def test_a_batch_says_how_many_rows_it_inserted_and_skipped_per_table(writer: DuckWriter) -> None:
    first = Run(writer, reactivex.from_iterable([*(episode(n) for n in range(10)), letter(1)]), 100, 60.0)
    assert first.done.wait(10)
    assert first.results[0].inserted == {"episodes": 10, "dead_letters": 1}
    assert first.results[0].skipped == {}
    again: list[Row] = [*(episode(n, may_exist=True) for n in range(5, 15)), letter(1, True), letter(2, True)]
    second = Run(writer, reactivex.from_iterable(again), 100, 60.0)
    assert second.done.wait(10)
    (result,) = second.results
    assert result.inserted == {"episodes": 5, "dead_letters": 1}
    assert result.skipped == {"episodes": 5, "dead_letters": 1}
    assert result.episodes == 5 and result.dead_letters == 1 and result.rows == 12
    assert result.episode_types == ("user.message",) * 5  # the inserted ones only
    assert result.dead_letter_sources == ("inbox",)
    # skipped rows are stored too: every event of the batch may be acknowledged
    assert result.event_ids == {f"ev{n}" for n in range(5, 15)} | {"evd1", "evd2"}
    assert count(writer, "SELECT count(*) FROM episodes") == 15
    assert count(writer, "SELECT count(*) FROM dead_letters") == 2


def test_a_batch_whose_rows_are_all_stored_inserts_nothing(writer: DuckWriter) -> None:
    first = Run(writer, reactivex.from_iterable([episode(n) for n in range(3)]), 100, 60.0)
    assert first.done.wait(10)
    second = Run(writer, reactivex.from_iterable([episode(n, may_exist=True) for n in range(3)]), 100, 60.0)
    assert second.done.wait(10)
    (result,) = second.results
    assert result.inserted == {"episodes": 0} and result.skipped == {"episodes": 3}
    assert result.episodes == 0 and result.episode_types == ()
    assert result.event_ids == {"ev0", "ev1", "ev2"}
    assert count(writer, "SELECT count(*) FROM episodes") == 3


def test_the_written_counters_count_inserted_rows_and_skips_apart(writer: DuckWriter) -> None:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    first = Run(writer, reactivex.from_iterable([episode(n) for n in range(100)]), 1000, 60.0)
    assert first.done.wait(10)
    # a recovery: 130 rows, 100 of them already stored
    second = Run(writer, reactivex.from_iterable([episode(n, may_exist=True) for n in range(130)]), 1000, 60.0)
    assert second.done.wait(10)
    for result in [*first.results, *second.results]:
        metrics.batch_committed(result)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("being_episodes_written_total", type="user.message") == 130
    assert value("being_rows_inserted_total", table="episodes") == 130
    assert value("being_rows_skipped_total", table="episodes") == 100
    assert value("being_sink_batch_rows_sum") == 230
