"""``being episodes``: the newest episodes, from the running service or, when none runs, from the file.

DuckDB lets one process hold a database file for writing, so while ``being run`` holds it
this command asks the service over HTTP (``GET /episodes``); when no service answers on the
configured address it opens the file read-only itself. ``--archived`` reads the Parquet
archive too; ``--text`` matches the description.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from service.commands._common import EXIT_FAILED, EXIT_OK, add_config_option, load_or_exit
from service.commands._service_client import ask_service
from service.errors import NoDatabaseError
from service.settings import Settings
from sinks import EPISODES_MAX_LIMIT, EpisodeQuery, SinkError, open_database, read_episodes

__all__ = ["fetch_episodes", "register"]


def _from_service(settings: Settings, query: EpisodeQuery) -> list[dict[str, Any]] | None:
    """Ask the running service; ``None`` when nothing listens there."""
    params: dict[str, str] = {"limit": str(query.limit)}
    if query.type:
        params["type"] = query.type
    if query.outcome:
        params["outcome"] = query.outcome
    if query.since:
        params["since"] = query.since.isoformat()
    if query.text:
        params["text"] = query.text
    if query.include_archive:
        params["archived"] = "true"
    body = ask_service(settings, "GET", "/episodes", params)
    if body is None:
        return None
    rows: list[dict[str, Any]] = body["episodes"]
    return rows


def _from_file(settings: Settings, query: EpisodeQuery) -> list[dict[str, Any]]:
    path = Path(settings.storage.database_path)
    if not path.exists():
        raise NoDatabaseError(path)
    con = open_database(path, threads=1, memory_limit_mb=settings.storage.duckdb_memory_limit_mb, read_only=True)
    try:
        return read_episodes(con, query, archive_dir=Path(settings.memory.archive_dir))
    finally:
        con.close()


def fetch_episodes(settings: Settings, query: EpisodeQuery) -> tuple[str, list[dict[str, Any]]]:
    """Episodes from the service when it runs, else from the file; returns (where, rows).

    Raises:
        ServiceAnswerError: the service answered with an error.
        NoDatabaseError: no service runs and the database does not exist yet.
        SinkError: the file could not be read.
    """
    rows = _from_service(settings, query)
    if rows is not None:
        return "service", rows
    return "file", _from_file(settings, query)


def _parse_since(text: str) -> datetime:
    since = datetime.fromisoformat(text)
    if since.tzinfo is None:
        raise argparse.ArgumentTypeError(f"expected a time with a zone (e.g. 2026-01-01T00:00:00Z), got {text!r}")
    return since


def _print_table(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        description = str(row["description"]).replace("\n", " ")
        print(f"{row['time']}  {row['type']:<22} {row['outcome']:<9} {description[:100]}")


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    try:
        query = EpisodeQuery(
            type=args.type,
            outcome=args.outcome,
            since=args.since,
            text=args.text,
            limit=args.limit,
            include_archive=args.archived,
        )
        where, rows = fetch_episodes(settings, query)
    except (ValueError, SinkError) as exc:
        print(f"being episodes: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"source": where, "episodes": rows}, ensure_ascii=False))
    else:
        _print_table(rows)
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("episodes", help="show the newest episodes")
    add_config_option(parser)
    parser.add_argument("--type", help="only episodes of this type (e.g. user.message)")
    parser.add_argument("--outcome", help="only episodes with this outcome")
    parser.add_argument("--since", type=_parse_since, help="only episodes at or after this ISO 8601 time")
    parser.add_argument("--text", help="only episodes whose description contains this (any case)")
    parser.add_argument("--archived", action="store_true", help="include episodes moved to the Parquet archive")
    parser.add_argument("--limit", type=int, default=50, help=f"at most this many (1 to {EPISODES_MAX_LIMIT})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=handle)
