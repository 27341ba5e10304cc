"""The intentions source: the user's standing instructions in a small file, looked at on every light tick.

The file (``intentions.md`` beside the inbox by default) says in the user's own words what the
being should keep in mind ("remind me to stretch every two hours"). On each tick the source
looks at it with one ``lstat``; only when its size, modification time, inode or device changed
does it read it, and only when what it read hashes differently from the last time does it emit a
``mind.intentions`` event::

    {"text": str, "sha256": str, "bytes": int, "truncated": bool, "path": str}

``text`` is what the mind sees (at most ``max_bytes`` of the file, cut on a character boundary;
``truncated`` says the file was longer, with a warning), ``sha256`` the hash of those bytes,
``bytes`` the file's size. Bytes that are not UTF-8 are replaced by U+FFFD, with a warning. A file
present when the source starts is emitted on the first tick (not on subscription: every route of
the pipeline is listening by then, the recorder among them); a file deleted (or replaced by anything but a
regular file, which is never opened: ``O_NOFOLLOW``, ``lstat`` first) is emitted once with text
``""``, so the mind forgets what it said. The events are recorded like every other, so a replay
sees the same intentions without the file.

The file is read on the event loop, in one ``read`` of at most ``max_bytes`` (16 KiB by default,
1 MiB at most): small enough that a thread hand-off would cost more than the read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler import CurrentThreadScheduler

from streams._event import Event
from streams._ids import stable_id
from streams._open_files import NotRegularFileError, open_regular

__all__ = ["MIND_INTENTIONS", "IntentionsPolicy", "IntentionsText", "intentions", "read_intentions"]

log = logging.getLogger("streams")

MIND_INTENTIONS = "mind.intentions"
MAX_INTENTIONS_BYTES = 1024 * 1024

_Key = tuple[int, int, int, int, int]  # mode, size, mtime_ns, inode, device


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentionsPolicy:
    """How the intentions file is read.

    Args:
        max_bytes: the most bytes read; a longer file is cut there (``truncated``), 1 to 1 MiB.

    Raises:
        ValueError: ``max_bytes`` out of range.
    """

    max_bytes: int = 16_384

    def __post_init__(self) -> None:
        if not 1 <= self.max_bytes <= MAX_INTENTIONS_BYTES:
            raise ValueError(
                f"IntentionsPolicy.max_bytes: expected 1 to {MAX_INTENTIONS_BYTES}, got {self.max_bytes!r}"
            )


@dataclass(frozen=True, slots=True)
class IntentionsText:
    """What an intentions file says: its text (capped), the hash of the bytes kept, its size, and what was done.

    ``truncated``: the file was longer than the cap; ``replaced``: bytes that are not UTF-8 became U+FFFD.
    """

    text: str
    sha256: str
    size: int
    truncated: bool
    replaced: bool

    def payload(self, path: Path) -> dict[str, Any]:
        """The ``mind.intentions`` event's payload for this text read from ``path``."""
        return {
            "text": self.text,
            "sha256": self.sha256,
            "bytes": self.size,
            "truncated": self.truncated,
            "path": str(path),
        }


def _decode(raw: bytes, truncated: bool) -> tuple[str, bytes, bool]:
    """The text of ``raw`` (a cut file loses the partial character at its end), the bytes kept, whether replaced."""
    if truncated:
        for drop in range(4):  # a UTF-8 character is at most 4 bytes: back off to a boundary
            kept = raw[: len(raw) - drop]
            try:
                return kept.decode("utf-8"), kept, False
            except UnicodeDecodeError:
                continue
    try:
        return raw.decode("utf-8"), raw, False
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), raw, True


def read_intentions(path: Path, max_bytes: int) -> IntentionsText:
    """Read at most ``max_bytes`` of the regular file at ``path`` (never through a symbolic link).

    Raises:
        NotRegularFileError: anything but a regular file is at ``path``.
        OSError: it cannot be read.
    """
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        raw = os.read(fd, max_bytes + 1)  # one byte more tells a file cut at the cap from one that fits
    finally:
        os.close(fd)
    truncated = len(raw) > max_bytes
    text, kept, replaced = _decode(raw[:max_bytes], truncated)
    return IntentionsText(text, hashlib.sha256(kept).hexdigest(), max(size, len(raw)), truncated, replaced)


class _Watch:
    """The source's state, changed only on its scheduler (the event loop)."""

    def __init__(
        self,
        path: Path,
        policy: IntentionsPolicy,
        observer: abc.ObserverBase[Event],
        scheduler: abc.SchedulerBase,
        warn: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self.path = path
        self.policy = policy
        self.observer = observer
        self.scheduler = scheduler
        self.warn = warn
        self.key: _Key | None = None  # the stat of what was last read (None: absent, or never looked)
        self.sha256: str | None = None  # what was last emitted (None: nothing yet)
        self.problem: str | None = None  # the last warning about the path, said once until it changes

    def look(self, _item: object = None) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            self._gone(None)
            return
        except OSError as exc:
            self._problem("intentions.io_error", f"{exc.strerror or exc}", {"error": str(exc)})
            return
        key: _Key = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
        if key == self.key:
            return
        if not stat.S_ISREG(st.st_mode):
            self._gone(key, NotRegularFileError(self.path, _kind(st)))
            return
        try:
            read = read_intentions(self.path, self.policy.max_bytes)
        except NotRegularFileError as exc:  # swapped between the lstat and the open
            self._gone(key, exc)
            return
        except FileNotFoundError:
            self._gone(None)
            return
        except OSError as exc:  # not recorded as seen: looked at again on the next tick
            self._problem("intentions.io_error", f"{exc.strerror or exc}", {"error": str(exc)})
            return
        self.key = key
        self.problem = None
        if read.truncated:
            self.warn(
                "intentions.truncated",
                {"path": str(self.path), "bytes": read.size, "max_bytes": self.policy.max_bytes},
            )
        if read.replaced:
            self.warn("intentions.undecodable", {"path": str(self.path), "note": "not UTF-8; replaced by U+FFFD"})
        if read.sha256 != self.sha256:
            self._emit(read)

    def _gone(self, key: _Key | None, problem: NotRegularFileError | None = None) -> None:
        """Nothing readable at the path: say so once, and forget intentions that were emitted."""
        self.key = key
        if problem is not None:
            self._problem("intentions.not_regular", problem.kind, {"error": str(problem)})
        else:
            self.problem = None
        if self.sha256 is not None and self.sha256 != _EMPTY:
            self._emit(_NOTHING)

    def _problem(self, event: str, what: str, extra: dict[str, Any]) -> None:
        if what != self.problem:
            self.problem = what
            self.warn(event, {"path": str(self.path), **extra})

    def _emit(self, read: IntentionsText) -> None:
        self.sha256 = read.sha256
        now = self.scheduler.now.astimezone(UTC)
        event_id = stable_id(MIND_INTENTIONS, read.sha256, now.isoformat())
        payload = read.payload(self.path)
        self.observer.on_next(Event(id=event_id, type=MIND_INTENTIONS, time=now, source="intentions", payload=payload))


_EMPTY = hashlib.sha256(b"").hexdigest()
_NOTHING = IntentionsText("", _EMPTY, 0, False, False)


def _kind(st: os.stat_result) -> str:
    if stat.S_ISLNK(st.st_mode):
        return "symbolic link"
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    if stat.S_ISFIFO(st.st_mode):
        return "FIFO"
    return "file that is not a regular file"


def _log_warning(event: str, extra: dict[str, Any]) -> None:
    log.warning(event, extra=extra)


def intentions(
    path: Path,
    trigger: Observable[Any],
    policy: IntentionsPolicy | None = None,
    *,
    warn: Callable[[str, dict[str, Any]], None] | None = None,
) -> Observable[Event]:
    """``mind.intentions`` events of the file at ``path``, looked at on each ``trigger`` item.

    Args:
        path: the intentions file; it need not exist.
        trigger: look on each item (normally the light ticks); the source completes with it.
        policy: the read cap.
        warn: told of a cut file, bytes that are not UTF-8, and what cannot be read (an event name
            and its fields); logged as warnings by default. Each problem with the path is told once
            until it changes.

    Returns:
        One event per change of what the file says (see the module docstring); time from the scheduler.
    """
    rules = policy or IntentionsPolicy()
    told = warn or _log_warning

    def subscribe(observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        watch = _Watch(path, rules, observer, scheduler or CurrentThreadScheduler.singleton(), told)
        return trigger.pipe(ops.do_action(watch.look)).subscribe(
            on_error=observer.on_error, on_completed=observer.on_completed, scheduler=scheduler
        )

    return reactivex.create(subscribe)
