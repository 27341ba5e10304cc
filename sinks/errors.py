"""Errors of the sinks: the database refused a write or a read (see the tree in ``streams/errors.py``)."""

from __future__ import annotations

from streams.errors import BeingError

__all__ = ["DatabaseBusyError", "SinkClosedError", "SinkError"]


class SinkError(BeingError):
    """A DuckDB operation failed; the DuckDB error is the ``__cause__``."""


class SinkClosedError(SinkError):
    """A write was submitted after the writer was closed."""


class DatabaseBusyError(SinkError):
    """The database file is held by another process (normally a running ``being run``)."""
