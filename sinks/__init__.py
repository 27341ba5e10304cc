"""Sinks: the only writers. DuckDB episodes, dead letters, lessons and vectors, written on one thread."""

from sinks._archive import ArchiveResult, archive_episodes, archive_files, month_folder
from sinks._batch_operator import batch_rows
from sinks._batching import commit_then_notes, from_concurrent_future, write_batches
from sinks._clock import utc_now
from sinks._dead_letter_reads import (
    DEAD_LETTER_RAW_MAX_CHARS,
    DEAD_LETTERS_MAX_LIMIT,
    DeadLetterQuery,
    read_dead_letters,
)
from sinks._episode_export import ExportResult, export_episodes
from sinks._episode_reads import (
    EPISODE_TEXT_MAX_CHARS,
    EPISODES_MAX_LIMIT,
    EpisodeQuery,
    count_similar,
    read_episodes,
)
from sinks._ingest_store import (
    IngestedMessage,
    mark_messages_done,
    pending_messages,
    read_message,
    reply_text,
    store_message,
    store_messages,
)
from sinks._jetstream_out import JetStreamOut, JetStreamOutPolicy
from sinks._legacy_import import LEGACY_EMBEDDER, LegacyReport, import_legacy
from sinks._legacy_read import Refusal, legacy_time
from sinks._legacy_replay import LEGACY_INPUT_TYPES
from sinks._lessons import (
    ErrorRecord,
    Principle,
    add_principle,
    read_errors,
    read_principles,
    record_error,
    set_principle_active,
)
from sinks._mind_reads import read_blocks, read_goals
from sinks._mind_rows import (
    USER_BLOCK_PREFIX,
    GoalRow,
    GoalStatus,
    MemoryBlockRow,
    NoteRow,
    PrincipleRow,
    principle_key,
    user_block,
)
from sinks._nats_reads import recent_nats_ids
from sinks._notes import NOTES_MAX_BYTES, NotesResult, append_pending_notes, note_path_problem, notes_folder
from sinks._outbox import OUTBOX_TYPES, Outbox, OutboxPolicy, outbox_line
from sinks._recording_export import EXPORT_FORMATS, export_recording
from sinks._recording_format import FORMAT_NAME, FORMAT_VERSION, Recording, RecordingHeader, RecordingProblem
from sinks._recording_read import RecordingError, read_recording
from sinks._recording_rows import ExchangeRow, RecordedEventRow, RunRow, SeedPartRow
from sinks._recording_seed import SEED_LIMITS, RecordedSeed, SeedError, SeedVector, seed_rows
from sinks._reply_reads import WaitingReply, episode_stored, waiting_replies
from sinks._row_batches import BatchResult, EncodedBatch, encode_rows, insert_encoded, write_rows
from sinks._rows import Acknowledgement, DeadLetterRow, EpisodeRow, Row, to_json, to_json_bytes
from sinks._schema import MIGRATIONS, apply_schema, schema_version
from sinks._vector_access import AccessLog, flush_access
from sinks._vector_batching import write_vector_batches
from sinks._vector_cleanup import CleanupPolicy, CleanupResult, bound_vectors, cleanup_vectors
from sinks._vector_index import SEARCH_MAX_K, SearchHit, VectorIndex, VectorQuery
from sinks._vector_load import load_index
from sinks._vector_reconcile import episodes_missing_vectors
from sinks._vector_rows import VectorRow, check_vector
from sinks._vector_sql_search import describe_hits, search_table
from sinks._vector_writes import VectorWriteResult, registered_embedders, write_vectors
from sinks._vectorizer import Vectorizer
from sinks._writer import DuckWriter, WriterListener, open_database
from sinks.errors import (
    ArchiveError,
    DatabaseBusyError,
    DatabaseInvalidatedError,
    LegacyImportError,
    OutStreamError,
    SinkClosedError,
    SinkError,
)

__all__ = [
    "DEAD_LETTERS_MAX_LIMIT",
    "DEAD_LETTER_RAW_MAX_CHARS",
    "EPISODES_MAX_LIMIT",
    "EPISODE_TEXT_MAX_CHARS",
    "EXPORT_FORMATS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "LEGACY_EMBEDDER",
    "LEGACY_INPUT_TYPES",
    "MIGRATIONS",
    "NOTES_MAX_BYTES",
    "OUTBOX_TYPES",
    "SEARCH_MAX_K",
    "SEED_LIMITS",
    "USER_BLOCK_PREFIX",
    "AccessLog",
    "Acknowledgement",
    "ArchiveError",
    "ArchiveResult",
    "BatchResult",
    "CleanupPolicy",
    "CleanupResult",
    "DatabaseBusyError",
    "DatabaseInvalidatedError",
    "DeadLetterQuery",
    "DeadLetterRow",
    "DuckWriter",
    "EncodedBatch",
    "EpisodeQuery",
    "EpisodeRow",
    "ErrorRecord",
    "ExchangeRow",
    "ExportResult",
    "GoalRow",
    "GoalStatus",
    "IngestedMessage",
    "JetStreamOut",
    "JetStreamOutPolicy",
    "LegacyImportError",
    "LegacyReport",
    "MemoryBlockRow",
    "NoteRow",
    "NotesResult",
    "OutStreamError",
    "Outbox",
    "OutboxPolicy",
    "Principle",
    "PrincipleRow",
    "RecordedEventRow",
    "RecordedSeed",
    "Recording",
    "RecordingError",
    "RecordingHeader",
    "RecordingProblem",
    "Refusal",
    "Row",
    "RunRow",
    "SearchHit",
    "SeedError",
    "SeedPartRow",
    "SeedVector",
    "SinkClosedError",
    "SinkError",
    "VectorIndex",
    "VectorQuery",
    "VectorRow",
    "VectorWriteResult",
    "Vectorizer",
    "WaitingReply",
    "WriterListener",
    "add_principle",
    "append_pending_notes",
    "apply_schema",
    "archive_episodes",
    "archive_files",
    "batch_rows",
    "bound_vectors",
    "check_vector",
    "cleanup_vectors",
    "commit_then_notes",
    "count_similar",
    "describe_hits",
    "encode_rows",
    "episode_stored",
    "episodes_missing_vectors",
    "export_episodes",
    "export_recording",
    "flush_access",
    "from_concurrent_future",
    "import_legacy",
    "insert_encoded",
    "legacy_time",
    "load_index",
    "mark_messages_done",
    "month_folder",
    "note_path_problem",
    "notes_folder",
    "open_database",
    "outbox_line",
    "pending_messages",
    "principle_key",
    "read_blocks",
    "read_dead_letters",
    "read_episodes",
    "read_errors",
    "read_goals",
    "read_message",
    "read_principles",
    "read_recording",
    "recent_nats_ids",
    "record_error",
    "registered_embedders",
    "reply_text",
    "schema_version",
    "search_table",
    "seed_rows",
    "set_principle_active",
    "store_message",
    "store_messages",
    "to_json",
    "to_json_bytes",
    "user_block",
    "utc_now",
    "waiting_replies",
    "write_batches",
    "write_rows",
    "write_vector_batches",
    "write_vectors",
]
