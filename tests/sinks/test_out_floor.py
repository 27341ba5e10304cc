"""The out sink's floor (sinks/_out_floor.py): the tail after it is what the full anti-join finds, whatever happens.

Each test checks the floor's read against :func:`pending_messages` (every episode against
``out_published``, the truth) on a real DuckDB file: after passes recorded whole or in part,
episodes of other types, archived (deleted) episodes, and a checkpoint that compacts the table
and moves every later row.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest

from sinks import EpisodeRow, open_database, write_rows
from sinks._jetstream_out_rows import pending_after, pending_messages, record_published, start_cursor
from sinks._out_floor import Floor, advanced
from tests.sinks.jetstream_support import reply, said, seen


def _pass(
    con: duckdb.DuckDBPyConnection, floor: Floor | None, *, episodes: bool, limit: int, fail: set[str] | None = None
) -> tuple[Floor, list[str], bool]:
    """One pass as the sink makes it: read after the floor, record what is not in ``fail``, move the floor."""
    expected = [m.episode_id for m in pending_messages(con, publish_episodes=episodes, limit=limit)]
    messages, tail = pending_after(con, floor, publish_episodes=episodes, limit=limit)
    assert [m.episode_id for m in messages] == expected  # the tail is what the whole table says
    done = [m.episode_id not in (fail or set()) for m in messages]
    record_published(con, [(m.episode_id, "published", None) for m, d in zip(messages, done, strict=True) if d])
    return advanced(tail, done, limit=limit), expected, tail.derived


def test_the_floor_follows_each_pass_and_the_next_read_starts_after_it(tmp_path: Path) -> None:
    con = open_database(tmp_path / "db.duckdb")
    start_cursor(con, "BEING_X_OUT", False)
    write_rows(con, [reply(1), said(2), seen(3), reply(4)])
    floor, found, derived = _pass(con, None, episodes=False, limit=10)
    assert found == ["r1", "b2", "r4"] and derived  # the first read derives the floor from out_published
    assert floor.episode_id == "r4" and floor.recorded == {}
    write_rows(con, [seen(5), seen(6)])
    floor, found, derived = _pass(con, floor, episodes=False, limit=10)
    assert found == [] and not derived
    assert floor.episode_id == "w6"  # nothing to publish up to the last row: the floor goes past the others
    write_rows(con, [reply(7)])
    _, found, derived = _pass(con, floor, episodes=False, limit=10)
    assert found == ["r7"] and not derived


def test_a_message_left_unrecorded_holds_the_floor_and_the_later_ones_recorded_are_not_read_again(
    tmp_path: Path,
) -> None:
    con = open_database(tmp_path / "db.duckdb")
    start_cursor(con, "BEING_X_OUT", True)
    write_rows(con, [reply(n) for n in range(1, 6)])
    floor, found, _ = _pass(con, None, episodes=True, limit=10, fail={"r3"})
    assert found == ["r1", "r2", "r3", "r4", "r5"]
    assert floor.episode_id == "r2" and set(floor.recorded) == {"r4", "r5"}
    floor, found, derived = _pass(con, floor, episodes=True, limit=10)
    assert found == ["r3"] and not derived
    assert floor.episode_id == "r5" and floor.recorded == {}
    floor, found, _ = _pass(con, floor, episodes=True, limit=2)
    assert found == [] and floor.episode_id == "r5"


def test_a_full_pass_moves_the_floor_to_its_last_row_only(tmp_path: Path) -> None:
    con = open_database(tmp_path / "db.duckdb")
    start_cursor(con, "BEING_X_OUT", True)
    write_rows(con, [reply(n) for n in range(1, 6)])
    floor, found, _ = _pass(con, None, episodes=True, limit=2)
    assert found == ["r1", "r2"] and floor.episode_id == "r2"
    floor, found, _ = _pass(con, floor, episodes=True, limit=2)
    assert found == ["r3", "r4"] and floor.episode_id == "r4"


def _archive(con: duckdb.DuckDBPyConnection, ids: list[str]) -> None:
    con.execute("DELETE FROM episodes WHERE id IN (SELECT unnest(?::VARCHAR[]))", [ids])
    con.execute("CHECKPOINT")


def test_a_table_compacted_after_an_archive_moves_the_rows_and_the_floor_is_derived_again(tmp_path: Path) -> None:
    con = open_database(tmp_path / "db.duckdb")
    start_cursor(con, "BEING_X_OUT", False)
    con.execute(  # three row groups of old observations, on disk, as a long-running database holds them
        "INSERT INTO episodes SELECT 'w' || i, TIMESTAMPTZ '2026-01-01' + i * INTERVAL 1 SECOND,"
        " 'world.file_changed', 'seen', 'observed', '{}' FROM range(300000) r(i)"
    )
    write_rows(con, [reply(300_001)])
    con.execute("CHECKPOINT")
    floor, found, _ = _pass(con, None, episodes=False, limit=10)
    assert found == ["r300001"] and floor.episode_id == "r300001"
    before = floor.rowid
    con.execute("DELETE FROM episodes WHERE type = 'world.file_changed' AND id < 'w2'")  # the archive took most
    con.execute("CHECKPOINT")
    moved = con.execute("SELECT rowid FROM episodes WHERE id = 'r300001'").fetchone()
    if moved is None or moved[0] == before:
        pytest.fail(f"the checkpoint did not compact the table (rowid {before}): this test no longer shows a move")
    assert moved[0] < before  # every later row moved down: a floor by rowid alone would skip what comes next
    write_rows(con, [reply(300_002), reply(300_003)])
    floor, found, derived = _pass(con, floor, episodes=False, limit=10)
    assert found == ["r300002", "r300003"] and derived
    _, found, derived = _pass(con, floor, episodes=False, limit=10)
    assert found == [] and not derived


def test_the_floor_row_archived_itself_is_noticed(tmp_path: Path) -> None:
    con = open_database(tmp_path / "db.duckdb")
    start_cursor(con, "BEING_X_OUT", True)
    write_rows(con, [reply(1), reply(2)])
    floor, _, _ = _pass(con, None, episodes=True, limit=10)
    con.execute("DELETE FROM episodes WHERE id = 'r2'")
    write_rows(con, [reply(3)])
    _, found, derived = _pass(con, floor, episodes=True, limit=10)
    assert found == ["r3"] and derived


@pytest.mark.parametrize("seed", range(6))
def test_any_run_of_commits_failures_and_archives_reads_what_the_whole_table_says(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    con = open_database(tmp_path / "db.duckdb")
    episodes = bool(seed % 2)
    start_cursor(con, "BEING_X_OUT", episodes)
    floor: Floor | None = None
    n = 0
    for _ in range(60):
        batch: list[EpisodeRow] = []
        for _ in range(rng.randint(0, 6)):
            n += 1
            batch.append(rng.choice([reply, said, seen])(n))
        if batch:
            write_rows(con, batch)
        if rng.random() < 0.15:  # the archive takes some old episodes
            stored = [r[0] for r in con.execute("SELECT id FROM episodes ORDER BY rowid").fetchall()]
            _archive(con, stored[: rng.randint(0, len(stored) // 2)])
        pending = [m.episode_id for m in pending_messages(con, publish_episodes=episodes, limit=1000)]
        fail = {e for e in pending if rng.random() < 0.2}
        floor, _, _ = _pass(con, floor, episodes=episodes, limit=rng.choice([1, 3, 64]), fail=fail)
    while True:  # with nothing failing any more, everything ends recorded
        floor, found, _ = _pass(con, floor, episodes=episodes, limit=64)
        if not found:
            break
    assert pending_messages(con, publish_episodes=episodes, limit=1000) == []
