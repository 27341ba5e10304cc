"""``being record export``: the recorded events, exchanges, episodes and seeds of a time window, as one file.

The bodies are built as JSON by DuckDB itself (``json_object``), so an export of a million
events streams through without a Python object per field.
"""

from __future__ import annotations

import json
import os
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from sinks._recording_format import FORMAT_NAME, ITEM_KINDS, RecordingHeader
from sinks._recording_seed import SEED_BODY
from sinks._recording_sql import EVENT_BODY, EXCHANGE_BODY, UTC_TIME
from sinks.errors import SinkError

__all__ = ["EXPORT_FORMATS", "export_recording"]

EXPORT_FORMATS = ("jsonl", "parquet")

_ITEMS = f"""
    SELECT 'event' AS kind, time, run_id, seq,
           {EVENT_BODY}::VARCHAR AS body
    FROM events WHERE {{window}}
    UNION ALL
    SELECT 'exchange', time, run_id, seq, {EXCHANGE_BODY}::VARCHAR
    FROM llm_exchanges WHERE {{window}}
    UNION ALL
    SELECT 'episode', time, '', 0,
           json_object('id', id, 'time', {UTC_TIME}, 'type', type, 'description', description,
                       'outcome', outcome, 'data', data)::VARCHAR
    FROM episodes WHERE {{window}}{{seeds}}
    ORDER BY time, kind, run_id, seq
"""
_SEEDS = f"""
    UNION ALL
    SELECT 'seed', time, run_id, seq, {SEED_BODY}::VARCHAR FROM run_seeds WHERE {{window}}"""


def _window(since: datetime | None, until: datetime | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        clauses.append("time >= ?")
        params.append(since)
    if until is not None:
        clauses.append("time < ?")
        params.append(until)
    return (" AND ".join(clauses) or "TRUE"), params


def export_recording(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    *,
    format: str,
    header: RecordingHeader,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """Write the window's recording to ``out`` (atomically: a temporary file renamed at the end).

    Returns:
        How many items of each kind were written.

    Raises:
        SinkError: an unknown format, or the database or the file system refused.
    """
    if format not in EXPORT_FORMATS:
        raise SinkError(f"export format {format!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    where, params = _window(since, until)
    try:
        # a database from before schema step 8, opened read-only, has no run_seeds table
        seeded = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'run_seeds'"
        ).fetchall() == [(1,)]
    except duckdb.Error as exc:
        raise SinkError(f"cannot read the recording tables: {exc}") from exc
    sql = _ITEMS.format(window=where, seeds=_SEEDS.format(window=where) if seeded else "")
    try:
        with warnings.catch_warnings():
            # DuckDB notes that a parameterised query's Arrow result is copied once; one copy is fine here.
            warnings.simplefilter("ignore", UserWarning)
            table: pa.Table = con.execute(sql, params * (4 if seeded else 3)).to_arrow_table()
    except duckdb.Error as exc:
        raise SinkError(f"cannot read the recording tables: {exc}") from exc
    kinds = table.column("kind").to_pylist()
    counts = {kind: kinds.count(kind) for kind in ITEM_KINDS}
    header_obj = {**header.to_json(), "counts": counts}
    temporary = out.with_name(f".{out.name}.partial")
    try:
        if format == "jsonl":
            with temporary.open("w", encoding="utf-8") as handle:
                handle.write(json.dumps(header_obj, ensure_ascii=False) + "\n")
                for kind, body in zip(kinds, table.column("body").to_pylist(), strict=True):
                    handle.write(f'{{"kind":"{kind}","{kind}":{body}}}\n')
                handle.flush()
                os.fsync(handle.fileno())
        else:
            data = pa.table(
                {
                    "kind": table.column("kind"),
                    "seq": pa.array(range(len(kinds)), pa.int64()),
                    "time": table.column("time"),
                    "body": table.column("body"),
                }
            )
            data = data.replace_schema_metadata({FORMAT_NAME: json.dumps(header_obj, ensure_ascii=False)})
            pq.write_table(data, temporary, compression="zstd")
        temporary.replace(out)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise SinkError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return counts
