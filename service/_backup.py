"""Backups of the database and its archive, made by the writer thread while the service runs; restores.

A backup is a folder: ``being.duckdb`` (the database file), ``archive/`` (the Parquet archive,
when there is one) and ``backup.json`` (what it holds: each table's row count and fingerprint,
the file's SHA-256, the versions).

Why a checkpointed copy on the writer thread, not ``EXPORT DATABASE``: the writer thread is the
only writer, so while it runs the backup job nothing else writes; a ``CHECKPOINT`` first moves
every committed row from the WAL into the main file, so that file alone is the whole database,
and a byte copy of it is consistent and complete. The copy is the very file the service opens
(same schema version, same indexes, same vectors), restored by putting it back, where an export
would be re-imported into a new database through SQL, table by table. The cost: the writer
is busy for as long as the copy takes (the pipeline queues its batches meanwhile: admission
never blocks the event loop); ``being_sink_flush_seconds{job="backup"}`` shows it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from service._version import VERSION
from service.errors import ServiceError, UsageError
from sinks import open_database, schema_version

__all__ = ["make_backup", "restore_backup", "table_sums", "verify_backup"]

MANIFEST = "backup.json"
DATABASE_FILE = "being.duckdb"
ARCHIVE_DIR = "archive"
_CHUNK = 1024 * 1024


def table_sums(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Every table's row count and a fingerprint of its rows (a sum of row hashes: order does not matter)."""
    tables = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name"
    ).fetchall()
    sums: dict[str, dict[str, Any]] = {}
    for (name,) in tables:
        quoted = '"' + str(name).replace('"', '""') + '"'
        rows, fingerprint = con.execute(
            f"SELECT count(*), coalesce(sum(hash(t)), 0)::VARCHAR FROM {quoted} AS t"  # the names come from the catalog
        ).fetchone() or (0, "0")
        sums[str(name)] = {"rows": int(rows), "fingerprint": str(fingerprint)}
    return sums


def _copy(source: Path, target: Path) -> str:
    """Copy ``source`` to a new ``target`` and flush it to disk; returns its SHA-256."""
    digest = hashlib.sha256()
    with source.open("rb") as src, target.open("xb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _private(folder: Path) -> None:
    """Make every file under ``folder`` readable by its owner only (the umask may have let others read)."""
    for path in folder.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    folder.chmod(0o700)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_backup(
    con: duckdb.DuckDBPyConnection,
    *,
    database: Path,
    archive_dir: Path,
    out: Path,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Checkpoint, then copy the database (and the archive) into the new folder ``out``; run on the writer thread.

    The folder is written as ``OUT.partial`` and renamed when whole, so ``out`` either does not
    exist or holds a whole backup; it and its files are readable by the service's user only.

    Returns:
        The manifest (also written to ``out/backup.json``), with ``seconds`` the job took.

    Raises:
        UsageError: ``out`` is not absolute, exists, or is inside the archive folder.
        ServiceError: a file could not be read or written.
        duckdb.Error: the checkpoint failed.
    """
    if not out.is_absolute():
        raise UsageError(f"the backup folder must be an absolute path, got {str(out)!r}")
    if out.exists():
        raise UsageError(f"{out} exists; give a new folder")
    if out.is_relative_to(archive_dir.absolute()):
        raise UsageError(f"{out} is inside the archive folder {archive_dir}, which the backup copies; give another")
    started = clock()
    partial = out.with_name(out.name + ".partial")
    try:
        if partial.exists():
            shutil.rmtree(partial)  # what a backup cut off half-way left
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.mkdir(mode=0o700)  # every memory is in it: readable by the service's user only
        con.execute("CHECKPOINT")
        sums = table_sums(con)
        digest = _copy(database, partial / DATABASE_FILE)
        archive_files = 0
        if archive_dir.is_dir():
            shutil.copytree(archive_dir, partial / ARCHIVE_DIR)
            archive_files = sum(1 for p in (partial / ARCHIVE_DIR).rglob("*") if p.is_file())
        manifest: dict[str, Any] = {
            "made_at": datetime.now(UTC).isoformat(),
            "service_version": VERSION,
            "duckdb_version": duckdb.__version__,
            "schema_version": schema_version(con),
            "database": str(database),
            "database_bytes": (partial / DATABASE_FILE).stat().st_size,
            "sha256": digest,
            "archive_files": archive_files,
            "tables": sums,
        }
        manifest["seconds"] = round(clock() - started, 6)
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _private(partial)
        _sync_folder(partial)
        partial.rename(out)
        _sync_folder(out.parent)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ServiceError(f"backup into {out} failed: {exc}") from exc
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def verify_backup(folder: Path) -> dict[str, Any]:
    """Read a backup's manifest and check the database file against it (checksum, then every table's sums).

    Raises:
        ServiceError: the folder is not a whole backup, or its database differs from its manifest.
    """
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ServiceError(f"{folder} is not a backup made by `being backup`: {MANIFEST}: {exc}") from exc
    copy = folder / DATABASE_FILE
    if not copy.is_file():
        raise ServiceError(f"{folder}: {DATABASE_FILE} is missing")
    if _sha256(copy) != manifest.get("sha256"):
        raise ServiceError(f"{copy}: its SHA-256 differs from the manifest's (the file was changed or truncated)")
    con = duckdb.connect(str(copy), read_only=True)
    try:
        found = table_sums(con)
    finally:
        con.close()
    if found != manifest.get("tables"):
        raise ServiceError(f"{copy}: its tables differ from the manifest's")
    return manifest


def _aside(path: Path, stamp: str) -> Path:
    return path.with_name(f"{path.name}.before-restore-{stamp}")


def restore_backup(folder: Path, *, database: Path, archive_dir: Path, replace: bool = False) -> dict[str, Any]:
    """Put a verified backup in place of the (stopped) service's database and archive.

    What was there is kept aside, renamed ``NAME.before-restore-STAMP`` (its WAL with it, so it
    is never replayed onto the restored file). The restored file is checked again in place.

    Returns:
        The backup's manifest, with ``kept_aside`` (the paths moved aside).

    Raises:
        ServiceError: the backup does not verify, or the restored file differs from it.
        UsageError: a database or archive is there and ``replace`` is false.
        DatabaseBusyError: the service (or another process) holds the database.
    """
    manifest = verify_backup(folder)
    wal = database.with_name(database.name + ".wal")
    has_archive = archive_dir.is_dir() and any(archive_dir.iterdir())
    if (database.exists() or wal.exists() or has_archive) and not replace:
        raise UsageError(f"{database} (or its archive {archive_dir}) exists; --replace keeps it aside")
    if database.exists():
        open_database(database, read_only=True).close()  # refused while a service holds it
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    database.parent.mkdir(parents=True, exist_ok=True)
    staged = database.with_name(database.name + ".restoring")
    staged.unlink(missing_ok=True)
    kept: list[str] = []
    try:
        _copy(folder / DATABASE_FILE, staged)
        for path in (database, wal):
            if path.exists():
                path.rename(_aside(path, stamp))
                kept.append(str(_aside(path, stamp)))
        staged.rename(database)
        if has_archive:
            archive_dir.rename(_aside(archive_dir, stamp))
            kept.append(str(_aside(archive_dir, stamp)))
        if (folder / ARCHIVE_DIR).is_dir():
            shutil.copytree(folder / ARCHIVE_DIR, archive_dir)
        _sync_folder(database.parent)
    except OSError as exc:
        raise ServiceError(f"restore of {folder} into {database} failed: {exc}") from exc
    con = duckdb.connect(str(database), read_only=True)
    try:
        if table_sums(con) != manifest["tables"]:
            raise ServiceError(f"{database}: the restored tables differ from the backup's")
    finally:
        con.close()
    return {**manifest, "kept_aside": kept}
