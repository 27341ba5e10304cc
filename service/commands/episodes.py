"""``being episodes``: the newest episodes, from the running service or, when none runs, from the file.

DuckDB lets one process hold a database file for writing, so while ``being run`` holds it
this command asks the service over HTTP (``GET /episodes``); when no service answers on the
configured address it opens the file read-only itself. ``--archived`` reads the Parquet
archive too; ``--text`` matches the description.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from service.commands._common import add_config_option
from service.commands._read_command import Rows, ask_or_read, query_params, run_read
from service.settings import Settings
from sinks import EPISODES_MAX_LIMIT, EpisodeQuery, read_episodes

__all__ = ["fetch_episodes", "register"]


def fetch_episodes(settings: Settings, query: EpisodeQuery) -> tuple[str, Rows]:
    """Episodes from the service when it runs, else from the file; returns (where, rows).

    Raises:
        ServiceError, SinkError: as :func:`~service.commands._read_command.ask_or_read`.
    """
    params = query_params(
        limit=query.limit,
        type=query.type,
        outcome=query.outcome,
        since=query.since,
        text=query.text,
        archived=query.include_archive,
    )
    archive_dir = Path(settings.memory.archive_dir)
    return ask_or_read(
        settings, "/episodes", params, "episodes", lambda con: read_episodes(con, query, archive_dir=archive_dir)
    )


def _parse_since(text: str) -> datetime:
    since = datetime.fromisoformat(text)
    if since.tzinfo is None:
        raise argparse.ArgumentTypeError(f"expected a time with a zone (e.g. 2026-01-01T00:00:00Z), got {text!r}")
    return since


def _print_table(rows: Rows) -> None:
    for row in rows:
        description = str(row["description"]).replace("\n", " ")
        print(f"{row['time']}  {row['type']:<22} {row['outcome']:<9} {description[:100]}")


def handle(args: argparse.Namespace) -> int:
    def fetch(settings: Settings) -> tuple[str, Rows]:
        query = EpisodeQuery(
            type=args.type,
            outcome=args.outcome,
            since=args.since,
            text=args.text,
            limit=args.limit,
            include_archive=args.archived,
        )
        return fetch_episodes(settings, query)

    return run_read(args, name="episodes", key="episodes", fetch=fetch, print_lines=_print_table)


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
