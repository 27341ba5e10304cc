"""What the JetStream source asks the database at a start: the messages with a ``Nats-Msg-Id`` answered lately.

JetStream drops a copy published again with the same ``Nats-Msg-Id`` only inside the stream's
duplicate window; past it, the copy is delivered as new. The source recognises the ids it
acknowledged lately, and a start seeds those from here, so a copy published again after a
restart is recognised too instead of being answered and stored a second time.

The ids are those of the newest ``user.message``/``user.urgent`` episodes of source ``nats`` that
carry a ``msg_id``: a message's own episode is stored with or before the row that acknowledges it
(its reply), so this is every message answered, and at most a few more, stored just before a stop
cut their reply short. Counting those as answered is safe: a recognised copy is only ``recovered``,
and a recovered message whose reply is not stored is answered. A message without ``Nats-Msg-Id``
is left out: its id comes from its stream sequence, which a copy published again does not share,
and which a stream made again starts over with.

No index serves the filter (DuckDB's indexes serve point lookups; the source is inside ``data``),
so this is one scan of the episodes' ``type`` and ``time`` and of the ``data`` of user messages,
then a top-``limit``: about 50 ms cold for 2,000,000 episodes, once per start.
"""

from __future__ import annotations

import duckdb

from sinks._sql import translated
from streams import NATS_SOURCE

__all__ = ["recent_nats_ids"]

_SQL = """
    SELECT json_extract_string(data, '$.event_id')
    FROM episodes
    WHERE type IN ('user.message', 'user.urgent')
      AND json_extract_string(data, '$.source') = ?
      AND json_extract_string(data, '$.msg_id') IS NOT NULL
    ORDER BY time DESC, id DESC
    LIMIT ?
"""


@translated("recent nats ids")
def recent_nats_ids(con: duckdb.DuckDBPyConnection, *, limit: int) -> list[str]:
    """The event ids of the newest ``limit`` messages with a ``Nats-Msg-Id`` stored, oldest first."""
    if limit < 1:
        raise ValueError(f"recent_nats_ids: limit: expected >= 1, got {limit}")
    rows = con.execute(_SQL, [NATS_SOURCE, limit]).fetchall()
    return [str(event_id) for (event_id,) in reversed(rows) if event_id]
