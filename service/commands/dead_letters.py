"""``being dead-letters``: what could not be processed, newest first, from the running service or the file.

Like ``being episodes``: while ``being run`` holds the database it asks ``GET /dead-letters``;
when no service answers it opens the file read-only itself.
"""

from __future__ import annotations

import argparse
from typing import Any

from service.commands._common import add_config_option, aware_time
from service.commands._read_command import Rows, ask_or_read, query_params, run_read
from service.settings import Settings
from sinks import DEAD_LETTERS_MAX_LIMIT, DeadLetterQuery, read_dead_letters

__all__ = ["fetch_dead_letters", "register"]


def fetch_dead_letters(settings: Settings, query: DeadLetterQuery) -> tuple[str, Rows]:
    """Dead letters from the service when it runs, else from the file; returns (where, rows).

    Raises:
        ServiceError, SinkError: as :func:`~service.commands._read_command.ask_or_read`.
    """
    params = query_params(limit=query.limit, source=query.source, since=query.since)
    return ask_or_read(settings, "/dead-letters", params, "dead_letters", lambda con: read_dead_letters(con, query))


def _print_lines(rows: Rows) -> None:
    for row in rows:
        raw = str(row["raw"]).replace("\n", "\\n")
        print(f"{row['time']}  {row['source']:<8} {row['reason'][:90]}")
        if raw:
            print(f"    {raw[:110]}")


def handle(args: argparse.Namespace) -> int:
    def fetch(settings: Settings) -> tuple[str, Rows]:
        return fetch_dead_letters(settings, DeadLetterQuery(source=args.source, since=args.since, limit=args.limit))

    return run_read(args, name="dead-letters", key="dead_letters", fetch=fetch, print_lines=_print_lines)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dead-letters", help="show what could not be processed, newest first")
    parser.set_defaults(command_name="dead-letters")
    add_config_option(parser)
    parser.add_argument("--source", help="only from this source (inbox, llm, mind, ...)")
    parser.add_argument("--since", type=aware_time, help="only at or after this ISO 8601 time")
    parser.add_argument("--limit", type=int, default=50, help=f"at most this many (1 to {DEAD_LETTERS_MAX_LIMIT})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    parser.set_defaults(handler=handle)
