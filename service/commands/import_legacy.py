"""``being import-legacy``: bring the predecessor's SQLite memory into the DuckDB file.

Reads ``episodes.db`` (episodes, errors, principles) and ``vector_memory.db`` (vectors),
reports per table what was imported, what was already there, and each refused row with
the reason. Running it twice adds nothing. It writes the database file, so stop the service
first. Exit code 0 when everything was imported, 1 when something was refused or unreadable
(the rest is imported all the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.commands._common import EXIT_FAILED, EXIT_OK, add_config_option, load_or_exit
from service.errors import UsageError
from sinks import DatabaseBusyError, SinkError, import_legacy, open_database

__all__ = ["register"]


def handle(args: argparse.Namespace) -> int:
    """Import, and report per table.

    Raises:
        UsageError: neither --episodes nor --vectors, or an unknown time zone.
    """
    settings = load_or_exit(args)
    if args.episodes is None and args.vectors is None:
        raise UsageError("give --episodes PATH, --vectors PATH, or both")
    legacy = settings.memory.legacy
    zone_name = args.time_zone or legacy.time_zone
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {zone_name!r} (expected e.g. UTC, Europe/Moscow)") from None
    storage = settings.storage
    try:
        con = open_database(
            storage.database_path, threads=storage.duckdb_threads, memory_limit_mb=storage.duckdb_memory_limit_mb
        )
    except DatabaseBusyError as exc:
        print(f"being import-legacy: {exc}; stop the service first", file=sys.stderr)
        return EXIT_FAILED
    except SinkError as exc:
        print(f"being import-legacy: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        report = import_legacy(
            con,
            episodes_path=args.episodes,
            vectors_path=args.vectors,
            zone=zone,
            embedder=legacy.embedder,
            dim=legacy.dim,
        )
        con.execute("CHECKPOINT")
    except SinkError as exc:
        print(f"being import-legacy: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        con.close()
    print(f"legacy times read in {zone_name}; vectors stored as {legacy.embedder}")
    for line in report.lines():
        print(line)
    return EXIT_OK if report.ok else EXIT_FAILED


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("import-legacy", help="import the predecessor's SQLite memory (idempotent)")
    add_config_option(parser)
    parser.add_argument("--episodes", type=Path, metavar="PATH", help="the predecessor's episodes.db")
    parser.add_argument("--vectors", type=Path, metavar="PATH", help="the predecessor's vector_memory.db")
    parser.add_argument(
        "--time-zone", metavar="ZONE", help="zone of the legacy local times (default: [memory.legacy] time_zone)"
    )
    parser.set_defaults(handler=handle)
