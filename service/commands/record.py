"""``being record export``: the recorded events, LLM exchanges and episodes of a time window, as one file."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service._assembly import settings_snapshot
from service._version import VERSION
from service.commands._common import EXIT_FAILED, EXIT_OK, add_config_option, aware_time, load_or_exit
from service.errors import NoDatabaseError, UsageError
from sinks import EXPORT_FORMATS, RecordingHeader, SinkError, export_recording, open_database

__all__ = ["register"]


def export(args: argparse.Namespace) -> int:
    """Write the recording.

    Raises:
        UsageError: OUT exists and ``--force`` was not given.
        NoDatabaseError: the database does not exist yet.
    """
    settings = load_or_exit(args)
    database = Path(settings.storage.database_path)
    if args.out.exists() and not args.force:
        raise UsageError(f"{args.out} exists (use --force to replace it)")
    if not database.exists():
        raise NoDatabaseError(database)
    header = RecordingHeader(
        service_version=VERSION,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        settings=settings_snapshot(settings),
    )
    try:
        con = open_database(
            database, threads=1, memory_limit_mb=settings.storage.duckdb_memory_limit_mb, read_only=True
        )
        try:
            counts = export_recording(
                con, args.out, format=args.format, header=header, since=args.since, until=args.until
            )
        finally:
            con.close()
    except SinkError as exc:
        print(f"being record export: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"wrote {args.out}: {counts['event']:,} events, {counts['exchange']:,} LLM exchanges,"
        f" {counts['episode']:,} episodes"
    )
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("record", help="recordings of events and LLM exchanges")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    out = actions.add_parser("export", help="write a recording file from the database")
    add_config_option(out)
    out.add_argument("out", type=Path, help="the recording file to write")
    out.add_argument("--format", choices=EXPORT_FORMATS, default="jsonl", help="jsonl (default) or parquet")
    out.add_argument("--since", type=aware_time, default=None, help="only what happened at or after this time")
    out.add_argument("--until", type=aware_time, default=None, help="only what happened before this time")
    out.add_argument("--force", action="store_true", help="replace OUT when it exists")
    out.set_defaults(handler=export, command_name="record export")
