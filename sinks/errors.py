"""Errors of the sinks: the database refused a write or a read (see the tree in ``streams/errors.py``)."""

from __future__ import annotations

from streams.errors import BeingError

__all__ = [
    "ArchiveError",
    "DatabaseBusyError",
    "DatabaseInvalidatedError",
    "LegacyImportError",
    "OutStreamError",
    "SinkClosedError",
    "SinkError",
]


class SinkError(BeingError):
    """A DuckDB operation (or a sink's own write: a file, a stream) failed; the foreign error is the ``__cause__``."""


class SinkClosedError(SinkError):
    """A write was submitted after the writer was closed."""


class DatabaseBusyError(SinkError):
    """The database file is held by another process (normally a running ``being run``)."""


class DatabaseInvalidatedError(SinkError):
    """DuckDB hit a fatal error (a checkpoint that could not write: a full disk) and invalidated the database.

    Every later job on the same open database fails with it; opening the file again (a restart)
    recovers what was committed, from the WAL.
    """


class LegacyImportError(SinkError):
    """A legacy SQLite file cannot be imported at all (missing, not a database)."""


class ArchiveError(SinkError):
    """Archival stopped: a Parquet file could not be written or did not hold what was selected."""


class OutStreamError(SinkError):
    """The JetStream out stream did not take a publish (NATS down, no PubAck in time, a refusal).

    What was not acknowledged stays unrecorded and is published again by the next flush.
    """
