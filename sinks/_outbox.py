"""The outbox: every reply and message of the being, one JSON line each, appended after its episode commits.

``outbox.jsonl`` holds one line per ``user.reply`` (success, fallback, deferred...) and
``being.message`` episode, in the order their batches committed::

    {"id": "<episode id>", "time": "...", "type": "user.reply", "outcome": "success",
     "text": "...", "in_reply_to": "<message id>", "message": "<what it answers>"}

Never twice, never torn, none lost, across kills:

- A pass writes its lines with one ``write`` of whole lines (looped only if the kernel takes part
  of it), ``fsync``, and only then records the episodes in ``outbox_lines``. :meth:`Outbox.append`
  records them at once (a statement of its own); the sink's pass (:meth:`Outbox.write_committed`,
  run by the batch's job right after its commit, with the lines made from the committed rows in
  hand) leaves them for the next batch's transaction to record (:meth:`Outbox.record_written`,
  one Arrow insert among the batch's own), so a batch costs no transaction of the outbox's own.
- Either way every recording records *all* the lines written before it, so the lines not recorded
  are always the file's last ones, and an episode committed but not recorded may or may not be
  in the file, and if it is, its line is among the file's last lines (nothing is written after an
  unrecorded line before it is recorded or resolved). :meth:`Outbox.start` (at each start) and
  every pass after a failed one resolve them: a last line without its newline (a write cut by a
  kill or a full disk) is cut off (the file is truncated after its last newline), the ids in the
  file's last lines are read, and an episode found there is only recorded; the others are
  written. The last pass before a stop is recorded so, by the next start.
- Past ``rotate_bytes`` the file is renamed ``<path>.1`` (``.1`` becomes ``.2``..., at most
  ``keep_rotated`` kept), only between passes, after what was in doubt is resolved and every
  line written is recorded (a line of a rotated file is never looked for again).

An I/O error (a full disk) ends the pass: its episodes stay unrecorded and are tried again by the
next pass. Everything here runs on the writer thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from sinks._ingest_store import reply_text
from sinks._rows import EpisodeRow, to_json_bytes

__all__ = ["OUTBOX_TYPES", "Outbox", "OutboxPolicy", "outbox_line"]

log = logging.getLogger("sinks")

OUTBOX_TYPES = frozenset({"user.reply", "being.message"})
_TAIL_BLOCK = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxPolicy:
    """Where the outbox is and when it rotates.

    Args:
        path: the outbox file (its folder is made when missing).
        rotate_bytes: a file this big is rotated before the next pass writes to it.
        keep_rotated: rotated files kept (``<path>.1`` newest ... ``<path>.N``).
    """

    path: Path
    rotate_bytes: int = 64 * 1024 * 1024
    keep_rotated: int = 5

    def __post_init__(self) -> None:
        if self.rotate_bytes < 1:
            raise ValueError(f"OutboxPolicy.rotate_bytes: expected >= 1, got {self.rotate_bytes}")
        if self.keep_rotated < 1:
            raise ValueError(f"OutboxPolicy.keep_rotated: expected >= 1, got {self.keep_rotated}")


def outbox_line(episode_id: str, time: Any, kind: str, outcome: str, description: str, data: dict[str, Any]) -> bytes:
    """The line of one episode, with its newline (its time in UTC, however the connection reads it back)."""
    line: dict[str, Any] = {
        "id": episode_id,
        "time": time.astimezone(UTC).isoformat(),
        "type": kind,
        "outcome": outcome,
        "text": reply_text(outcome, description, data),
    }
    if kind == "user.reply":
        line["in_reply_to"] = data.get("event_id")
        line["message"] = data.get("message")
    return orjson.dumps(line) + b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


def _cut_torn_line(fd: int) -> int:
    """Truncate a last line that has no newline; returns the file's size after."""
    size = os.fstat(fd).st_size
    end = size
    while end > 0:
        start = max(0, end - _TAIL_BLOCK)
        block = os.pread(fd, end - start, start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        end = start
    else:
        keep = 0
    if keep < size:
        log.warning("sink.outbox_torn_line_cut", extra={"bytes": size - keep})
        os.ftruncate(fd, keep)
        os.fsync(fd)
    return keep


def _last_ids(fd: int, size: int, count: int) -> set[str]:
    """The ``id`` of each of the file's last ``count`` lines (lines that are not ours are passed over)."""
    end, tail = size, b""
    while end > 0 and tail.count(b"\n") <= count:
        start = max(0, end - _TAIL_BLOCK)
        tail = os.pread(fd, end - start, start) + tail
        end = start
    lines = tail.split(b"\n")[:-1][-count:] if count else []
    ids: set[str] = set()
    for line in lines:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            ids.add(value["id"])
    return ids


class Outbox:
    """Appends committed episodes to the outbox file, once each (module docstring); used on the writer thread."""

    def __init__(self, policy: OutboxPolicy) -> None:
        self.policy = policy
        self._in_doubt: list[str] = []  # recorded nowhere, maybe in the file's last lines
        self._written: list[tuple[str, datetime]] = []  # in the file (its last lines), not recorded yet
        self._recording = 0  # of them, how many the open transaction records (record_written)
        self.written = 0
        self.failed = 0

    def start(self, con: duckdb.DuckDBPyConnection) -> int:
        """At start: resolve what a kill left (a torn line, episodes committed, not recorded); returns lines written."""
        rows = con.execute(
            "SELECT e.id FROM episodes e WHERE e.type IN ('user.reply', 'being.message')"
            " AND NOT EXISTS (SELECT 1 FROM outbox_lines o WHERE o.episode_id = e.id) ORDER BY e.time, e.id"
        ).fetchall()
        self._in_doubt = [row[0] for row in rows]
        return self.append(con, (), cut=True)

    def append(self, con: duckdb.DuckDBPyConnection, episode_ids: Sequence[str], *, cut: bool = False) -> int:
        """Append the lines of ``episode_ids`` (committed episodes of the outbox's types); returns lines written."""
        doubt = list(self._in_doubt)
        todo = doubt + [i for i in episode_ids if i not in set(doubt)]
        if not todo and not cut:
            return 0
        try:
            written = self._write(con, todo, doubt, cut=cut or bool(doubt))
        except OSError as exc:
            self._in_doubt = todo
            self.failed += 1
            log.error("sink.outbox_failed", extra={"path": str(self.policy.path), "error": str(exc)})
            return 0
        try:
            if self._written:  # first: whatever is recorded, the lines not recorded stay the file's last
                self._record(con, self._written)
                self._written, self._recording = [], 0
            if todo:
                con.execute(
                    "INSERT INTO outbox_lines SELECT e.id, e.time, 'written' FROM episodes e"
                    " WHERE e.id IN (SELECT unnest(?::VARCHAR[]))",
                    [todo],
                )
        except duckdb.Error as exc:
            self._in_doubt = todo  # written, not recorded: the next pass finds them in the file's tail
            log.error("sink.outbox_record_failed", extra={"error": str(exc)})
            return written
        self._in_doubt = []
        self.written += written
        return written

    def _write(self, con: duckdb.DuckDBPyConnection, todo: list[str], doubt: list[str], *, cut: bool) -> int:
        path = self.policy.path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _open(path)
        try:
            size = _cut_torn_line(fd) if cut else os.fstat(fd).st_size
            found = _last_ids(fd, size, len(doubt)) & set(doubt) if doubt else set()
            wanted = [i for i in todo if i not in found]
            if not wanted:
                return 0
            block = self._lines(con, wanted)
            if self._may_rotate(con, size, len(block)):
                os.close(fd)
                fd = -1
                self._rotate()
                fd = _open(path)
            _write_all(fd, block)
            return len(wanted)
        finally:
            if fd >= 0:
                os.close(fd)

    def _may_rotate(self, con: duckdb.DuckDBPyConnection, size: int, adding: int) -> bool:
        """Whether to rotate before ``adding`` bytes to a file of ``size``; the lines written are recorded first."""
        if size == 0 or size + adding <= self.policy.rotate_bytes:
            return False
        if self._written:  # a line of a rotated file is never looked for again
            try:
                self._record(con, self._written)
            except duckdb.Error as exc:
                log.error("sink.outbox_record_failed", extra={"error": str(exc)})
                return False  # not this time: the lines not recorded stay the file's last
            self._written, self._recording = [], 0
        return True

    @staticmethod
    def _record(con: duckdb.DuckDBPyConnection, written: Sequence[tuple[str, datetime]]) -> None:
        """Record ``written`` in ``outbox_lines``: one insert from an Arrow table, in the caller's transaction."""
        _being_outbox_written = pa.table(  # read by name in the statement below (a replacement scan)
            {
                "episode_id": pa.array([w[0] for w in written], pa.string()),
                "time": pa.array([w[1] for w in written], pa.timestamp("us", tz="UTC")),
            }
        )
        con.execute("INSERT INTO outbox_lines SELECT episode_id, time, 'written' FROM _being_outbox_written")

    def record_written(self, con: duckdb.DuckDBPyConnection) -> None:
        """Inside a batch's transaction (before its commit): record every line written and not recorded yet.

        What it records counts as recorded only once :meth:`write_committed` follows the commit; a
        transaction rolled back leaves them for the next one.
        """
        self._recording = len(self._written)
        if self._written:
            self._record(con, self._written)

    def write_committed(self, con: duckdb.DuckDBPyConnection, rows: Sequence[EpisodeRow]) -> int:
        """After a batch's commit: append the lines of its ``rows`` of the outbox's types; returns lines written.

        The lines are made from the rows in hand and left for the next :meth:`record_written`.
        After a failed pass (something in doubt) this is :meth:`append`, which resolves it first.
        """
        del self._written[: self._recording]  # the commit that just happened recorded them
        self._recording = 0
        mine = [row for row in rows if row.type in OUTBOX_TYPES]
        if self._in_doubt:
            return self.append(con, [row.id for row in mine])
        if not mine:
            return 0
        # the data as stored (its canonical JSON read back), so a line is the same as one made at a start
        block = b"".join(
            outbox_line(r.id, r.time, r.type, r.outcome, r.description, orjson.loads(to_json_bytes(r.data)))
            for r in mine
        )
        fd = -1
        try:
            self.policy.path.parent.mkdir(parents=True, exist_ok=True)
            fd = _open(self.policy.path)
            if self._may_rotate(con, os.fstat(fd).st_size, len(block)):
                os.close(fd)
                fd = -1
                self._rotate()
                fd = _open(self.policy.path)
            _write_all(fd, block)
        except OSError as exc:
            self._in_doubt = [row.id for row in mine]
            self.failed += 1
            log.error("sink.outbox_failed", extra={"path": str(self.policy.path), "error": str(exc)})
            return 0
        finally:
            if fd >= 0:
                os.close(fd)
        self._written.extend((row.id, row.time) for row in mine)
        self.written += len(mine)
        return len(mine)

    def _lines(self, con: duckdb.DuckDBPyConnection, ids: list[str]) -> bytes:
        rows = con.execute(
            "SELECT id, time, type, outcome, description, data::VARCHAR FROM episodes"
            " WHERE id IN (SELECT unnest(?::VARCHAR[]))",
            [ids],
        ).fetchall()
        by_id = {row[0]: row for row in rows}
        lines = []
        for episode_id in ids:  # in commit order, not the query's
            row = by_id.get(episode_id)
            if row is not None:
                _, time, kind, outcome, description, data = row
                details = orjson.loads(data) if data else {}
                lines.append(outbox_line(episode_id, time, kind, outcome, description, details))
        return b"".join(lines)

    def _rotate(self) -> None:
        path, keep = self.policy.path, self.policy.keep_rotated
        oldest = path.with_name(f"{path.name}.{keep}")
        if oldest.exists():
            oldest.unlink()
        for n in range(keep - 1, 0, -1):
            older = path.with_name(f"{path.name}.{n}")
            if older.exists():
                older.rename(path.with_name(f"{path.name}.{n + 1}"))
        path.rename(path.with_name(f"{path.name}.1"))
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        log.info("sink.outbox_rotated", extra={"path": str(path)})
