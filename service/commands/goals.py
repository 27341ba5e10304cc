"""``being goals``: the being's goals, from the running service or, when none runs, from the file.

Like ``being episodes``: while ``being run`` holds the database this asks it over HTTP
(``GET /goals``); when no service answers it opens the file read-only itself.
"""

from __future__ import annotations

import argparse
from typing import Any

from service.commands._common import add_config_option
from service.commands._read_command import Rows, ask_or_read, query_params, run_read
from service.http._goals import GOAL_STATUSES, read_goal_rows
from service.settings import Settings
from sinks import GoalStatus, SinkError

__all__ = ["fetch_goals", "register"]


def fetch_goals(settings: Settings, status: GoalStatus | None) -> tuple[str, Rows]:
    """Goals from the service when it runs, else from the file; returns (where, goals).

    Raises:
        ServiceError, SinkError: as :func:`~service.commands._read_command.ask_or_read`.
    """
    params = query_params(status=status)
    return ask_or_read(settings, "/goals", params, "goals", lambda con: read_goal_rows(con, status))


def _print_table(rows: Rows) -> None:
    if not rows:
        print("no goals")
        return
    for row in rows:
        due = f" due {row['due']}" if row["due"] else ""
        text = str(row["text"]).replace("\n", " ")
        print(f"{row['created']}  {row['status']:<8} {text[:100]}{due}")


def handle(args: argparse.Namespace) -> int:
    def fetch(settings: Settings) -> tuple[str, Rows]:
        return fetch_goals(settings, args.status)

    return run_read(args, name="goals", key="goals", fetch=fetch, print_lines=_print_table, errors=(SinkError,))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("goals", help="show the being's goals")
    add_config_option(parser)
    parser.add_argument("--status", choices=GOAL_STATUSES, default=None, help="only goals with this status")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=handle)
