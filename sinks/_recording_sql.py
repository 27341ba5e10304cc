"""The SQL that makes stored rows into the bodies of a recording's items, shared by the export and the reader.

Times are written in UTC with microseconds and an explicit zone, the spelling a replay reads back.
"""

from __future__ import annotations

__all__ = ["EVENT_BODY", "EXCHANGE_BODY", "UTC_TIME"]

UTC_TIME = "strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f+00:00')"
"""A row's ``time`` as ISO 8601 text in UTC."""

EVENT_BODY = f"json_object('id', id, 'type', type, 'time', {UTC_TIME}, 'source', source, 'payload', payload)"
"""An ``events`` row as the body of an ``event`` item."""

EXCHANGE_BODY = (
    "json_object('key', key, 'operation', operation, 'backend', backend, 'request', request,"
    " 'response', response, 'error', error, 'duration_s', duration_s, 'first_chunk_s', first_chunk_s,"
    f" 'time', {UTC_TIME})"
)
"""An ``llm_exchanges`` row as the body of an ``exchange`` item (its time: when the replay gives the answer)."""
