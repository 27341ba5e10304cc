"""The inbox source: a text file users append messages to, read on every light tick.

Claim, read, acknowledge, let go (docs/inbox.md tells it for users):

- On a tick a regular file at the inbox path is renamed to ``<inbox>.<time>.claimed`` (atomic;
  the next ``echo >>`` creates a fresh inbox) and opened. The claim keeps that descriptor: it
  reads the same file whatever happens to its name, and a writer that kept the file open across
  the rename still has every line read. Anything else at the path (a symbolic link, FIFO,
  directory, device) is never opened or read: one dead letter and one warning per thing found.
- A claim is read in pieces of at most ``max_bytes``, a line at a time as there is room: at most
  ``max_pending_events`` events are out (emitted, not yet acknowledged) at once, the rest wait on
  disk. An acknowledgement that frees room makes the source read on at once (on its scheduler),
  so the inbox is read as fast as events are answered and stored.
- A last line without its newline waits until the file is final: quiet for ``quiet_s`` and open
  in no other process (asked with a Linux lease; where there are none, quiet is enough).
- A claim is finished once wholly read and acknowledged, quiet, and open in no other process.
  With ``make_durable`` it is deleted when what was committed is durable, else at once.
- A claim that cannot be read is renamed ``<claim>.quarantined`` with a dead letter; the rest of
  the inbox goes on.

A crash at any point leaves the claimed file in place; the next start reads it again from the
top and marks its events ``recovered`` (same ids), so the sink skips rows it already holds. A
message is never lost, and never stored twice.

Everything here runs on the source's scheduler (the event loop): see :class:`InboxState`.
"""

from __future__ import annotations

import errno
import glob
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable, Disposable, SerialDisposable
from reactivex.scheduler import CurrentThreadScheduler

from streams._event import Event
from streams._inbox_claim import Claim, InboxState
from streams._inbox_events import INVALID_INPUT, line_event, not_regular_event, set_aside_event, stamp
from streams._open_files import InboxFiles, LocalFiles, NotRegularFileError, describe

__all__ = ["INVALID_INPUT", "InboxPolicy", "InboxState", "inbox"]

log = logging.getLogger("streams")

_CLAIMED = ".claimed"
_QUARANTINED = ".quarantined"
_TRANSIENT = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR})
"""Open errors that say nothing about the file (out of descriptors, a lease held elsewhere): try again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxPolicy:
    """How the inbox is read.

    Args:
        max_bytes: the most bytes read from a file at once (memory stays bounded by it); a file
            of any size is read, piece by piece. At least ``max_line_bytes + 4``.
        max_line_bytes: a longer line becomes an ``input.invalid`` event (it is skipped to its
            newline, keeping its first bytes).
        urgent_prefix: a line starting with it is ``user.urgent``; others are ``user.message``.
        max_pending_events: events emitted and not yet acknowledged, at most.
        quiet_s: a claimed file unchanged this long, and open in no other process, is final
            (its unterminated last line is read; once everything is acknowledged it is deleted).
    """

    max_bytes: int = 1024 * 1024
    max_line_bytes: int = 64 * 1024
    urgent_prefix: str = "!URGENT"
    max_pending_events: int = 256
    quiet_s: float = 2.0

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_line_bytes", "max_pending_events"):
            if getattr(self, name) < 1:
                raise ValueError(f"InboxPolicy.{name}: expected >= 1, got {getattr(self, name)}")
        if self.max_bytes < self.max_line_bytes + 4:
            raise ValueError(
                f"InboxPolicy.max_bytes: expected >= max_line_bytes + 4 = {self.max_line_bytes + 4}"
                f" (room for the longest line and its newline), got {self.max_bytes}"
            )
        if not self.quiet_s >= 0:
            raise ValueError(f"InboxPolicy.quiet_s: expected >= 0, got {self.quiet_s}")


def _free_name(path: Path, middle: str, suffix: str) -> Path:
    """A name beside ``path`` that is not taken: ``<path><middle>[-n]<suffix>``."""
    for n in range(1000):
        target = path.with_name(f"{path.name}{middle}{'' if n == 0 else f'-{n}'}{suffix}")
        if not os.path.lexists(target):
            return target
    raise FileExistsError(f"no free name to set {path} aside")


class _Intake:
    """One subscription of the inbox source; every method runs on its scheduler (the loop)."""

    def __init__(
        self,
        path: Path,
        state: InboxState,
        rules: InboxPolicy,
        observer: abc.ObserverBase[Event],
        scheduler: abc.SchedulerBase,
        report: Callable[[str, Exception], None],
        make_durable: Callable[[], Observable[Any]] | None,
        files: InboxFiles,
    ) -> None:
        self._path = path
        self._state = state
        self._rules = rules
        self._observer = observer
        self._scheduler = scheduler
        self._report = report
        self._make_durable = make_durable
        self._files = files
        self._refused: tuple[int, int, int, str] | None = None  # what non-file at the path was reported
        self._unopened: list[tuple[Path, bool]] = []  # claimed files to open again on the next tick
        self._emitting = False
        self._again = False
        self._pump = SerialDisposable()
        self._pump_due = False
        self._durable = SerialDisposable()
        self._durable_batch: list[Claim] | None = None
        self._disposed = False

    def tick(self, _: Any) -> None:
        """Recover (first tick), read on, claim the inbox if there is room, let go of finished claims."""
        now = self._scheduler.now
        if not self._state.started:
            self._recover(now)
        retry, self._unopened = self._unopened, []
        for claimed, recovered in retry:
            self._adopt(claimed, recovered=recovered, now=now)
        self._emit(now)
        if self._room() > 0:  # every claim waits for its writer: take what is new
            self._claim_new(now)
            self._emit(now)
        self._finish(now)

    def wake(self) -> None:
        """Acknowledgements freed room: read on, at once but not from inside the caller."""
        if self._emitting:
            self._again = True  # the emitting loop goes round again
        elif not self._pump_due and not self._disposed:
            self._pump_due = True
            self._pump.disposable = self._scheduler.schedule(self._pumped)

    def dispose(self) -> None:
        self._disposed = True
        if self._state.wake == self.wake:
            self._state.wake = None
        self._pump.dispose()
        self._durable.dispose()
        self._durable_batch = None

    def _pumped(self, _scheduler: abc.SchedulerBase, _state: Any = None) -> None:
        self._pump_due = False
        if self._disposed:
            return
        try:
            self._emit(self._scheduler.now)
        except Exception as exc:  # noqa: BLE001 - a failure goes down the stream
            self._observer.on_error(exc)

    def _room(self) -> int:
        return self._rules.max_pending_events - self._state.in_flight()

    def _recover(self, now: datetime) -> None:
        self._state.started = True
        for leftover in sorted(self._path.parent.glob(f"{glob.escape(self._path.name)}.*{_CLAIMED}")):
            self._adopt(leftover, recovered=True, now=now)

    def _claim_new(self, now: datetime) -> None:
        try:
            st = os.lstat(self._path)
        except FileNotFoundError:
            self._refused = None
            return
        except OSError as exc:
            self._report("read inbox", exc)
            return
        if not stat.S_ISREG(st.st_mode):
            self._refuse(st, now)
            return
        self._refused = None
        if st.st_size == 0:
            return
        try:
            claimed = _free_name(self._path, f".{stamp(now)}", _CLAIMED)
            os.rename(self._path, claimed)
        except FileNotFoundError:
            return
        except OSError as exc:
            self._report("read inbox", exc)
            return
        self._adopt(claimed, recovered=False, now=now)

    def _refuse(self, st: os.stat_result, now: datetime) -> None:
        """Report what is at the path instead of a file, once for each thing found there."""
        kind = describe(self._path, st)
        identity = (stat.S_IFMT(st.st_mode), st.st_dev, st.st_ino, kind)
        if identity == self._refused:
            return
        self._refused = identity
        self._report("read inbox", NotRegularFileError(self._path, kind))
        self._observer.on_next(not_regular_event(self._path, kind, now))

    def _adopt(self, claimed: Path, *, recovered: bool, now: datetime) -> None:
        try:
            fd = self._files.open(claimed)
        except FileNotFoundError:
            return
        except NotRegularFileError as exc:
            self._report(f"read {claimed.name}", exc)
            self._set_aside(claimed, f"not_regular: {exc.kind}", now)
            return
        except OSError as exc:
            self._report(f"read {claimed.name}", exc)
            if exc.errno in _TRANSIENT:
                self._unopened.append((claimed, recovered))
            else:
                self._set_aside(claimed, f"unreadable: {exc.strerror or exc}", now)
            return
        rules = self._rules
        claim = Claim(
            claimed,
            fd,
            self._files,
            recovered=recovered,
            now=now,
            max_bytes=rules.max_bytes,
            max_line_bytes=rules.max_line_bytes,
        )
        self._state.claims.append(claim)

    def _set_aside(self, claimed: Path, reason: str, now: datetime) -> None:
        """Quarantine a claimed file that cannot be read, with its dead letter."""
        target: Path | None
        try:
            target = _free_name(claimed, "", _QUARANTINED)
            os.rename(claimed, target)
        except OSError as exc:
            self._report(f"quarantine {claimed.name}", exc)
            target = None
        self._observer.on_next(set_aside_event(claimed.name, target, reason, now))

    def _emit(self, now: datetime) -> None:
        if self._emitting:
            self._again = True
            return
        self._emitting = True
        try:
            self._again = True
            while self._again:
                self._again = False
                self._emit_once(now)
        finally:
            self._emitting = False

    def _emit_once(self, now: datetime) -> None:
        room = self._room()
        for claim in list(self._state.claims):
            while room > 0 and not claim.done:
                try:
                    line = claim.next_line(now, self._rules.quiet_s)
                except OSError as exc:
                    self._report(f"read {claim.path.name}", exc)
                    claim.close()
                    self._state.claims.remove(claim)
                    self._set_aside(claim.path, f"unreadable: {exc.strerror or exc}", now)
                    break
                if line is None:
                    break
                event = line_event(claim, line, now, self._rules.urgent_prefix)
                claim.unacked.add(event.id)
                room -= 1
                self._observer.on_next(event)

    def _finish(self, now: datetime) -> None:
        for claim in list(self._state.claims):
            if not claim.done and claim.finished(now, self._rules.quiet_s):
                claim.done = True
        waiting = [c for c in self._state.claims if c.done]
        if not waiting or self._durable_batch is not None:
            return  # one durability job at a time: claims finished meanwhile wait for the next
        if self._make_durable is None:
            self._delete(waiting)
            return
        batch = waiting
        self._durable_batch = batch

        def durable() -> None:
            self._durable_batch = None
            self._delete([c for c in batch if c.done and c in self._state.claims])

        def failed(exc: Exception) -> None:
            self._durable_batch = None  # kept; the next tick tries again
            self._report("make durable", exc)

        self._durable.disposable = self._make_durable().subscribe(
            on_completed=durable, on_error=failed, scheduler=self._scheduler
        )

    def _delete(self, claims: list[Claim]) -> None:
        for claim in claims:
            try:
                let_go = claim.delete()
            except OSError as exc:
                self._report(f"delete {claim.path.name}", exc)  # left for the next start to read again
                let_go = True
            if let_go:
                self._state.claims.remove(claim)
            else:
                claim.done = False  # a writer came back: read on


def inbox(
    path: Path,
    trigger: Observable[Any],
    state: InboxState,
    policy: InboxPolicy | None = None,
    *,
    on_error: Callable[[str, Exception], None] | None = None,
    make_durable: Callable[[], Observable[Any]] | None = None,
    files: InboxFiles | None = None,
) -> Observable[Event]:
    """Messages from the inbox file, read on each item of ``trigger`` (see the module docstring).

    Args:
        path: the inbox file; it need not exist.
        trigger: read on each item (normally the light ticks); the source completes with it.
        state: the claims; acknowledge committed events with ``state.acknowledge(ids)`` on the loop.
        policy: limits and the urgent prefix.
        on_error: told about file-system errors (what was being done, and the error with its
            path), and about a failed ``make_durable``; by default they are logged. The inbox
            goes on: a failed claim is tried again on the next tick, an unreadable claimed file
            is quarantined, a claimed file that cannot be deleted is read again on the next start.
        make_durable: makes an observable that completes once everything committed so far is
            durable (a checkpoint); finished claims are deleted only after it completes. None:
            deleted at once.
        files: the file system (a seam for tests); by default the real one.

    Returns:
        ``user.message``, ``user.urgent`` and ``input.invalid`` events, time from the scheduler.
    """
    rules = policy or InboxPolicy()
    file_system = files or LocalFiles()

    def report(what: str, exc: Exception) -> None:
        if on_error is not None:
            on_error(what, exc)
        else:
            where = getattr(exc, "filename", None) or str(path)
            log.warning("inbox.io_error", extra={"what": what, "error": str(exc), "path": where})

    def subscribe(observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        intake = _Intake(
            path,
            state,
            rules,
            observer,
            scheduler or CurrentThreadScheduler.singleton(),
            report,
            make_durable,
            file_system,
        )
        state.wake = intake.wake
        ticks = trigger.pipe(ops.do_action(intake.tick)).subscribe(
            on_error=observer.on_error, on_completed=observer.on_completed, scheduler=scheduler
        )
        return CompositeDisposable(ticks, Disposable(intake.dispose))

    return reactivex.create(subscribe)
