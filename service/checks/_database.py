"""Checks of the database file: it opens read-only, no other process holds it, its schema and WAL, the clock.

They open the file read-only and only when it exists, so they create nothing: a database that
does not exist yet passes (``being run`` creates it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from service.checks._check import Check, CheckFailed, Probe, Severity
from sinks import MIGRATIONS, DatabaseBusyError, open_database, utc_now

__all__ = ["CLOCK_TOLERANCE_S", "DATABASE_CHECKS"]

CLOCK_TOLERANCE_S = 60.0
"""How far before the newest stored episode the clock may be (a small step back of NTP is not an error)."""

_KNOWN_VERSION = max(version for version, _ in MIGRATIONS)


@dataclass(frozen=True, slots=True)
class _Contents:
    """What a read-only look at the database found."""

    version: int
    tables: dict[str, int]
    newest: datetime | None


def _path(probe: Probe) -> Path:
    return Path(probe.settings.storage.database_path)


def _read(probe: Probe) -> _Contents | None:
    """Open the file read-only (replaying its WAL in memory) and read what the checks need; ``None``: no file."""
    path = _path(probe)
    if not path.exists():
        return None
    con = open_database(path, threads=1, memory_limit_mb=probe.settings.storage.duckdb_memory_limit_mb, read_only=True)
    try:
        names = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY table_name").fetchall()]
        tables: dict[str, int] = {}
        for name in names:
            try:
                row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            except duckdb.Error as exc:
                raise CheckFailed(f"{path}: table {name} cannot be read: {exc}") from exc
            tables[name] = int(row[0]) if row else 0
        version = 0
        if "schema_version" in tables:
            row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
            version = int(row[0]) if row else 0
        newest = None
        if "episodes" in tables:
            row = con.execute("SELECT max(time) FROM episodes").fetchone()
            newest = row[0] if row else None
        return _Contents(version=version, tables=tables, newest=newest)
    finally:
        con.close()


def _contents(probe: Probe) -> _Contents | None:
    found: _Contents | None = probe.once("database", lambda: _read(probe))
    return found


def _holder(exc: DatabaseBusyError) -> str:
    match = re.search(r"PID (\d+)", str(exc.__cause__ or ""))
    return f"process {match.group(1)}" if match else "another process"


def _database(probe: Probe) -> str:
    try:
        found = _contents(probe)
    except DatabaseBusyError as exc:
        raise CheckFailed(f"{_path(probe)} is held by {_holder(exc)}: not opened (see database lock)") from exc
    if found is None:
        return f"{_path(probe)} does not exist yet; `being run` creates it"
    if found.version > _KNOWN_VERSION:
        raise CheckFailed(
            f"{_path(probe)} has schema version {found.version}, newer than this version knows ({_KNOWN_VERSION}):"
            " run the version that wrote it"
        )
    rows = sum(found.tables.values())
    upgrade = f", upgraded to {_KNOWN_VERSION} at start" if found.version < _KNOWN_VERSION else ""
    return (
        f"{_path(probe)} opens, schema version {found.version}{upgrade}, {len(found.tables)} tables readable"
        f" ({rows} rows)"
    )


def _lock(probe: Probe) -> str:
    try:
        found = _contents(probe)
    except DatabaseBusyError as exc:
        raise CheckFailed(f"{_path(probe)} is held by {_holder(exc)} (is `being run` running?)") from exc
    if found is None:
        return f"{_path(probe)} does not exist yet: nothing holds it"
    return f"{_path(probe)} is held by no other process"


def _wal(probe: Probe) -> str:
    wal = Path(f"{_path(probe)}.wal")
    if not wal.exists():
        return f"no WAL at {wal}: the last stop checkpointed (or nothing was written)"
    size = wal.stat().st_size
    try:
        _contents(probe)
    except DatabaseBusyError:
        return f"{wal} ({size} bytes) belongs to the process holding the database"
    except Exception as exc:
        raise CheckFailed(f"{wal} ({size} bytes) cannot be replayed: {exc}") from exc
    return f"{wal} ({size} bytes) replays (its rows are kept at start)"


def _clock(probe: Probe) -> str:
    try:
        found = _contents(probe)
    except DatabaseBusyError:
        return f"not compared: {_path(probe)} is held by another process"
    now = utc_now()
    if found is None or found.newest is None:
        return f"now {now:%Y-%m-%dT%H:%M:%SZ}; no stored episode to compare with"
    behind = (found.newest - now).total_seconds()
    if behind > CLOCK_TOLERANCE_S:
        raise CheckFailed(
            f"the clock says {now:%Y-%m-%dT%H:%M:%SZ}, {behind:.0f} s before the newest stored episode "
            f"({found.newest:%Y-%m-%dT%H:%M:%SZ}): set the clock (NTP) before starting"
        )
    return f"now {now:%Y-%m-%dT%H:%M:%SZ}, after the newest stored episode ({found.newest:%Y-%m-%dT%H:%M:%SZ})"


DATABASE_CHECKS = (
    Check(name="database", severity=Severity.CRITICAL, run=_database),
    Check(name="database lock", severity=Severity.CRITICAL, run=_lock),
    Check(name="database wal", severity=Severity.CRITICAL, run=_wal),
    Check(name="clock", severity=Severity.CRITICAL, run=_clock),
)
