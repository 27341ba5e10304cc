"""``being restore IN``: put a backup back as the database and archive of a stopped service.

The backup is verified first (checksum, every table's rows); what the data folder held is kept
aside (``NAME.before-restore-STAMP``), never deleted; the restored file is verified in place.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from service._backup import restore_backup
from service.commands._common import EXIT_OK, add_config_option, load_or_exit
from service.commands._service_client import ask_service
from service.errors import ServiceAnswerError, UsageError

__all__ = ["register"]


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    try:
        running = ask_service(settings, "GET", "/healthz", {}, timeout_s=5.0) is not None
    except ServiceAnswerError:  # it answered, unhealthy: it runs all the same
        running = True
    if running:
        raise UsageError("the service is running with these settings; stop it first, then restore")
    database = Path(settings.storage.database_path)
    result = restore_backup(
        Path(args.backup), database=database, archive_dir=Path(settings.memory.archive_dir), replace=args.replace
    )
    if args.json:
        print(json.dumps(result))
    else:
        rows = sum(t["rows"] for t in result["tables"].values())
        kept = f"; kept aside: {', '.join(result['kept_aside'])}" if result["kept_aside"] else ""
        print(f"restored {len(result['tables'])} tables ({rows} rows) from {args.backup} into {database}{kept}")
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("restore", help="restore a backup into the data folder of a stopped service")
    add_config_option(parser)
    parser.add_argument("backup", metavar="IN", help="a folder made by `being backup`")
    parser.add_argument(
        "--replace", action="store_true", help="move an existing database and archive aside instead of refusing"
    )
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.set_defaults(handler=handle)
