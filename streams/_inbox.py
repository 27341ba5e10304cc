"""The inbox source: a text file users append messages to, read on every light tick.

Claim, then acknowledge. On a tick the file is renamed to ``<inbox>.<time>.claimed``
(atomic; a writer that appends later creates a fresh inbox), its lines become events, and
the claimed file is deleted only when every one of those events has been acknowledged (its
row committed by the sink). A crash at any point leaves the claimed file in place; the next
start re-reads it and marks its events ``recovered`` so the sink skips rows it already holds.
So a message is never lost, and never stored twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable

from streams._event import Event
from streams._ids import stable_id
from streams._inbox_decoding import BadLine, decode_inbox

__all__ = ["INVALID_INPUT", "InboxPolicy", "inbox"]

log = logging.getLogger("streams")

INVALID_INPUT = "input.invalid"
"""Event type of input that could not be read; the agent turns it into a dead letter."""

_CLAIMED = ".claimed"
_REJECTED = ".rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxPolicy:
    """How the inbox is read.

    Args:
        max_bytes: a larger file is set aside whole (renamed ``.rejected``) and reported.
        max_line_bytes: a longer line becomes an ``input.invalid`` event.
        urgent_prefix: a line starting with it is ``user.urgent``; others are ``user.message``.
    """

    max_bytes: int = 16 * 1024 * 1024
    max_line_bytes: int = 64 * 1024
    urgent_prefix: str = "!URGENT"

    def __post_init__(self) -> None:
        if self.max_bytes < 1:
            raise ValueError(f"InboxPolicy.max_bytes: expected >= 1, got {self.max_bytes}")
        if self.max_line_bytes < 1:
            raise ValueError(f"InboxPolicy.max_line_bytes: expected >= 1, got {self.max_line_bytes}")


class _Claims:
    """Claimed files waiting for their events to be acknowledged (acks arrive on any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[Path, set[str]] = {}
        self._owner: dict[str, Path] = {}

    def add(self, claim: Path, event_ids: set[str]) -> None:
        with self._lock:
            self._waiting[claim] = set(event_ids)
            for event_id in event_ids:
                self._owner[event_id] = claim

    def ack(self, event_ids: frozenset[str]) -> list[Path]:
        """Remove acknowledged ids; return the claims that have none left."""
        done: list[Path] = []
        with self._lock:
            for event_id in event_ids:
                claim = self._owner.pop(event_id, None)
                if claim is None:
                    continue
                remaining = self._waiting[claim]
                remaining.discard(event_id)
                if not remaining:
                    del self._waiting[claim]
                    done.append(claim)
        return done


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


def _events_of(claim: Path, data: bytes, now: datetime, policy: InboxPolicy, recovered: bool) -> list[Event]:
    encoding, lines = decode_inbox(data, max_line_bytes=policy.max_line_bytes)
    events: list[Event] = []
    for line in lines:
        base = {"claim": claim.name, "line": line.number, "encoding": encoding, "recovered": recovered}
        event_id = stable_id(claim.name, str(line.number))
        if isinstance(line, BadLine):
            payload = {**base, "reason": line.reason, "raw": line.raw}
            events.append(Event(id=event_id, type=INVALID_INPUT, time=now, source="inbox", payload=payload))
            continue
        urgent = line.text.startswith(policy.urgent_prefix)
        text = line.text[len(policy.urgent_prefix) :].strip() if urgent else line.text
        kind = "user.urgent" if urgent else "user.message"
        events.append(Event(id=event_id, type=kind, time=now, source="inbox", payload={**base, "text": text}))
    return events


def _oversized_event(path: Path, aside: Path, size: int, now: datetime, policy: InboxPolicy) -> Event:
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
    acks: Observable[frozenset[str]],
    policy: InboxPolicy | None = None,
    *,
    on_error: Callable[[str, OSError], None] | None = None,
) -> Observable[Event]:
    """Messages from the inbox file, read on each item of ``trigger``.

    Args:
        path: the inbox file; it need not exist.
        trigger: read on each item (normally the light ticks); the source completes with it.
        acks: ids of events whose rows are committed; a claimed file is deleted when all
            of its events are acknowledged.
        policy: size limits and the urgent prefix.
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
        claims = _Claims()

        def on_acks(ids: frozenset[str]) -> None:
            for claim in claims.ack(ids):
                try:
                    claim.unlink(missing_ok=True)
                except OSError as exc:
                    report("delete claimed file", exc)

        def emit_claim(claim: Path, now: datetime, recovered: bool) -> None:
            data = claim.read_bytes()
            events = _events_of(claim, data, now, rules, recovered)
            if not events:
                claim.unlink(missing_ok=True)
                return
            claims.add(claim, {e.id for e in events})
            for event in events:
                observer.on_next(event)

        first = [True]

        def on_tick(_: Any) -> None:
            now = (scheduler or reactivex.scheduler.TimeoutScheduler.singleton()).now
            try:
                if first[0]:
                    first[0] = False
                    for leftover in sorted(path.parent.glob(f"{path.name}.*{_CLAIMED}")):
                        emit_claim(leftover, now, recovered=True)
                if not path.exists():
                    return
                if not path.is_file():
                    raise IsADirectoryError(f"{path} is not a regular file")
                size = path.stat().st_size
                if size == 0:
                    return
                if size > rules.max_bytes:
                    aside = _set_aside(path, now, _REJECTED)
                    observer.on_next(_oversized_event(path, aside, size, now, rules))
                    return
                emit_claim(_set_aside(path, now, _CLAIMED), now, recovered=False)
            except OSError as exc:
                report("read inbox", exc)

        disposables = CompositeDisposable()
        disposables.add(acks.subscribe(on_acks, scheduler=scheduler))
        disposables.add(
            trigger.pipe(ops.do_action(on_tick)).subscribe(
                on_error=observer.on_error, on_completed=observer.on_completed, scheduler=scheduler
            )
        )
        return disposables

    return reactivex.create(subscribe)
