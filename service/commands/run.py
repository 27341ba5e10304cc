"""``being run``: start the service and run until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service._logging import configure_logging
from service.commands._common import EXIT_FAILED, add_config_option, load_or_exit
from service.settings import Settings
from streams.errors import BeingError

__all__ = ["RunService", "register"]

RunService = Callable[[Settings, Path | None], int]
"""What runs the service: the composition root hands it to the CLI (service never imports runtime)."""

log = logging.getLogger("service")


def handle(args: argparse.Namespace) -> int:
    """Load settings (exit 2 on a bad one, before anything touches the disk), then run."""
    settings = load_or_exit(args)
    configure_logging(settings.log.level, settings.log.format)
    run_service: RunService | None = getattr(args, "run_service", None)
    if run_service is None:
        print("being run: start the service through the `being` command (runtime.main)", file=sys.stderr)
        return EXIT_FAILED
    try:
        return run_service(settings, args.config)
    except BeingError as exc:
        log.error("service.failed", extra={"error": str(exc)})
        print(f"being: {exc}", file=sys.stderr)
        return EXIT_FAILED


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run the service until SIGTERM/SIGINT")
    add_config_option(parser)
    parser.set_defaults(handler=handle)
