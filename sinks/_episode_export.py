"""Export: one instance's episodes (its table and its Parquet archive) to one Parquet file, for reading with others.

Each instance of a being has its own database; to query several together, each exports into
one shared folder, under its own Hive-style folder::

    <out_dir>/instance=<name>/episodes-<stamp>.parquet

and DuckDB reads them all at once, with the instance as a column::

    SELECT instance, type, count(*) FROM read_parquet('<out_dir>/*/episodes*.parquet', hive_partitioning = true)
    GROUP BY ALL

An episode in both the table and the archive (archival cut off between its rename and its delete)
is exported once. The file is written as ``.tmp``, its row count checked, synced, then renamed,
so a reader never sees half a file; an export of the same instance again adds a newer file
(delete the older, or read only the newest).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from sinks._archive import archive_files
from sinks._clock import utc_now
from sinks._sql import scalar
from sinks.errors import ArchiveError

__all__ = ["ExportResult", "export_episodes"]

_INSTANCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote: the file, its episodes, and how many came from the archive."""

    path: Path
    episodes: int
    archived: int


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_episodes(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    *,
    instance: str,
    archive_dir: Path | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> ExportResult:
    """Write every episode of this database (and of its archive) to ``out_dir/instance=<instance>/``.

    Raises:
        ValueError: ``instance`` is not 1-64 of letters, digits, ``_ . -`` (it names a folder).
        ArchiveError: the file could not be written or does not hold what was selected.
    """
    if not _INSTANCE.fullmatch(instance):
        raise ValueError(f"instance: expected 1-64 of letters, digits, _ . - (not first), got {instance!r}")
    archived = archive_files(archive_dir) if archive_dir is not None else []
    source = "SELECT id, time, type, description, outcome, data, 0 AS rank FROM episodes"
    if archived:
        files = "[" + ", ".join(_literal(p) for p in archived) + "]"
        source += f" UNION ALL SELECT id, time, type, description, outcome, data, 1 FROM read_parquet({files})"
    select = (
        f"SELECT id, time, type, description, outcome, data FROM ({source})"
        " QUALIFY row_number() OVER (PARTITION BY id ORDER BY rank) = 1 ORDER BY time, id"
    )
    folder = out_dir / f"instance={instance}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file (or a dangling link) where a folder must be, a folder not writable
        raise ArchiveError(f"cannot make the folder {folder}: {exc.strerror or exc}") from exc
    stamp = clock().astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    final = folder / f"episodes-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = final.with_name(final.name + ".tmp")
    try:
        expected = int(scalar(con, f"SELECT count(*) FROM ({select})"))
        in_archive = int(scalar(con, f"SELECT count(*) FROM ({select}) WHERE id NOT IN (SELECT id FROM episodes)"))
        con.execute(f"COPY ({select}) TO {_literal(tmp)} (FORMAT parquet, COMPRESSION zstd)")
        written = int(scalar(con, f"SELECT count(*) FROM read_parquet({_literal(tmp)})"))
    except duckdb.Error as exc:
        tmp.unlink(missing_ok=True)
        raise ArchiveError(f"cannot export to {tmp}: {exc}") from exc
    if written != expected:
        tmp.unlink()
        raise ArchiveError(f"{tmp}: wrote {written} episodes, expected {expected}")
    try:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.rename(final)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ArchiveError(f"cannot finish {final}: {exc.strerror or exc}") from exc
    return ExportResult(path=final, episodes=written, archived=in_archive)
