"""``being run``: check, then start the service and run until SIGTERM/SIGINT.

Before anything is written (no database file, no address file, no folder), the critical
startup checks run; any failure stops the start with exit 1 and one line per failure. The
warnings are logged and the start goes on (an unreachable LLM means fallback replies).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from service._json_stderr import wants_json, wrap_stderr
from service._logging import configure_logging
from service.checks import CHECKS, CheckResult, Probe, Severity, run_checks
from service.commands._common import EXIT_FAILED, add_config_option, load_or_exit
from service.settings import Settings
from streams.errors import BeingError

__all__ = ["RunService", "register", "start_checks"]

RunService = Callable[[Settings, Path | None, Sequence[CheckResult]], int]
"""What runs the service, given the start's check results (for ``being_checks_total``): the composition
root hands it to the CLI (service never imports runtime)."""

log = logging.getLogger("service")


def start_checks(settings: Settings, config: Path | None) -> list[CheckResult] | None:
    """Run the critical checks (a line for each failure), then the warnings (logged).

    Returns:
        every check's result, or ``None`` when a critical check failed (do not start).
    """
    probe = Probe(settings=settings, config=config)
    critical = run_checks(probe, CHECKS, only=Severity.CRITICAL)
    failed = [r for r in critical if not r.ok]
    for result in failed:
        if wants_json(settings.log.format):
            log.error("check.failed", extra={"check": result.name, "severity": "critical", "detail": result.detail})
        else:
            print(f"being run: {result.line()}", file=sys.stderr)
    if failed:
        return None
    warnings = run_checks(probe, CHECKS, only=Severity.WARNING)
    for result in warnings:
        if not result.ok:
            log.warning("check.warning", extra={"check": result.name, "severity": "warning", "detail": result.detail})
    return [*critical, *warnings]


def handle(args: argparse.Namespace) -> int:
    """Load settings (exit 2 on a bad one), run the start's checks (exit 1 on a critical failure), then run."""
    settings = load_or_exit(args)
    wrap_stderr(settings.log.format)
    configure_logging(settings.log.level, settings.log.format)
    run_service: RunService | None = getattr(args, "run_service", None)
    if run_service is None:
        print("being run: start the service through the `being` command (runtime.main)", file=sys.stderr)
        return EXIT_FAILED
    checked = start_checks(settings, args.config)
    if checked is None:
        return EXIT_FAILED
    try:
        return run_service(settings, args.config, checked)
    except BeingError as exc:
        log.error("service.failed", extra={"error": str(exc)})
        if not wants_json(settings.log.format):
            print(f"being: {exc}", file=sys.stderr)
        return EXIT_FAILED


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="check the machine, then run the service until SIGTERM/SIGINT")
    add_config_option(parser)
    parser.set_defaults(handler=handle)
