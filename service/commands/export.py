"""``being export --parquet DIR``: this instance's episodes as one Parquet file, to be read with other instances'.

Each instance of a being has its own database (see ``docs/scaling.md``). Every instance exports
into one shared folder, each under ``instance=<name>/``, and one DuckDB query reads them all::

    duckdb -c "SELECT instance, count(*) FROM read_parquet('DIR/*/episodes*.parquet', hive_partitioning = true)
               GROUP BY ALL"

It reads the database file, so it runs while the instance is stopped, or on a backup's copy
(``being backup OUT``, then ``being export --database OUT/being.duckdb``): DuckDB lets only one
process hold a file that is being written.
"""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path
from typing import Any

from service.commands._common import EXIT_OK, add_config_option, load_or_exit
from service.errors import NoDatabaseError, UsageError
from sinks import export_episodes, open_database

__all__ = ["register"]


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    database = Path(args.database) if args.database else Path(settings.storage.database_path)
    if not database.exists():
        raise NoDatabaseError(database)
    instance = args.instance or socket.gethostname().split(".")[0]
    storage = settings.storage
    con = open_database(
        database, threads=storage.duckdb_threads, memory_limit_mb=storage.duckdb_memory_limit_mb, read_only=True
    )
    try:
        archive = Path(settings.memory.archive_dir) if not args.database else database.parent / "archive"
        result = export_episodes(con, Path(args.parquet), instance=instance, archive_dir=archive)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        con.close()
    body = {"path": str(result.path), "episodes": result.episodes, "archived": result.archived, "instance": instance}
    if args.json:
        print(json.dumps(body))
    else:
        print(f"exported {result.episodes} episodes ({result.archived} from the archive) to {result.path}")
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("export", help="this instance's episodes as Parquet, to query with other instances'")
    add_config_option(parser)
    parser.add_argument("--parquet", required=True, metavar="DIR", help="the shared folder (instance=<name>/ inside)")
    parser.add_argument("--instance", default=None, help="this instance's name (default: the host name)")
    parser.add_argument(
        "--database", default=None, metavar="FILE", help="export this file (a backup's being.duckdb) instead"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=handle)
