"""What every subcommand shares: the --config option, loading settings, and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from service.settings import CONFIG_ENV, Settings, SettingsError, load_settings

__all__ = [
    "EXIT_BAD_SETTINGS",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "add_config_option",
    "aware_time",
    "load_or_exit",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_SETTINGS = 2
EXIT_USAGE = 2


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--config PATH`` (embedded defaults when omitted)."""
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"config.toml to load (default: ${CONFIG_ENV} when set, else the embedded defaults)",
    )


def load_or_exit(args: argparse.Namespace) -> Settings:
    """Load settings for a command, or print one line and raise :class:`SystemExit` with code 2.

    Paths that collide (the inbox on the database, the database in the archive folder...) are
    refused here too, like any bad setting, before the command touches anything.
    """
    if args.config is None and os.environ.get(CONFIG_ENV):
        args.config = Path(os.environ[CONFIG_ENV])  # the container's way: every subcommand reads the same file
    try:
        return load_settings(args.config)
    except SettingsError as exc:
        print(f"being: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from exc


def aware_time(text: str) -> datetime:
    """An argparse type: an ISO 8601 time with a zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time, got {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"expected a time with a zone (e.g. 2026-02-21T12:00:00Z), got {text!r}")
    return moment
