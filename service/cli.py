"""The ``being`` command line: one subcommand per module in ``service/commands``.

Exit codes: 0 success, 1 a check or command failed, 2 bad usage or bad settings,
130 stopped by a second signal.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

__all__ = ["main"]

# Each name is a module in service/commands with `register(subparsers)`; the
# subcommand's handler is stored as the parser default `handler(args) -> int`.
_COMMANDS = (
    "run",
    "check",
    "episodes",
    "simulate-llm",
    "search",
    "archive",
    "import-legacy",
    "record",
    "replay",
)


def build_parser(run_service: Callable[..., int] | None = None) -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered.

    Args:
        run_service: what ``being run`` calls; the composition root passes its own
            (``runtime.main``), so this package never imports the root.
    """
    parser = argparse.ArgumentParser(prog="being", description="Digital Being: an always-on LLM agent.")
    parser.set_defaults(run_service=run_service)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS:
        module = importlib.import_module(f"service.commands.{name.replace('-', '_')}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, run_service: Callable[..., int] | None = None) -> int:
    """Parse ``argv`` and run the subcommand (the ``being`` console script is ``runtime.main``)."""
    args = build_parser(run_service).parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
