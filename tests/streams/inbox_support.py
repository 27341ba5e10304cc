"""Shared pieces of the inbox tests: an inbox source driven by hand, and a writer that keeps the file open."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from streams import Event, InboxPolicy, InboxState, inbox

QUIET = 2.0


class Harness:
    """An inbox source driven by hand: ``tick(at)`` reads, ``ack()`` acknowledges."""

    def __init__(
        self,
        path: Path,
        policy: InboxPolicy | None = None,
        state: InboxState | None = None,
        **options: Any,
    ) -> None:
        self.scheduler = TestScheduler()
        self.trigger: Subject[Any] = Subject()
        self.state = state or InboxState()
        self.events: list[Event] = []
        self.errors: list[tuple[str, Exception]] = []
        self.completed = False
        self.path = path
        source = inbox(
            path,
            self.trigger,
            self.state,
            policy or InboxPolicy(quiet_s=QUIET),
            on_error=lambda what, exc: self.errors.append((what, exc)),
            **options,  # make_durable, files
        )
        self.subscription = source.subscribe(
            on_next=self.events.append, on_completed=self._done, scheduler=self.scheduler
        )

    def _done(self) -> None:
        self.completed = True

    def tick(self, at: float) -> list[Event]:
        before = len(self.events)  # what acknowledgements let out since the last tick counts too
        self.scheduler.advance_to(at)
        self.trigger.on_next(at)
        return self.events[before:]

    def ack(self, events: list[Event]) -> None:
        self.state.acknowledge(frozenset(e.id for e in events))

    def claimed(self) -> list[Path]:
        return sorted(self.path.parent.glob(f"{self.path.name}.*.claimed"))


def harness_on(folder: Path, text: str, policy: InboxPolicy | None = None, **options: Any) -> Harness:
    """A harness on ``folder / "inbox.txt"``, which holds ``text`` (UTF-8) before the source is subscribed."""
    path = folder / "inbox.txt"
    path.write_text(text, encoding="utf-8")
    return Harness(path, policy, **options)


def append(writer: IO[str], text: str) -> None:
    """Write ``text`` through a handle kept open, and flush it to the file."""
    writer.write(text)
    writer.flush()
