"""Archival: episodes older than a cutoff move to Parquet files, one folder per month of the episode.

Layout: ``<archive_dir>/episodes/year=YYYY/month=MM/part-<stamp>.parquet`` (Hive-style, so any
Parquet reader can prune by month). For each month, in this order:

1. leftover ``*.parquet.tmp`` files (a write cut off before its rename) are removed;
2. episodes already present in that month's Parquet files (a run cut off between its rename
   and its delete) are deleted from the table — they are safe in the archive;
3. the rest of the month's old episodes are written to a ``.tmp`` file, the file's row count
   is checked against the table, the file is flushed to disk and renamed to ``.parquet``;
4. the same episodes are deleted from the table in one transaction, which is rolled back
   unless it deletes exactly the rows the file holds.

So a crash at any point leaves each episode in the table, in the archive, or (between 3 and
4) in both — never in neither — and the next run finishes the job. Times are partitioned by
their UTC month. Run it on the writer thread (it writes) or on a file no one else holds.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from sinks._clock import utc_now
from sinks._sql import scalar, translated
from sinks.errors import ArchiveError

__all__ = ["ArchiveResult", "archive_episodes", "archive_files", "month_folder"]

Hook = Callable[[str, Path], None]


def _no_hook(stage: str, path: Path) -> None:
    """The default step hook: nothing (tests pass one that fails at a chosen step)."""


@dataclass(frozen=True, slots=True)
class ArchiveResult:
    """What a run did.

    Attributes:
        archived: episodes written to new Parquet files and deleted from the table.
        reconciled: episodes found already archived (by a run cut off before its delete) and
            deleted from the table.
        files: the Parquet files written.
    """

    archived: int
    reconciled: int
    files: tuple[Path, ...]


def month_folder(archive_dir: Path, year: int, month: int) -> Path:
    """The folder of one month's episodes."""
    return archive_dir / "episodes" / f"year={year:04d}" / f"month={month:02d}"


def archive_files(archive_dir: Path) -> list[Path]:
    """Every finished Parquet file of the episode archive, oldest month first."""
    root = archive_dir / "episodes"
    if not root.is_dir():
        return []
    return sorted(root.glob("year=*/month=*/*.parquet"))


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _delete_archived(
    con: duckdb.DuckDBPyConnection, files: list[Path], lo: datetime, hi: datetime, expected: int | None
) -> int:
    """Delete, in one transaction, the episodes in [lo, hi) whose id is in ``files``."""
    con.execute("BEGIN TRANSACTION")
    try:
        deleted = int(
            scalar(
                con,
                "WITH gone AS (DELETE FROM episodes WHERE time >= ? AND time < ? AND id IN "
                f"(SELECT id FROM read_parquet({_sql_list(files)})) RETURNING 1) SELECT count(*) FROM gone",
                [lo, hi],
            )
        )
        if expected is not None and deleted != expected:
            raise ArchiveError(f"{files[0]}: the file holds {expected} episodes but {deleted} matched the table")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return deleted


def _archive_month(
    con: duckdb.DuckDBPyConnection, folder: Path, lo: datetime, hi: datetime, stamp: str, hook: Hook
) -> tuple[int, int, Path | None]:
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.parquet.tmp"):
        leftover.unlink()
    existing = sorted(folder.glob("*.parquet"))
    reconciled = _delete_archived(con, existing, lo, hi, None) if existing else 0
    count = int(scalar(con, "SELECT count(*) FROM episodes WHERE time >= ? AND time < ?", [lo, hi]))
    if count == 0:
        return 0, reconciled, None
    final = folder / f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = final.with_name(final.name + ".tmp")
    literal = str(tmp).replace("'", "''")
    try:
        con.execute(
            "COPY (SELECT id, time, type, description, outcome, data FROM episodes "
            f"WHERE time >= ? AND time < ? ORDER BY time, id) TO '{literal}' (FORMAT parquet, COMPRESSION zstd)",
            [lo, hi],
        )
    except duckdb.Error as exc:
        raise ArchiveError(f"cannot write {tmp}: {exc}") from exc
    hook("written", tmp)
    written = int(scalar(con, f"SELECT count(*) FROM read_parquet('{literal}')"))
    if written != count:
        tmp.unlink()
        raise ArchiveError(f"{tmp}: wrote {written} episodes, expected {count}; nothing deleted")
    _fsync(tmp)
    tmp.rename(final)
    _fsync(folder)
    hook("verified", final)
    deleted = _delete_archived(con, [final], lo, hi, count)
    hook("deleted", final)
    return deleted, reconciled, final


@translated("archival")
def archive_episodes(
    con: duckdb.DuckDBPyConnection,
    archive_dir: Path,
    *,
    older_than_days: float = 90,
    clock: Callable[[], datetime] = utc_now,
    hook: Hook = _no_hook,
) -> ArchiveResult:
    """Move episodes older than ``older_than_days`` to the Parquet archive (see the module docstring).

    Args:
        hook: called after each step as ``hook(stage, path)`` with stage ``written`` (the ``.tmp``
            file), ``verified`` (renamed) or ``deleted``; a hook that raises stops the run there,
            which is how tests cut a run short.

    Raises:
        ArchiveError: a file could not be written or did not hold what was selected.
    """
    if older_than_days <= 0:
        raise ValueError(f"older_than_days: expected > 0, got {older_than_days}")
    now = clock()
    cutoff = now - timedelta(days=older_than_days)
    months = con.execute(
        "SELECT DISTINCT year(time AT TIME ZONE 'UTC'), month(time AT TIME ZONE 'UTC') FROM episodes "
        "WHERE time < ? ORDER BY 1, 2",
        [cutoff],
    ).fetchall()
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    archived = reconciled = 0
    files: list[Path] = []
    for year, month in months:
        lo, end = _month_bounds(int(year), int(month))
        hi = min(end, cutoff)
        moved, found, path = _archive_month(con, month_folder(archive_dir, int(year), int(month)), lo, hi, stamp, hook)
        archived += moved
        reconciled += found
        if path is not None:
            files.append(path)
    return ArchiveResult(archived=archived, reconciled=reconciled, files=tuple(files))
