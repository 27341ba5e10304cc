"""``being dead-letters``: what could not be processed, newest first, from the running service or the file.

Like ``being episodes``: while ``being run`` holds the database it asks ``GET /dead-letters``;
when no service answers it opens the file read-only itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from service.commands._common import EXIT_FAILED, EXIT_OK, add_config_option, aware_time, load_or_exit
from service.commands._service_client import ask_service
from service.errors import NoDatabaseError
from service.settings import Settings
from sinks import DEAD_LETTERS_MAX_LIMIT, DeadLetterQuery, SinkError, open_database, read_dead_letters

__all__ = ["fetch_dead_letters", "register"]


def _from_service(settings: Settings, query: DeadLetterQuery) -> list[dict[str, Any]] | None:
    params: dict[str, str] = {"limit": str(query.limit)}
    if query.source:
        params["source"] = query.source
    if query.since:
        params["since"] = query.since.isoformat()
    body = ask_service(settings, "GET", "/dead-letters", params)
    if body is None:
        return None
    rows: list[dict[str, Any]] = body["dead_letters"]
    return rows


def _from_file(settings: Settings, query: DeadLetterQuery) -> list[dict[str, Any]]:
    path = Path(settings.storage.database_path)
    if not path.exists():
        raise NoDatabaseError(path)
    con = open_database(path, threads=1, memory_limit_mb=settings.storage.duckdb_memory_limit_mb, read_only=True)
    try:
        return read_dead_letters(con, query)
    finally:
        con.close()


def fetch_dead_letters(settings: Settings, query: DeadLetterQuery) -> tuple[str, list[dict[str, Any]]]:
    """Dead letters from the service when it runs, else from the file; returns (where, rows).

    Raises:
        ServiceAnswerError: the service answered with an error.
        NoDatabaseError: no service runs and the database does not exist yet.
        SinkError: the file could not be read.
    """
    rows = _from_service(settings, query)
    if rows is not None:
        return "service", rows
    return "file", _from_file(settings, query)


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    try:
        query = DeadLetterQuery(source=args.source, since=args.since, limit=args.limit)
        where, rows = fetch_dead_letters(settings, query)
    except (ValueError, SinkError) as exc:
        print(f"being dead-letters: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"source": where, "dead_letters": rows}, ensure_ascii=False))
        return EXIT_OK
    for row in rows:
        raw = str(row["raw"]).replace("\n", "\\n")
        print(f"{row['time']}  {row['source']:<8} {row['reason'][:90]}")
        if raw:
            print(f"    {raw[:110]}")
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dead-letters", help="show what could not be processed, newest first")
    parser.set_defaults(command_name="dead-letters")
    add_config_option(parser)
    parser.add_argument("--source", help="only from this source (inbox, llm, mind, ...)")
    parser.add_argument("--since", type=aware_time, help="only at or after this ISO 8601 time")
    parser.add_argument("--limit", type=int, default=50, help=f"at most this many (1 to {DEAD_LETTERS_MAX_LIMIT})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    parser.set_defaults(handler=handle)
