"""``being backup OUT``: a consistent copy of the database and its archive, made while the service runs.

While ``being run`` holds the database it asks it (``POST /backup``), so the copy is made by
its writer thread after a checkpoint (see ``service/_backup.py`` for why a copy and not an
export); otherwise it opens the file itself and does the same.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from service._backup import make_backup
from service.commands._common import EXIT_OK, add_config_option, load_or_exit
from service.commands._service_client import ask_service
from service.errors import NoDatabaseError, UsageError
from service.settings import Settings
from sinks import open_database

__all__ = ["backup_now", "register"]


def backup_now(settings: Settings, out: Path) -> tuple[str, dict[str, Any]]:
    """Back up through the service when it runs, else from the file; returns (where, manifest).

    Raises:
        UsageError: ``out`` exists.
        ServiceAnswerError: the service answered with an error.
        NoDatabaseError: no service runs and the database does not exist yet.
        ServiceError: the copy failed.
    """
    out = out.absolute()
    if out.exists():
        raise UsageError(f"{out} exists; give a new folder")
    body = ask_service(settings, "POST", "/backup", {"path": str(out)}, timeout_s=3600.0)
    if body is not None:
        return "service", body
    database = Path(settings.storage.database_path)
    if not database.exists():
        raise NoDatabaseError(database)
    storage = settings.storage
    con = open_database(database, threads=storage.duckdb_threads, memory_limit_mb=storage.duckdb_memory_limit_mb)
    try:
        manifest = make_backup(con, database=database, archive_dir=Path(settings.memory.archive_dir), out=out)
    finally:
        con.close()
    return "file", {**manifest, "path": str(out)}


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    where, body = backup_now(settings, Path(args.out))
    if args.json:
        print(json.dumps({"source": where, **body}))
    else:
        rows = sum(t["rows"] for t in body["tables"].values())
        print(
            f"backed up {len(body['tables'])} tables ({rows} rows, {body['database_bytes']} bytes) and "
            f"{body['archive_files']} archive file(s) into {body['path']} in {body['seconds']:.2f} s ({where})"
        )
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("backup", help="copy the database and its archive into a new folder, consistently")
    add_config_option(parser)
    parser.add_argument("out", metavar="OUT", help="the folder to create (must not exist)")
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.set_defaults(handler=handle)
