"""The database schema, applied in numbered steps so that an old file is brought up to date.

Each step runs once, in one transaction, and is recorded in ``schema_version``. Append new
steps; never edit a step that has shipped.
"""

from __future__ import annotations

import duckdb

__all__ = ["MIGRATIONS", "apply_schema", "schema_version"]

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE episodes (
            id          VARCHAR NOT NULL,
            time        TIMESTAMPTZ NOT NULL,
            type        VARCHAR NOT NULL,
            description VARCHAR NOT NULL,
            outcome     VARCHAR NOT NULL,
            data        JSON
        );
        CREATE INDEX episodes_type ON episodes (type);
        CREATE INDEX episodes_time ON episodes (time);
        CREATE INDEX episodes_outcome ON episodes (outcome);
        CREATE TABLE dead_letters (
            id     VARCHAR NOT NULL,
            time   TIMESTAMPTZ NOT NULL,
            source VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            raw    VARCHAR NOT NULL
        );
        CREATE INDEX dead_letters_time ON dead_letters (time);
        """,
    ),
    (
        2,
        # errors: one row per error type (a repeat raises repeat_count); principles learnt from them.
        # vectors: one table for every embedder. The embedding is a variable-length FLOAT[] checked
        # against `dim` (FLOAT[n] fixes one length per column, and embedders differ: 384, 768...);
        # the registered length of each embedder lives in `embedders`. Search runs on an in-memory
        # matrix kept in step with this table (see sinks/_vector_index.py and docs/memory.md).
        """
        CREATE SEQUENCE errors_id START 1;
        CREATE TABLE errors (
            id           BIGINT NOT NULL DEFAULT nextval('errors_id'),
            time         TIMESTAMPTZ NOT NULL,
            type         VARCHAR NOT NULL,
            description  VARCHAR NOT NULL,
            cause        VARCHAR NOT NULL,
            principle    VARCHAR,
            repeat_count BIGINT NOT NULL DEFAULT 1
        );
        CREATE INDEX errors_type ON errors (type);
        CREATE SEQUENCE principles_id START 1;
        CREATE TABLE principles (
            id              BIGINT NOT NULL DEFAULT nextval('principles_id'),
            time            TIMESTAMPTZ NOT NULL,
            text            VARCHAR NOT NULL,
            source_error_id BIGINT,
            active          BOOLEAN NOT NULL DEFAULT true
        );
        CREATE TABLE embedders (
            name       VARCHAR NOT NULL,
            dim        INTEGER NOT NULL CHECK (dim > 0),
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE vectors (
            id           VARCHAR NOT NULL,
            episode_id   VARCHAR,
            type         VARCHAR NOT NULL,
            text         VARCHAR NOT NULL,
            embedder     VARCHAR NOT NULL,
            dim          INTEGER NOT NULL,
            embedding    FLOAT[] NOT NULL CHECK (len(embedding) = dim),
            created_at   TIMESTAMPTZ NOT NULL,
            access_count BIGINT NOT NULL DEFAULT 0,
            last_access  TIMESTAMPTZ
        );
        CREATE INDEX vectors_embedder ON vectors (embedder);
        CREATE INDEX vectors_created_at ON vectors (created_at);
        """,
    ),
    (
        3,
        # What `being import-legacy` brought over, so that a second run adds nothing even for
        # rows whose own dedup would count them again (an error's repeat_count).
        """
        CREATE TABLE legacy_imports (
            kind        VARCHAR NOT NULL,
            key         VARCHAR NOT NULL,
            new_id      VARCHAR NOT NULL,
            imported_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        4,
        # The recorder: every event that entered the pipeline and every LLM exchange, per run.
        """
        CREATE TABLE runs (
            run_id          VARCHAR NOT NULL,
            started_at      TIMESTAMPTZ NOT NULL,
            kind            VARCHAR NOT NULL,
            service_version VARCHAR NOT NULL,
            settings        JSON
        );
        CREATE TABLE events (
            run_id  VARCHAR NOT NULL,
            seq     BIGINT NOT NULL,
            id      VARCHAR NOT NULL,
            time    TIMESTAMPTZ NOT NULL,
            type    VARCHAR NOT NULL,
            source  VARCHAR NOT NULL,
            payload JSON
        );
        CREATE INDEX events_time ON events (time);
        CREATE TABLE llm_exchanges (
            run_id        VARCHAR NOT NULL,
            seq           BIGINT NOT NULL,
            time          TIMESTAMPTZ NOT NULL,
            key           VARCHAR NOT NULL,
            operation     VARCHAR NOT NULL,
            backend       VARCHAR NOT NULL,
            request       JSON NOT NULL,
            response      JSON,
            error         JSON,
            duration_s    DOUBLE NOT NULL,
            first_chunk_s DOUBLE
        );
        CREATE INDEX llm_exchanges_key ON llm_exchanges (key);
        """,
    ),
    (
        5,
        # /search reads its hits' texts by id right after scoring them: an index makes that a
        # point lookup (measured 3.7 ms -> 1.3 ms for 10 hits among 100,000 vectors).
        """
        CREATE INDEX vectors_id ON vectors (id);
        """,
    ),
    (
        6,
        # The mind's tables. goals: one row per goal id, replaced by a later version (the sink
        # deletes and inserts in the batch's transaction; no key constraint, because DuckDB checks
        # a key eagerly within a transaction). memory_blocks: one row per name. notes: every note
        # the mind wrote, and whether its text is in its file yet (`state`: pending, appended,
        # refused) and where in its file its text begins, which makes the append after the commit
        # exactly-once (sinks/_notes.py).
        # principles learnt by the mind say so in `source`.
        """
        CREATE TABLE goals (
            id      VARCHAR NOT NULL,
            text    VARCHAR NOT NULL,
            status  VARCHAR NOT NULL,
            due     TIMESTAMPTZ,
            created TIMESTAMPTZ NOT NULL,
            done    TIMESTAMPTZ,
            time    TIMESTAMPTZ NOT NULL,
            source  VARCHAR NOT NULL
        );
        CREATE TABLE memory_blocks (
            name VARCHAR NOT NULL,
            text VARCHAR NOT NULL,
            time TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE notes (
            id     VARCHAR NOT NULL,
            path   VARCHAR NOT NULL,
            text   VARCHAR NOT NULL,
            time   TIMESTAMPTZ NOT NULL,
            state  VARCHAR NOT NULL DEFAULT 'pending',
            reason VARCHAR,
            file_offset BIGINT
        );
        ALTER TABLE principles ADD COLUMN source VARCHAR;
        """,
    ),
    (
        7,
        # ingest: every message sent over HTTP, committed before its 202 (sinks/_ingest_store.py);
        # `done` once its reply is stored, so a restart emits again only the unanswered ones.
        # outbox_lines: the episodes whose line is in the outbox file (sinks/_outbox.py); the
        # answers stored before the outbox existed are marked as if written, so that the first
        # start with an outbox does not append a database's whole history to it.
        """
        CREATE TABLE ingest (
            id              VARCHAR NOT NULL,
            client          VARCHAR NOT NULL,
            idempotency_key VARCHAR,
            received_at     TIMESTAMPTZ NOT NULL,
            type            VARCHAR NOT NULL,
            text            VARCHAR NOT NULL,
            sender          VARCHAR,
            done            BOOLEAN NOT NULL DEFAULT false
        );
        CREATE INDEX ingest_id ON ingest (id);
        CREATE TABLE outbox_lines (
            episode_id VARCHAR NOT NULL,
            time       TIMESTAMPTZ NOT NULL,
            state      VARCHAR NOT NULL
        );
        CREATE INDEX outbox_lines_episode ON outbox_lines (episode_id);
        INSERT INTO outbox_lines
            SELECT id, time, 'before_outbox' FROM episodes WHERE type IN ('user.reply', 'being.message');
        """,
    ),
    (
        8,
        # The JetStream out sink (sinks/_jetstream_out.py). out_published: the episodes published to
        # the out stream and acknowledged by it (`state`: published, duplicate (the stream had it
        # already), shortened (too big, published cut), or before_stream/skipped: never to be
        # published), with the stream's sequence. out_streams: each out stream this database has
        # fed, since when, and whether every episode was published or only the replies; its first
        # start marks what was committed before as before_stream, so that enabling the sink on an
        # old database does not pour its history into the stream.
        """
        CREATE TABLE out_published (
            episode_id  VARCHAR NOT NULL,
            time        TIMESTAMPTZ NOT NULL,
            state       VARCHAR NOT NULL,
            stream_seq  BIGINT,
            recorded_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX out_published_episode ON out_published (episode_id);
        CREATE TABLE out_streams (
            stream           VARCHAR NOT NULL,
            started_at       TIMESTAMPTZ NOT NULL,
            publish_episodes BOOLEAN NOT NULL
        );
        """,
    ),
    (
        9,
        # run_seeds: what the being's memory was seeded with at each start, one part per row
        # (sinks/_recording_seed.py), so that a replay starts each run with the same memory.
        """
        CREATE TABLE run_seeds (
            run_id VARCHAR NOT NULL,
            time   TIMESTAMPTZ NOT NULL,
            seq    BIGINT NOT NULL,
            part   VARCHAR NOT NULL,
            body   JSON NOT NULL
        );
        CREATE INDEX run_seeds_time ON run_seeds (time);
        """,
    ),
)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest step applied to this database (0 for a new file)."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ)")
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def apply_schema(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every step newer than the file's version; returns the version reached."""
    current = schema_version(con)
    for version, sql in MIGRATIONS:
        if version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
        current = version
    return current
