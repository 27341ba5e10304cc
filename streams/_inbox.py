"""The inbox source: a text file users append messages to, read on every light tick.

Claim, read, acknowledge, let go:

- On a tick the inbox is renamed to ``<inbox>.<time>.claimed`` (atomic; the next ``echo >>``
  creates a fresh inbox). Its complete lines become events; a last line still being written
  waits for its newline, or for the file to stay unchanged for ``quiet_s``.
- A claimed file is read again on every tick while it grows: a writer that kept the file open
  across the rename still has its lines read.
- At most ``max_pending_events`` events are out (emitted, not yet acknowledged) at once; the
  rest wait in the claim. Acknowledgement comes when an event's last row is committed (for a
  user message, its reply), so a slow LLM slows the reading instead of filling memory.
- A claimed file is deleted only when every line is read and acknowledged and the file has
  been quiet for ``quiet_s``.

A crash at any point leaves the claimed file in place; the next start reads it again from the
top and marks its events ``recovered`` (same ids), so the sink skips rows it already holds. A
message is never lost, and never stored twice.
"""

from __future__ import annotations

import glob
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from streams._event import Event
from streams._ids import stable_id
from streams._inbox_decoding import BadLine, GoodLine, complete_length, decode_lines, sniff_encoding

__all__ = ["INVALID_INPUT", "InboxPolicy", "InboxState", "inbox"]

log = logging.getLogger("streams")

INVALID_INPUT = "input.invalid"
"""Event type of input that could not be read; the agent turns it into a dead letter."""

_CLAIMED = ".claimed"
_REJECTED = ".rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxPolicy:
    """How the inbox is read.

    Args:
        max_bytes: a larger inbox is set aside whole (renamed ``.rejected``) and reported.
        max_line_bytes: a longer line becomes an ``input.invalid`` event.
        urgent_prefix: a line starting with it is ``user.urgent``; others are ``user.message``.
        max_pending_events: events emitted and not yet acknowledged, at most.
        quiet_s: a claimed file unchanged this long is finished (its unterminated last line is
            read, and once everything is acknowledged it is deleted).
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
        if not self.quiet_s >= 0:
            raise ValueError(f"InboxPolicy.quiet_s: expected >= 0, got {self.quiet_s}")


class _Claim:
    """One claimed file: how far it is read, what waits to go out, what waits for acknowledgement."""

    def __init__(self, path: Path, recovered: bool, now: datetime) -> None:
        self.path = path
        self.recovered = recovered
        self.encoding: str | None = None
        self.consumed = 0
        self.next_line = 1
        self.size = -1
        self.changed_at = now
        self.pending: deque[Event] = deque()
        self.unacked: set[str] = set()


class InboxState:
    """The inbox's claims, shared by the source (on the loop) and the acknowledgements (on the writer thread).

    The runtime owns it, so acknowledgements of rows committed while the pipeline drains still
    arrive after the source itself is disposed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.claims: list[_Claim] = []
        self.started = False

    def acknowledge(self, event_ids: frozenset[str]) -> None:
        """Mark events as done (their rows are committed); called from any thread."""
        with self._lock:
            for claim in self.claims:
                claim.unacked -= event_ids

    def in_flight(self) -> int:
        with self._lock:
            return sum(len(c.unacked) for c in self.claims)

    def unacked(self, claim: _Claim) -> int:
        with self._lock:
            return len(claim.unacked)

    def sent(self, claim: _Claim, event: Event) -> None:
        with self._lock:
            claim.unacked.add(event.id)

    def release_finished(self) -> list[Path]:
        """Delete the claimed files that are wholly read and acknowledged, now (at shutdown).

        The quiet period is not waited for: the service is stopping, and a claimed file that
        grew meanwhile is kept (it is read again on the next start).

        Returns:
            The files deleted.
        """
        released: list[Path] = []
        with self._lock:
            for claim in list(self.claims):
                if claim.pending or claim.unacked:
                    continue
                try:
                    if claim.path.exists() and claim.path.stat().st_size > claim.consumed:
                        continue
                    claim.path.unlink(missing_ok=True)
                except OSError as exc:
                    log.warning("inbox.release_failed", extra={"path": str(claim.path), "error": str(exc)})
                    continue
                self.claims.remove(claim)
                released.append(claim.path)
        return released


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def _set_aside(path: Path, now: datetime, suffix: str) -> Path:
    """Rename ``path`` atomically to a unique ``<path>.<time>[-n]<suffix>`` and return the new path."""
    stamp = _stamp(now)
    for n in range(1000):
        target = path.with_name(f"{path.name}.{stamp}{'' if n == 0 else f'-{n}'}{suffix}")
        if not target.exists():
            path.rename(target)
            return target
    raise FileExistsError(f"no free name to set {path} aside")


def _event_of(claim: _Claim, line: GoodLine | BadLine, now: datetime, policy: InboxPolicy) -> Event:
    base = {"claim": claim.path.name, "line": line.number, "encoding": claim.encoding, "recovered": claim.recovered}
    event_id = stable_id(claim.path.name, str(line.number))
    if isinstance(line, BadLine):
        payload = {**base, "reason": line.reason, "raw": line.raw}
        return Event(id=event_id, type=INVALID_INPUT, time=now, source="inbox", payload=payload)
    urgent = line.text.startswith(policy.urgent_prefix)
    text = line.text[len(policy.urgent_prefix) :].strip() if urgent else line.text
    kind = "user.urgent" if urgent else "user.message"
    return Event(id=event_id, type=kind, time=now, source="inbox", payload={**base, "text": text})


def _read_more(claim: _Claim, now: datetime, policy: InboxPolicy) -> None:
    """Read what the claimed file gained since the last read (complete lines; the tail once quiet)."""
    size = claim.path.stat().st_size
    if size != claim.size:
        claim.size = size
        claim.changed_at = now
    if size <= claim.consumed:
        return
    with claim.path.open("rb") as handle:
        if claim.encoding is None:
            claim.encoding, bom = sniff_encoding(handle.read(512))
            claim.consumed = bom
        handle.seek(claim.consumed)
        data = handle.read(size - claim.consumed)
    quiet = now - claim.changed_at >= timedelta(seconds=policy.quiet_s)
    take = len(data) if quiet else complete_length(data, claim.encoding)
    if take == 0:
        return
    count, lines = decode_lines(
        data[:take], claim.encoding, first_number=claim.next_line, max_line_bytes=policy.max_line_bytes
    )
    claim.consumed += take
    claim.next_line += count
    claim.pending.extend(_event_of(claim, line, now, policy) for line in lines)


def _finished(state: InboxState, claim: _Claim, now: datetime, policy: InboxPolicy) -> bool:
    return (
        not claim.pending
        and claim.consumed >= claim.size
        and state.unacked(claim) == 0
        and now - claim.changed_at >= timedelta(seconds=policy.quiet_s)
    )


def _oversized_event(aside: Path, size: int, now: datetime, policy: InboxPolicy) -> Event:
    with aside.open("rb") as handle:
        head = handle.read(4096)
    payload = {
        "reason": f"oversized: inbox file of {size} bytes, more than the {policy.max_bytes} allowed;"
        f" set aside as {aside.name}",
        "raw": head.decode("utf-8", "backslashreplace"),
        "claim": aside.name,
        "recovered": False,
    }
    return Event(id=stable_id(aside.name, "oversized"), type=INVALID_INPUT, time=now, source="inbox", payload=payload)


def inbox(
    path: Path,
    trigger: Observable[Any],
    state: InboxState,
    policy: InboxPolicy | None = None,
    *,
    on_error: Callable[[str, OSError], None] | None = None,
) -> Observable[Event]:
    """Messages from the inbox file, read on each item of ``trigger`` (see the module docstring).

    Args:
        path: the inbox file; it need not exist.
        trigger: read on each item (normally the light ticks); the source completes with it.
        state: the claims; acknowledge committed events with ``state.acknowledge(ids)``.
        policy: limits and the urgent prefix.
        on_error: told about file-system errors (the read is tried again on the next tick);
            by default they are logged.

    Returns:
        ``user.message``, ``user.urgent`` and ``input.invalid`` events, time from the scheduler.
    """
    rules = policy or InboxPolicy()

    def report(what: str, exc: OSError) -> None:
        if on_error is not None:
            on_error(what, exc)
        else:
            log.warning("inbox.io_error", extra={"what": what, "error": str(exc), "path": str(path)})

    def subscribe(observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        def recover(now: datetime) -> None:
            state.started = True
            for leftover in sorted(path.parent.glob(f"{glob.escape(path.name)}.*{_CLAIMED}")):
                state.claims.append(_Claim(leftover, recovered=True, now=now))

        def claim_new(now: datetime) -> None:
            if any(c.pending or c.consumed < c.size for c in state.claims) or not path.exists():
                return
            if not path.is_file():
                raise IsADirectoryError(f"{path} is not a regular file")
            size = path.stat().st_size
            if size == 0:
                return
            if size > rules.max_bytes:
                aside = _set_aside(path, now, _REJECTED)
                observer.on_next(_oversized_event(aside, size, now, rules))
                return
            state.claims.append(_Claim(_set_aside(path, now, _CLAIMED), recovered=False, now=now))

        def on_tick(_: Any) -> None:
            now = (scheduler or reactivex.scheduler.TimeoutScheduler.singleton()).now
            if not state.started:
                recover(now)
            try:
                claim_new(now)
            except OSError as exc:
                report("read inbox", exc)
            budget = rules.max_pending_events - state.in_flight()
            for claim in list(state.claims):
                try:
                    _read_more(claim, now, rules)
                except OSError as exc:
                    report(f"read {claim.path.name}", exc)
                    continue
                while claim.pending and budget > 0:
                    event = claim.pending.popleft()
                    state.sent(claim, event)
                    budget -= 1
                    observer.on_next(event)
                if _finished(state, claim, now, rules):
                    state.claims.remove(claim)
                    try:
                        claim.path.unlink(missing_ok=True)
                    except OSError as exc:
                        report(f"delete {claim.path.name}", exc)

        return trigger.pipe(ops.do_action(on_tick)).subscribe(
            on_error=observer.on_error, on_completed=observer.on_completed, scheduler=scheduler
        )

    return reactivex.create(subscribe)
