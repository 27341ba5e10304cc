"""The service's own jobs on the writer thread: load the vector index, archive on request, back up.

Each takes the connection the writer thread owns (pass it to :meth:`sinks.DuckWriter.submit`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from agent import remember_missing
from service._assembly import remember_policy
from service._backup import make_backup
from service.metrics import StorageMetrics
from service.settings import Settings
from sinks import ArchiveResult, VectorIndex, archive_episodes, load_index

__all__ = ["archive_on_request", "backup_job", "load_vectors"]

log = logging.getLogger("runtime")


def load_vectors(con: duckdb.DuckDBPyConnection, settings: Settings, index: VectorIndex, now: datetime) -> VectorIndex:
    """Load the vector index, then embed what a crash left without a vector."""
    loaded = load_index(con, index, release_cache_mb=settings.storage.duckdb_memory_limit_mb)
    remember = remember_policy(settings)
    if remember is not None:
        embedded = remember_missing(con, remember, index=loaded, now=now)
        if embedded:
            log.info("vectors.reconciled", extra={"embedded": embedded})
    return loaded


def backup_job(con: duckdb.DuckDBPyConnection, settings: Settings, out: Path) -> dict[str, Any]:
    """A consistent copy of the database and the archive into ``out`` (``POST /backup``)."""
    database, archive = Path(settings.storage.database_path), Path(settings.memory.archive_dir)
    return make_backup(con, database=database, archive_dir=archive, out=out)


def archive_on_request(
    con: duckdb.DuckDBPyConnection, settings: Settings, storage: StorageMetrics, days: float | None
) -> ArchiveResult:
    """Archive episodes older than ``days`` (``None``: the configured days), counted as a requested run."""
    memory = settings.memory
    older_than = memory.archive_after_days if days is None else days
    try:
        result = archive_episodes(con, Path(memory.archive_dir), older_than_days=older_than)
    except Exception:
        storage.archive_run("request", None)
        raise
    storage.archive_run("request", result.archived)
    return result
