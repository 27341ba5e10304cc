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
