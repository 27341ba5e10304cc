"""The notes writer: a note's text appended to its file in the notes folder, after its batch commits.

A :class:`NoteRow` is stored by the batch (table ``notes``, state ``pending``) in the same
transaction as the episodes; then, still on the writer thread, :func:`append_pending_notes`
appends every pending note to ``<notes_dir>/<path>`` and marks it ``appended`` (or ``refused``,
with a dead letter holding the whole note, so nothing is lost).

The path is checked again here, whatever the tool checked: one plain file name
(:func:`note_path_problem`), the notes folder not a symbolic link, the file opened relative to
the folder with ``O_NOFOLLOW`` (a symbolic link is refused), a regular file, and the file's whole
size after the append within ``max_bytes``.

Exactly once, even across a kill: before a byte of a note is written, where it begins in its
file is stored with it (``notes.file_offset``), and the file is synced before the note is marked
``appended``. A note found still ``pending`` (the process died between the commit and the mark)
is looked for at that offset: found whole, it is only marked; found torn (the process died
during the write), the file is cut back to the offset and the note written again; never begun,
it is appended. What is at the offset is cut only when it is the beginning of this very note,
so a file changed by hand since loses nothing (the note is then appended anew). Pending notes
are appended by the first batch a sink writes after a start and by every batch that holds notes.

An I/O error (a full disk, a permission) ends the pass: that note and the ones after it stay
pending, to be tried again with the next batch that holds notes (so a note torn by the error is
always the last thing in its file when it is written again); a refusal is final.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from sinks._rows import DeadLetterRow
from streams import stable_id

__all__ = ["NOTES_MAX_BYTES", "NotesResult", "append_pending_notes", "note_path_problem", "notes_folder"]

log = logging.getLogger("sinks")

NOTES_MAX_BYTES = 65_536
"""The default cap on one note's text and on a notes file's whole size."""

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}\.md")
_DRIVE = re.compile(r"^[A-Za-z]:")


def note_path_problem(path: object) -> str | None:
    """Why ``path`` is not an acceptable notes file name (``None`` when it is).

    Accepted: one file name inside the notes folder, lower-case letters, digits, ``.``, ``_``
    and ``-``, starting with a letter or digit and ending in ``.md``, at most 67 characters.
    """
    if not isinstance(path, str):
        return f"expected a text, got {type(path).__name__}"
    if not path:
        return "expected a file name, got an empty text"
    if "\x00" in path:
        return "a NUL character in the name"
    if len(path) > 67:
        return f"expected at most 67 characters, got {len(path)}"
    if "\\" in path:
        return "a backslash in the name"
    if path.startswith("/"):
        return "an absolute path (expected a name inside the notes folder)"
    if _DRIVE.match(path):
        return "a drive letter (expected a name inside the notes folder)"
    if ".." in path.split("/") or path == "..":
        return "a '..' component (expected a name inside the notes folder)"
    if "/" in path:
        return "a folder in the name (expected one file name)"
    if path.startswith("."):
        return "a hidden name"
    if not _NAME.fullmatch(path):
        return "expected lower-case letters, digits, '.', '_' or '-', ending in '.md'"
    return None


@dataclass(frozen=True, slots=True)
class NotesResult:
    """What one pass over the pending notes did.

    Attributes:
        appended: notes now in their files (written by this pass, or found written).
        refused: a dead letter for each note refused (already stored in ``dead_letters``).
        failed: notes left pending after an I/O error (tried again later).
    """

    appended: int = 0
    refused: tuple[DeadLetterRow, ...] = ()
    failed: int = 0


class _Refused(Exception):
    """A note that must not be written (its reason is final)."""


def notes_folder(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The default notes folder: ``notes`` beside the database file (``None`` for a database in memory)."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    path = rows[0][0] if rows else None
    return Path(path).parent / "notes" if path else None


def _body(text: str) -> bytes:
    return text.rstrip("\n").encode("utf-8") + b"\n\n"


def _separator(before: bytes) -> bytes:
    """A newline to end a last line the file left open (someone wrote it by hand)."""
    return b"\n" if before and not before.endswith(b"\n") else b""


def _open_folder(notes_dir: Path) -> int:
    notes_dir.mkdir(parents=True, exist_ok=True)
    if notes_dir.is_symlink():
        raise _Refused(f"the notes folder {notes_dir} is a symbolic link")
    try:
        return os.open(notes_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _Refused(f"the notes folder {notes_dir} is not a folder") from exc
        raise


def _append(
    folder_fd: int,
    notes_dir: Path,
    path: str,
    text: str,
    max_bytes: int,
    started: int | None,
    record_start: Callable[[int], None],
) -> None:
    """Append one note (or finish a torn append of it); raises _Refused or OSError.

    Args:
        started: where an earlier attempt began writing this note (``None``: never begun).
        record_start: stores where this attempt begins, before a byte is written.
    """
    problem = note_path_problem(path)
    if problem is not None:
        raise _Refused(f"path {path!r}: {problem}")
    inside = Path(os.path.realpath(notes_dir / path))
    if inside.parent != Path(os.path.realpath(notes_dir)):
        raise _Refused(f"path {path!r} resolves outside the notes folder")
    body = _body(text)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=folder_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Refused(f"path {path!r} is a symbolic link") from exc
        if exc.errno == errno.EISDIR:
            raise _Refused(f"path {path!r} is not a regular file") from exc
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Refused(f"path {path!r} is not a regular file")
        if info.st_size > max_bytes:
            raise _Refused(f"the file {path!r} holds {info.st_size} bytes, over the cap of {max_bytes}")
        content = os.pread(fd, info.st_size, 0)
        if started is not None and started <= len(content):
            block = _separator(content[:started]) + body
            written = content[started:]
            if written == block:
                return  # written whole before a kill; only its mark was missing
            if block.startswith(written):
                # torn by a kill or an I/O error during the write: cut it back and write it again
                _check_size(path, started + len(block), max_bytes)
                os.ftruncate(fd, started)
                _write_all(fd, block)
                return
            # the file changed by other hands since: never cut what this writer did not write
        block = _separator(content) + body
        _check_size(path, len(content) + len(block), max_bytes)
        record_start(len(content))
        _write_all(fd, block)
    finally:
        os.close(fd)


def _check_size(path: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise _Refused(f"the file {path!r} would hold {size} bytes, over the cap of {max_bytes}")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _letter(note_id: str, path: str, text: str, time: datetime, reason: str) -> DeadLetterRow:
    return DeadLetterRow(
        id=stable_id("note.refused", note_id),
        time=time,
        source="mind",
        reason=f"note_refused: {reason}",
        raw=f"{path}\n{text}",
    )


def _mark(con: duckdb.DuckDBPyConnection, note_id: str, state: str, reason: str | None) -> None:
    con.execute("UPDATE notes SET state = ?, reason = ? WHERE id = ?", [state, reason, note_id])


def append_pending_notes(
    con: duckdb.DuckDBPyConnection, *, notes_dir: str | Path | None = None, max_bytes: int = NOTES_MAX_BYTES
) -> NotesResult:
    """Append every pending note to its file and mark it (run it on the writer thread, outside a transaction).

    Args:
        con: the writer's connection.
        notes_dir: the notes folder (created when missing); ``None``: ``notes`` beside the database.
        max_bytes: the cap on a notes file's whole size.
    """
    pending: list[tuple[Any, ...]] = con.execute(
        "SELECT id, path, text, time, file_offset FROM notes WHERE state = 'pending' ORDER BY time, rowid"
    ).fetchall()
    if not pending:
        return NotesResult()
    folder = Path(notes_dir) if notes_dir is not None else notes_folder(con)
    appended = failed = 0
    refused: list[DeadLetterRow] = []
    folder_fd: int | None = None
    folder_problem: str | None = None
    try:
        if folder is None:
            folder_problem = "no notes folder (the database is in memory and none was given)"
        else:
            try:
                folder_fd = _open_folder(folder)
            except _Refused as exc:
                folder_problem = str(exc)
            except OSError as exc:
                log.error("sink.notes_folder_failed", extra={"folder": str(folder), "error": str(exc)})
                return NotesResult(failed=len(pending))
        for note_id, path, text, time, started in pending:
            try:
                if folder_problem is not None:
                    raise _Refused(folder_problem)
                assert folder is not None and folder_fd is not None

                def record_start(offset: int, note_id: str = note_id) -> None:
                    con.execute("UPDATE notes SET file_offset = ? WHERE id = ?", [offset, note_id])

                _append(folder_fd, folder, path, text, max_bytes, started, record_start)
            except _Refused as exc:
                letter = _letter(note_id, path, text, time.astimezone(UTC), str(exc))
                con.execute("BEGIN TRANSACTION")
                try:
                    _mark(con, note_id, "refused", str(exc))
                    con.execute(
                        "INSERT INTO dead_letters (id, time, source, reason, raw) VALUES (?, ?, ?, ?, ?)",
                        [*_letter_values(letter)],
                    )
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                refused.append(letter)
                log.warning("sink.note_refused", extra={"note": note_id, "reason": str(exc)})
            except OSError as exc:
                # Stop here: this note may be torn in its file, and a later note appended after it
                # would be cut away when this one is written again. What is left stays pending.
                failed = len(pending) - appended - len(refused)
                log.error("sink.note_failed", extra={"note": note_id, "path": path, "error": str(exc)})
                break
            else:
                _mark(con, note_id, "appended", None)
                appended += 1
    finally:
        if folder_fd is not None:
            os.close(folder_fd)
    return NotesResult(appended=appended, refused=tuple(refused), failed=failed)


def _letter_values(letter: DeadLetterRow) -> tuple[Any, ...]:
    return (letter.id, letter.time, letter.source, letter.reason, letter.raw)
