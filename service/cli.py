"""The ``being`` command line: one subcommand per module in ``service/commands``.

Exit codes: 0 success, 1 a check or command failed, 2 bad usage or bad settings,
130 stopped by a second signal. A command reports its failure by returning its code, or by
raising one of the project's errors, which becomes one line on stderr here: a
:class:`~service.errors.UsageError` or a ``SettingsError`` exits 2, any other error of the
tree (a :class:`~service.errors.ServiceError`, a sink's...) exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from service._blas import single_threaded_blas
from service._json_stderr import wrap_stderr
from service._native_heap import limit_arenas
from service.commands._common import EXIT_BAD_SETTINGS, EXIT_FAILED, EXIT_USAGE
from service.errors import UsageError
from service.settings import SettingsError
from streams.errors import BeingError

__all__ = ["main"]

# Each name is a module in service/commands with `register(subparsers)`; the
# subcommand's handler is stored as the parser default `handler(args) -> int`.
_COMMANDS = (
    "run",
    "check",
    "episodes",
    "goals",
    "simulate-llm",
    "search",
    "archive",
    "import-legacy",
    "record",
    "replay",
    "backup",
    "restore",
    "outbox",
    "dead-letters",
    "token",
    "tail",
    "export",
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
    limit_arenas()  # before the subcommand starts its threads
    single_threaded_blas()
    wrap_stderr()  # BEING_LOG_FORMAT=json: every stderr line JSON, from the first one (a bad setting's)
    args = build_parser(run_service).parse_args(argv)
    name = getattr(args, "command_name", args.command)
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        print(f"being {name}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SettingsError as exc:
        print(f"being: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    except BeingError as exc:  # a ServiceError, or a sink's error a command let through: ours, meant for a person
        print(f"being {name}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
