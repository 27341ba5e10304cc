"""``being goals``: the being's goals, from the running service or, when none runs, from the file.

Like ``being episodes``: while ``being run`` holds the database this asks it over HTTP
(``GET /goals``); when no service answers it opens the file read-only itself.
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
from service.http._goals import GOAL_STATUSES, read_goal_rows
from service.settings import Settings
from sinks import GoalStatus, SinkError, open_database

__all__ = ["fetch_goals", "register"]


def _from_file(settings: Settings, status: GoalStatus | None) -> list[dict[str, Any]]:
    path = Path(settings.storage.database_path)
    if not path.exists():
        raise NoDatabaseError(path)
    con = open_database(path, threads=1, memory_limit_mb=settings.storage.duckdb_memory_limit_mb, read_only=True)
    try:
        return read_goal_rows(con, status)
    finally:
        con.close()


def fetch_goals(settings: Settings, status: GoalStatus | None) -> tuple[str, list[dict[str, Any]]]:
    """Goals from the service when it runs, else from the file; returns (where, goals).

    Raises:
        ServiceAnswerError: the service answered with an error.
        NoDatabaseError: no service runs and the database does not exist yet.
        SinkError: the file could not be read.
    """
    body = ask_service(settings, "GET", "/goals", {"status": status} if status else {})
    if body is not None:
        rows: list[dict[str, Any]] = body["goals"]
        return "service", rows
    return "file", _from_file(settings, status)


def _print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("no goals")
        return
    for row in rows:
        due = f" due {row['due']}" if row["due"] else ""
        text = str(row["text"]).replace("\n", " ")
        print(f"{row['created']}  {row['status']:<8} {text[:100]}{due}")


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    try:
        where, rows = fetch_goals(settings, args.status)
    except SinkError as exc:
        print(f"being goals: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"source": where, "goals": rows}, ensure_ascii=False))
    else:
        _print_table(rows)
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("goals", help="show the being's goals")
    add_config_option(parser)
    parser.add_argument("--status", choices=GOAL_STATUSES, default=None, help="only goals with this status")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=handle)
