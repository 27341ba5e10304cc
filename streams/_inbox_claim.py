"""A claimed inbox file, addressed by its open descriptor, and the inbox's state: the claims.

A claim keeps the descriptor it was opened with until it lets go of the file, so it reads
the same file (inode) whatever happens to its name, and it can ask whether anyone else still
holds that file open (:func:`streams._open_files.exclusive`) before it reads an unterminated
last line as final or deletes the file.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from streams._inbox_decoding import BadLine, GoodLine
from streams._inbox_reader import LineReader
from streams._open_files import InboxFiles

__all__ = ["Claim", "InboxState"]

log = logging.getLogger("streams")


class Claim:
    """One claimed file: how far it is read, which of its events wait for acknowledgement.

    Args:
        path: the claimed file's name (``inbox.txt.<time>.claimed``); its events' ids derive from it.
        fd: a descriptor open on it for reading; the claim closes it when it lets go.
        files: the file system (lease checks, unlink).
        recovered: left over from an earlier run (its events are marked ``recovered``).
        now: when it was claimed (the start of its quiet period).
        max_bytes: the most bytes read at once.
        max_line_bytes: a longer line becomes a dead letter.
    """

    def __init__(
        self,
        path: Path,
        fd: int,
        files: InboxFiles,
        *,
        recovered: bool,
        now: datetime,
        max_bytes: int,
        max_line_bytes: int,
    ) -> None:
        self.path = path
        self.fd = fd
        self.recovered = recovered
        self.unacked: set[str] = set()
        self.done = False
        """Wholly read, acknowledged, let go by every writer and quiet: waits to be deleted."""
        self.changed_at = now
        self._files = files
        self._signature = (-1, -1)
        self._reader = LineReader(self._pread, max_bytes=max_bytes, max_line_bytes=max_line_bytes)
        self._close = weakref.finalize(self, os.close, fd)
        self.observe(now)

    @property
    def encoding(self) -> str | None:
        """The file's encoding, once its first bytes are read."""
        return self._reader.encoding

    def _pread(self, size: int, offset: int) -> bytes:
        try:
            return os.pread(self.fd, size, offset)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc

    def observe(self, now: datetime) -> int:
        """The file's size now; a change (size or modification time) restarts its quiet period."""
        st = os.fstat(self.fd)
        signature = (st.st_size, st.st_mtime_ns)
        if signature != self._signature:
            self._signature = signature
            self.changed_at = now
        return st.st_size

    def quiet(self, now: datetime, quiet_s: float) -> bool:
        """Unchanged for ``quiet_s`` (as far as observed)."""
        return now - self.changed_at >= timedelta(seconds=quiet_s)

    def held_by_others(self) -> bool | None:
        """Whether another descriptor (a writer, a reader) has the file open; None when it cannot be told."""
        with self._files.exclusive(self.fd) as alone:
            return None if alone is None else not alone

    def final(self, now: datetime, quiet_s: float) -> bool:
        """Nothing more will be written: quiet, and (where that can be told) nobody else holds the file."""
        self.observe(now)
        return self.quiet(now, quiet_s) and self.held_by_others() is not True

    def next_line(self, now: datetime, quiet_s: float) -> GoodLine | BadLine | None:
        """The next line to emit, or None until more is written (or the file is final)."""
        return self._reader.next_line(lambda: self.final(now, quiet_s))

    def read_to_end(self) -> bool:
        """Every byte of the file has been turned into lines."""
        return self._reader.at_end(os.fstat(self.fd).st_size)

    def finished(self, now: datetime, quiet_s: float) -> bool:
        """Wholly read and acknowledged, quiet for ``quiet_s``, and nobody else holds it open."""
        size = self.observe(now)
        if self.unacked or not self._reader.at_end(size) or not self.quiet(now, quiet_s):
            return False
        return self.held_by_others() is not True

    def delete(self) -> bool:
        """Delete the file and let go of it, unless someone holds it open or it grew.

        The check and the delete are made under a lease (where there are leases), so a writer
        opening the file meanwhile waits for the delete, never writes into a deleted file unseen.

        Returns:
            True when the claim let go (the file is deleted, or its name no longer points to it);
            False when the file must be read on.

        Raises:
            OSError: the file could not be deleted (with its path).
        """
        failure: OSError | None = None
        with self._files.exclusive(self.fd) as alone:
            if alone is False or not self.read_to_end():
                return False
            if self._named():
                try:
                    self._files.unlink(self.path)
                except OSError as exc:
                    failure = OSError(exc.errno, exc.strerror, str(self.path))
                    failure.__cause__ = exc
        self.close()  # after the lease is released on it
        if failure is not None:
            raise failure
        return True

    def _named(self) -> bool:
        """Whether ``path`` is still this claim's file (a file put at the name since is left alone)."""
        try:
            at_name = os.lstat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(self.fd)
        return (at_name.st_dev, at_name.st_ino) == (mine.st_dev, mine.st_ino)

    def close(self) -> None:
        """Close the descriptor (once); the file stays."""
        self._close()


class InboxState:
    """The inbox's claims, owned by the event loop: call every method on the loop.

    The runtime owns it, so acknowledgements of rows committed while the pipeline drains still
    arrive after the source itself is disposed. Acknowledgements are made on the writer thread,
    so the runtime hops them to the loop before calling :meth:`acknowledge`; nothing here locks.
    """

    def __init__(self) -> None:
        self.claims: list[Claim] = []
        self.started = False
        self.wake: Callable[[], None] | None = None
        """Set by the running source: told when acknowledgements free room to emit more."""

    def acknowledge(self, event_ids: frozenset[str]) -> None:
        """Mark events as done (their rows are committed); the source then reads on at once."""
        freed = False
        for claim in tuple(self.claims):
            before = len(claim.unacked)
            claim.unacked -= event_ids
            freed = freed or len(claim.unacked) < before
        wake = self.wake
        if freed and wake is not None and any(not c.done for c in self.claims):
            wake()

    def in_flight(self) -> int:
        """Events emitted and not yet acknowledged."""
        return sum(len(c.unacked) for c in self.claims)

    def release_finished(self) -> list[Path]:
        """Delete the claimed files that are wholly read and acknowledged, now (at shutdown).

        The quiet period is not waited for: the service is stopping. A claimed file that grew
        meanwhile, or that another process still holds open, is kept (it is read again on the
        next start).

        Returns:
            The files deleted.
        """
        released: list[Path] = []
        for claim in list(self.claims):
            if claim.unacked:
                continue
            try:
                if not claim.read_to_end() or not claim.delete():
                    continue
            except OSError as exc:
                log.warning("inbox.release_failed", extra={"path": str(claim.path), "error": str(exc)})
                continue
            self.claims.remove(claim)
            released.append(claim.path)
        return released

    def close(self) -> None:
        """Close every claim's descriptor, keeping the files (as the process's exit does)."""
        for claim in self.claims:
            claim.close()
