"""``being run``: start the service and run until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from service._logging import configure_logging
from service.commands._common import EXIT_FAILED, add_config_option, load_or_exit
from streams.errors import BeingError

__all__ = ["register"]

log = logging.getLogger("service")


def handle(args: argparse.Namespace) -> int:
    """Load settings (exit 2 on a bad one, before anything touches the disk), then run."""
    settings = load_or_exit(args)
    configure_logging(settings.log.level, settings.log.format)
    from runtime import run_service  # the composition root imports everything; only `run` needs it

    try:
        return run_service(settings, config_path=args.config)
    except BeingError as exc:
        log.error("service.failed", extra={"error": str(exc)})
        print(f"being: {exc}", file=sys.stderr)
        return EXIT_FAILED


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run the service until SIGTERM/SIGINT")
    add_config_option(parser)
    parser.set_defaults(handler=handle)
