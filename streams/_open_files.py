"""Opening inbox files safely, and asking whether any other process still holds one open.

- :func:`open_regular` opens a path for reading only if it is a regular file: it looks first
  (``lstat``, so a device or FIFO is never opened), opens with ``O_NOFOLLOW`` (a symbolic link
  is never followed) and ``O_NONBLOCK`` (a FIFO swapped in meanwhile cannot block), and checks
  the opened descriptor again (``fstat``). Anything else raises :class:`NotRegularFileError`.
- :func:`exclusive` tells whether this descriptor is the only one open on its file, with a
  Linux write lease (``F_SETLEASE``/``F_WRLCK``): the kernel grants it only while no other
  descriptor to the file is open, for reading or writing, in this process or another. While it
  is held, anyone's ``open()`` of the file waits, so a check and a delete made under it cannot
  race a new writer; it is released at the end of the ``with`` block.

  A lease holder is told of such an ``open()`` by a signal, ``SIGIO`` unless ``F_SETSIG`` says
  otherwise, and ``SIGIO``'s default action ends the process. So the signal is set to
  ``SIGURG`` (ignored by default) before the lease is taken.

  Where a lease cannot be had the answer is ``None`` (unknown) and the caller falls back on its
  quiet rule: the file system does not support them (``EINVAL``, ``ENOLCK``: NFS, some FUSE file
  systems, ``/proc/sys/fs/leases-enable`` = 0, any system but Linux), or the process may not take
  one (``EACCES``, ``EPERM``: the file belongs to another user and the process lacks ``CAP_LEASE``).
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import stat
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

__all__ = ["InboxFiles", "LocalFiles", "NotRegularFileError", "describe", "exclusive", "open_regular"]

_F_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)
_F_SETSIG = getattr(fcntl, "F_SETSIG", 10)
_F_WRLCK = getattr(fcntl, "F_WRLCK", 1)
_F_UNLCK = getattr(fcntl, "F_UNLCK", 2)
_HELD = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY})
_UNKNOWN = frozenset({errno.EINVAL, errno.ENOLCK, errno.EACCES, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP})
_KINDS = (
    (stat.S_ISDIR, "directory"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISLNK, "symbolic link"),
    (stat.S_ISREG, "regular file"),
)


class NotRegularFileError(OSError):
    """What is at a path is not a regular file: a symbolic link, FIFO, directory, device or socket."""

    def __init__(self, path: Path, kind: str) -> None:
        self.message = f"{path} is not a regular file: it is a {kind}"
        super().__init__(self.message)
        self.filename = str(path)
        self.kind = kind

    def __str__(self) -> str:
        return self.message


def describe(path: Path, st: os.stat_result) -> str:
    """What ``st`` (from ``lstat(path)``) is, in words; a symbolic link with its target."""
    kind = next((name for test, name in _KINDS if test(st.st_mode)), "file of unknown type")
    if stat.S_ISLNK(st.st_mode):
        try:
            return f"{kind} to {os.readlink(path)}"
        except OSError:
            return kind
    return kind


def open_regular(path: Path) -> int:
    """Open ``path`` for reading if it is a regular file, never through a symbolic link.

    Returns:
        The descriptor (close-on-exec, so no child process holds the file open).

    Raises:
        NotRegularFileError: anything but a regular file is at ``path``.
        OSError: it cannot be opened (missing, permission denied...).
    """
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFileError(path, describe(path, st))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a symbolic link since the lstat
            raise NotRegularFileError(path, "symbolic link") from exc
        raise
    try:
        opened = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(opened.st_mode):
        os.close(fd)
        raise NotRegularFileError(path, describe(path, opened))
    return fd


def _take_lease(fd: int) -> bool | None:
    if sys.platform != "linux":
        return None
    try:
        fcntl.fcntl(fd, _F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, _F_SETLEASE, _F_WRLCK)
    except OSError as exc:
        if exc.errno in _HELD:
            return False
        if exc.errno in _UNKNOWN:
            return None
        raise
    return True


@contextmanager
def exclusive(fd: int) -> Iterator[bool | None]:
    """For the ``with`` block, whether ``fd`` is the only open descriptor of its file.

    Yields:
        True: it is, and stays so for the block (another ``open()`` waits until it ends);
        False: another descriptor is open (a writer, a reader, even one in this process);
        None: unknown, leases are not available for this file.
    """
    alone = _take_lease(fd)
    try:
        yield alone
    finally:
        if alone:
            fcntl.fcntl(fd, _F_SETLEASE, _F_UNLCK)


class InboxFiles(Protocol):
    """What the inbox does to files: the seam tests use to make a file unreadable or undeletable."""

    def open(self, path: Path) -> int:
        """A descriptor to read ``path``; raises NotRegularFileError or OSError."""
        ...

    def exclusive(self, fd: int) -> AbstractContextManager[bool | None]:
        """Whether ``fd`` is the only open descriptor of its file, held for a ``with`` block."""
        ...

    def unlink(self, path: Path) -> None:
        """Delete ``path``."""
        ...


class LocalFiles:
    """The real file system: :func:`open_regular`, :func:`exclusive` and ``os.unlink``."""

    def open(self, path: Path) -> int:
        """A descriptor to read ``path`` (see :func:`open_regular`)."""
        return open_regular(path)

    def exclusive(self, fd: int) -> AbstractContextManager[bool | None]:
        """See :func:`exclusive`."""
        return exclusive(fd)

    def unlink(self, path: Path) -> None:
        """Delete ``path``."""
        os.unlink(path)
