"""Sinks: the only writers. DuckDB episodes and dead letters, written in batches on one thread."""

from sinks._batching import from_concurrent_future, write_batches
from sinks._episode_reads import EPISODES_MAX_LIMIT, EpisodeQuery, read_episodes
from sinks._row_batches import BatchResult, write_rows
from sinks._rows import DeadLetterRow, EpisodeRow, Row, to_json
from sinks._schema import MIGRATIONS, apply_schema, schema_version
from sinks._writer import DuckWriter, WriterListener, open_database
from sinks.errors import DatabaseBusyError, SinkClosedError, SinkError

__all__ = [
    "EPISODES_MAX_LIMIT",
    "MIGRATIONS",
    "BatchResult",
    "DatabaseBusyError",
    "DeadLetterRow",
    "DuckWriter",
    "EpisodeQuery",
    "EpisodeRow",
    "Row",
    "SinkClosedError",
    "SinkError",
    "WriterListener",
    "apply_schema",
    "from_concurrent_future",
    "open_database",
    "read_episodes",
    "schema_version",
    "to_json",
    "write_batches",
    "write_rows",
]
