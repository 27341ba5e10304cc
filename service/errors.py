"""Errors of the operational shell: starting the service and running commands (see the tree in ``streams/errors.py``).

The CLI (``service/cli.py``) turns them into one line and an exit code: a :class:`UsageError`
exits 2 (like a bad setting), every other :class:`ServiceError` exits 1.
"""

from __future__ import annotations

from pathlib import Path

from streams.errors import BeingError

__all__ = [
    "NatsUnavailableError",
    "NoDatabaseError",
    "PortInUseError",
    "ServiceAnswerError",
    "ServiceError",
    "StartupError",
    "UsageError",
]


class ServiceError(BeingError):
    """The service or a command could not do what was asked (exit 1)."""


class StartupError(ServiceError):
    """The service cannot start: something it needs at start is missing or taken."""


class PortInUseError(StartupError):
    """The HTTP port cannot be bound: another process holds it, or binding it is not permitted.

    Attributes:
        host: the address that was asked for.
        port: the port that was asked for.
        reason: what the system said (``Address already in use``).
    """

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        super().__init__(f"cannot serve HTTP on {host}:{port}: {reason} (see http.host and http.port)")


class NatsUnavailableError(StartupError):
    """``[nats] enabled`` and the NATS server cannot be reached, or its stream or consumer cannot be set up."""


class NoDatabaseError(ServiceError):
    """A command that reads the database found no file: the service has not run with these settings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} does not exist yet: the service has not run with these settings")


class ServiceAnswerError(ServiceError):
    """The running service answered a command with an error; the message is the service's."""


class UsageError(ServiceError):
    """A command was given something it cannot use: an output that exists, an input that does not... (exit 2)."""
