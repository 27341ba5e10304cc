"""``being check [--json]``: load the settings and run every startup check, one line per check.

Exit 0 when no critical check failed (warnings are shown and do not fail it), 1 otherwise,
2 for bad settings (before any check runs).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from service.checks import CHECKS, Probe, Severity, run_checks
from service.commands._common import EXIT_FAILED, EXIT_OK, add_config_option, load_or_exit

__all__ = ["register"]


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    results = run_checks(Probe(settings=settings, config=args.config), CHECKS)
    failed = any(not r.ok and r.severity is Severity.CRITICAL for r in results)
    if args.json:
        body = {"ok": not failed, "checks": [r.as_json() for r in results]}
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        for result in results:
            print(result.line())
        warned = sum(1 for r in results if not r.ok and r.severity is Severity.WARNING)
        critical = sum(1 for r in results if not r.ok and r.severity is Severity.CRITICAL)
        print(f"{len(results)} checks: {critical} critical failure(s), {warned} warning(s)")
    return EXIT_FAILED if failed else EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check", help="run every startup check (settings, folders, disk, database, port, limits, LLM, Redis)"
    )
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="print the results as one JSON document")
    parser.set_defaults(handler=handle)
