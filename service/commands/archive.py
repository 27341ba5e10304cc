"""``being archive``: move old episodes to the Parquet archive now, through the service or on the file.

The service runs archival on its own schedule (``[memory] upkeep_interval_s``); this runs it
at once. While ``being run`` holds the database it asks it (``POST /archive``), so the run
happens on its writer thread; otherwise it opens the file itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from service.commands._common import EXIT_FAILED, EXIT_OK, add_config_option, load_or_exit
from service.commands._service_client import ask_service
from service.errors import NoDatabaseError
from service.settings import Settings
from sinks import SinkError, archive_episodes, open_database

__all__ = ["archive_now", "register"]


def archive_now(settings: Settings, older_than_days: float | None = None) -> tuple[str, dict[str, Any]]:
    """Archive through the service when it runs, else on the file; returns (where, result).

    Raises:
        ServiceAnswerError: the service answered with an error.
        NoDatabaseError: no service runs and the database does not exist yet.
        SinkError: the file could not be archived.
    """
    params = {} if older_than_days is None else {"older_than_days": str(older_than_days)}
    body = ask_service(settings, "POST", "/archive", params, timeout_s=600.0)
    if body is not None:
        return "service", body
    path = Path(settings.storage.database_path)
    if not path.exists():
        raise NoDatabaseError(path)
    days = settings.memory.archive_after_days if older_than_days is None else older_than_days
    storage = settings.storage
    con = open_database(path, threads=storage.duckdb_threads, memory_limit_mb=storage.duckdb_memory_limit_mb)
    try:
        result = archive_episodes(con, Path(settings.memory.archive_dir), older_than_days=days)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return "file", {
        "archived": result.archived,
        "reconciled": result.reconciled,
        "files": [str(p) for p in result.files],
    }


def _days(text: str) -> float:
    value = float(text)
    if not 1 <= value <= 36_500:
        raise argparse.ArgumentTypeError(f"expected 1 to 36500 days, got {text}")
    return value


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    try:
        where, body = archive_now(settings, args.older_than_days)
    except (ValueError, SinkError) as exc:
        print(f"being archive: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"source": where, **body}))
    else:
        print(
            f"archived {body['archived']} episodes into {len(body['files'])} file(s)"
            + (f"; {body['reconciled']} found already archived" if body["reconciled"] else "")
            + f" ({where})"
        )
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("archive", help="move old episodes to the Parquet archive now")
    add_config_option(parser)
    parser.add_argument(
        "--older-than-days", type=_days, default=None, help="archive episodes older than this (default: the setting)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=handle)
