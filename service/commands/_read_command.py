"""What the read commands share: ask the running service's route, or open the file read-only when none runs.

DuckDB lets one process hold a database file for writing, so while ``being run`` holds it a
read command asks the service over HTTP; when no service answers on the configured address
it opens the file read-only itself. ``being episodes``, ``goals`` and ``dead-letters`` say
only their route, their parameters, their read and how a row is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from service.commands._common import EXIT_FAILED, EXIT_OK, load_or_exit
from service.commands._service_client import ask_service
from service.errors import NoDatabaseError
from service.settings import Settings
from sinks import SinkError, open_database

__all__ = ["Rows", "ask_or_read", "query_params", "read_file", "run_read"]

Rows = list[dict[str, Any]]
T = TypeVar("T")


def query_params(**values: str | int | bool | datetime | None) -> dict[str, str]:
    """The query parameters of a read route, in the order given.

    ``None``, ``""`` and ``False`` are left out; a time is written in ISO 8601, ``True`` as ``true``.
    """
    params: dict[str, str] = {}
    for name, value in values.items():
        if value is None or value is False or value == "":
            continue
        if value is True:
            params[name] = "true"
        elif isinstance(value, datetime):
            params[name] = value.isoformat()
        else:
            params[name] = str(value)
    return params


def read_file(settings: Settings, read: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """``read`` on the database file of these settings, opened read-only and closed after.

    Raises:
        NoDatabaseError: the database does not exist yet.
        SinkError: the file could not be opened or read.
    """
    path = Path(settings.storage.database_path)
    if not path.exists():
        raise NoDatabaseError(path)
    con = open_database(path, threads=1, memory_limit_mb=settings.storage.duckdb_memory_limit_mb, read_only=True)
    try:
        return read(con)
    finally:
        con.close()


def ask_or_read(
    settings: Settings,
    route: str,
    params: dict[str, str],
    key: str,
    read: Callable[[duckdb.DuckDBPyConnection], Rows],
) -> tuple[str, Rows]:
    """The rows under ``key`` of ``GET route`` when the service runs, else ``read`` on the file; (where, rows).

    Raises:
        ServiceAnswerError: the service answered with an error.
        NoDatabaseError: no service runs and the database does not exist yet.
        SinkError: the file could not be read.
    """
    body = ask_service(settings, "GET", route, params)
    if body is not None:
        rows: Rows = body[key]
        return "service", rows
    return "file", read_file(settings, read)


def run_read(
    args: argparse.Namespace,
    *,
    name: str,
    key: str,
    fetch: Callable[[Settings], tuple[str, Rows]],
    print_lines: Callable[[Rows], None],
    errors: tuple[type[Exception], ...] = (ValueError, SinkError),
) -> int:
    """Run a read command: fetch, then print ``{"source": where, key: rows}`` with ``--json``, else lines.

    Args:
        args: the command's arguments (``--config`` and ``--json`` among them).
        name: the command's name in an error line (``being NAME: ...``).
        key: the rows' key in the JSON printed.
        fetch: the rows and where they came from, for the loaded settings.
        print_lines: prints the rows as lines.
        errors: what ends the command with one line on stderr and exit code 1.

    Returns:
        The exit code.
    """
    settings = load_or_exit(args)
    try:
        where, rows = fetch(settings)
    except errors as exc:
        print(f"being {name}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"source": where, key: rows}, ensure_ascii=False))
    else:
        print_lines(rows)
    return EXIT_OK
