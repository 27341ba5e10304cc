"""The out sink's floor: a row at or below which every episode is resolved, so a flush reads only the tail.

Without it, finding the episodes to publish is an anti-join of every episode against
``out_published``: its cost grows with the history (tens of milliseconds at 100,000 episodes, once
per committed batch). With it, a pass reads the episodes after the floor (``rowid > floor``, which
DuckDB prunes to the last row groups) and leaves out the few after the floor that are recorded
already (``recorded``: published out of commit order after a partial failure).

The floor lives in memory only; ``out_published`` stays the truth, so a kill costs nothing: the
next start derives the floor again from that table (one anti-join). A ``rowid`` is a position,
not an identity: once episodes are deleted (archived) a checkpoint may compact the table and move
every later row down, in the same order. So the floor keeps its episode's id too, and each read
first checks that the row at the floor's ``rowid`` still holds that id; when it does not (moved,
or archived itself), the floor is derived again. A row that kept its place keeps every later row
after it, because compaction keeps the order.

Reads run as writer jobs (on the writer thread); the floor itself is a frozen value the sink keeps
on the event loop and replaces after each pass (:func:`advanced`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

__all__ = ["Floor", "Tail", "advanced", "read_tail"]


@dataclass(frozen=True, slots=True)
class Floor:
    """Every episode at or below ``rowid`` is recorded or not to be published; ``recorded``: ids above it recorded.

    ``rowid = -1`` (``episode_id`` ``None``): below the first row.
    """

    rowid: int
    episode_id: str | None
    recorded: Mapping[str, int] = field(default_factory=dict)  # episode id → its rowid


@dataclass(frozen=True, slots=True)
class Tail:
    """What one read found: the oldest unrecorded episodes after the floor, their rowids, the last row.

    Attributes:
        floor: the floor the read used (derived again when the one given no longer held).
        rows: ``(rowid, id, time, type, outcome, description, data)`` in commit order, at most the limit.
        last: ``(rowid, id)`` of the table's last row when ``rows`` is every pending episode (fewer
            than the limit), else ``None``: a pass that records all of ``rows`` may move the floor there.
        derived: whether the floor had to be derived (at start, or after the table was compacted).
    """

    floor: Floor
    rows: list[tuple[Any, ...]]
    last: tuple[int, str] | None
    derived: bool


_COLUMNS = "e.rowid, e.id, e.time, e.type, e.outcome, e.description, e.data::VARCHAR"


def _holds(con: duckdb.DuckDBPyConnection, floor: Floor) -> bool:
    if floor.rowid < 0:
        return True
    # a range, not rowid = ?: DuckDB prunes row groups for the range (the equality read them all, measured)
    row = con.execute("SELECT id FROM episodes WHERE rowid BETWEEN ? AND ?", [floor.rowid, floor.rowid]).fetchone()
    return row is not None and row[0] == floor.episode_id


def _row_at_or_before(con: duckdb.DuckDBPyConnection, below: int | None) -> tuple[int, str] | None:
    if below is None:
        row = con.execute("SELECT rowid, id FROM episodes WHERE rowid = (SELECT max(rowid) FROM episodes)").fetchone()
    else:
        row = con.execute(
            "SELECT rowid, id FROM episodes WHERE rowid = (SELECT max(rowid) FROM episodes WHERE rowid < ?)", [below]
        ).fetchone()
    return (int(row[0]), str(row[1])) if row is not None else None


def _derive(con: duckdb.DuckDBPyConnection, where: str) -> Floor:
    """The floor from ``out_published``: the row before the oldest unresolved episode (one anti-join)."""
    row = con.execute(
        f"SELECT min(e.rowid) FROM episodes e WHERE {where}"
        "NOT EXISTS (SELECT 1 FROM out_published o WHERE o.episode_id = e.id)"
    ).fetchone()
    oldest = None if row is None or row[0] is None else int(row[0])
    at = _row_at_or_before(con, oldest)
    if at is None:
        return Floor(-1, None)
    recorded = con.execute(
        "SELECT e.id, e.rowid FROM episodes e WHERE e.rowid > ?"
        " AND EXISTS (SELECT 1 FROM out_published o WHERE o.episode_id = e.id)",
        [at[0]],
    ).fetchall()
    return Floor(at[0], at[1], {str(i): int(r) for i, r in recorded})


def read_tail(con: duckdb.DuckDBPyConnection, floor: Floor | None, *, where: str, limit: int) -> Tail:
    """The oldest ``limit`` unrecorded episodes after ``floor`` (derived first when ``None`` or no longer holding).

    Args:
        where: the type filter, as SQL ending in ``AND`` (``""``: every type).
    """
    derived = floor is None or not _holds(con, floor)
    if floor is None or derived:
        floor = _derive(con, where)
    skip = floor.recorded
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM episodes e WHERE {where}e.rowid > ? ORDER BY e.rowid LIMIT ?",
        [floor.rowid, limit + len(skip)],
    ).fetchall()
    pending = [r for r in rows if r[1] not in skip][:limit]
    last = None
    if len(pending) < limit:  # the last row, looked for after the floor only (max(rowid) reads the whole table)
        row = con.execute(
            "SELECT rowid, id FROM episodes WHERE rowid > ? ORDER BY rowid DESC LIMIT 1", [floor.rowid]
        ).fetchone()
        last = (int(row[0]), str(row[1])) if row is not None else None
    return Tail(floor, [tuple(r) for r in pending], last, derived)


def advanced(tail: Tail, recorded: Sequence[bool], *, limit: int) -> Floor:
    """The floor after a pass over ``tail.rows`` in which ``recorded[i]`` says whether row ``i`` is recorded now.

    It moves up to the row before the first one left unrecorded; when every row is recorded and the
    read found every pending episode, up to the table's last row (what lies between is not to be
    published: of another type, or recorded already).
    """
    floor = tail.floor
    kept = dict(floor.recorded)
    top: tuple[int, str] | None = None
    for index, ((rowid, episode_id, *_), done) in enumerate(zip(tail.rows, recorded, strict=True)):
        if not done:
            kept.update({str(r[1]): int(r[0]) for r, d in zip(tail.rows[index:], recorded[index:], strict=True) if d})
            break
        top = (int(rowid), str(episode_id))
    else:
        if len(tail.rows) < limit and tail.last is not None:
            top = tail.last
    if top is None:
        return Floor(floor.rowid, floor.episode_id, kept)
    return Floor(top[0], top[1], {i: r for i, r in kept.items() if r > top[0]})
