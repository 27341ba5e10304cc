"""Sinks: the only writers. DuckDB episodes, dead letters, lessons and vectors, written on one thread."""

from sinks._batching import from_concurrent_future, write_batches
from sinks._embedder import Embedder
from sinks._episode_reads import EPISODES_MAX_LIMIT, EpisodeQuery, read_episodes
from sinks._lessons import (
    ErrorRecord,
    Principle,
    add_principle,
    read_errors,
    read_principles,
    record_error,
    set_principle_active,
)
from sinks._row_batches import BatchResult, write_rows
from sinks._rows import DeadLetterRow, EpisodeRow, Row, to_json
from sinks._schema import MIGRATIONS, apply_schema, schema_version
from sinks._vector_access import AccessLog, flush_access
from sinks._vector_cleanup import CleanupPolicy, CleanupResult, cleanup_vectors
from sinks._vector_index import SEARCH_MAX_K, SearchHit, VectorIndex, VectorQuery, load_index
from sinks._vector_rows import VectorRow, check_vector
from sinks._vector_writes import VectorWriteResult, registered_embedders, write_vectors
from sinks._writer import DuckWriter, WriterListener, open_database
from sinks.errors import DatabaseBusyError, SinkClosedError, SinkError

__all__ = [
    "EPISODES_MAX_LIMIT",
    "MIGRATIONS",
    "SEARCH_MAX_K",
    "AccessLog",
    "BatchResult",
    "CleanupPolicy",
    "CleanupResult",
    "DatabaseBusyError",
    "DeadLetterRow",
    "DuckWriter",
    "Embedder",
    "EpisodeQuery",
    "EpisodeRow",
    "ErrorRecord",
    "Principle",
    "Row",
    "SearchHit",
    "SinkClosedError",
    "SinkError",
    "VectorIndex",
    "VectorQuery",
    "VectorRow",
    "VectorWriteResult",
    "WriterListener",
    "add_principle",
    "apply_schema",
    "check_vector",
    "cleanup_vectors",
    "flush_access",
    "from_concurrent_future",
    "load_index",
    "open_database",
    "read_episodes",
    "read_errors",
    "read_principles",
    "record_error",
    "registered_embedders",
    "schema_version",
    "set_principle_active",
    "to_json",
    "write_batches",
    "write_rows",
    "write_vectors",
]
