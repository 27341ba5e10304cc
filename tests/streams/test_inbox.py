"""The inbox source: claim on a tick, emit, delete only after every event is acknowledged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from streams import INVALID_INPUT, Event, InboxPolicy, inbox


class Harness:
    """An inbox source driven by hand: ``tick()`` reads, ``ack()`` acknowledges."""

    def __init__(self, path: Path, policy: InboxPolicy | None = None) -> None:
        self.scheduler = TestScheduler()
        self.trigger: Subject[Any] = Subject()
        self.acks: Subject[frozenset[str]] = Subject()
        self.events: list[Event] = []
        self.errors: list[tuple[str, OSError]] = []
        self.completed = False
        self.path = path
        source = inbox(
            path, self.trigger, self.acks, policy, on_error=lambda what, exc: self.errors.append((what, exc))
        )
        self.subscription = source.subscribe(
            on_next=self.events.append, on_completed=self._done, scheduler=self.scheduler
        )

    def _done(self) -> None:
        self.completed = True

    def tick(self, at: float) -> list[Event]:
        self.scheduler.advance_to(at)
        before = len(self.events)
        self.trigger.on_next(at)
        return self.events[before:]

    def ack(self, events: list[Event]) -> None:
        self.acks.on_next(frozenset(e.id for e in events))

    def claimed(self) -> list[Path]:
        return sorted(self.path.parent.glob(f"{self.path.name}.*.claimed"))


def test_lines_become_events_with_the_scheduler_time(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_text("hello\n!URGENT the house is on fire\n", encoding="utf-8")
    harness = Harness(path)
    events = harness.tick(5.0)
    assert [e.type for e in events] == ["user.message", "user.urgent"]
    assert events[0].payload["text"] == "hello"
    assert events[1].payload["text"] == "the house is on fire"
    assert {e.time for e in events} == {harness.scheduler.now}
    assert all(e.source == "inbox" and e.payload["recovered"] is False for e in events)
    assert not path.exists()


def test_claimed_file_is_deleted_only_after_every_event_is_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_text("a\nb\nc\n", encoding="utf-8")
    harness = Harness(path)
    events = harness.tick(1.0)
    assert len(harness.claimed()) == 1
    harness.ack(events[:2])
    assert len(harness.claimed()) == 1
    harness.ack(events[2:])
    assert harness.claimed() == []


def test_messages_appended_after_a_claim_are_read_on_the_next_tick(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_text("first\n", encoding="utf-8")
    harness = Harness(path)
    first = harness.tick(1.0)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("second\n")
    second = harness.tick(2.0)
    assert [e.payload["text"] for e in first + second] == ["first", "second"]
    assert len({e.id for e in first + second}) == 2
    assert len(harness.claimed()) == 2


def test_a_crash_before_the_ack_replays_the_claim_marked_recovered(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_text("keep me\n", encoding="utf-8")
    crashed = Harness(path)
    before = crashed.tick(1.0)
    crashed.subscription.dispose()  # the process died: no ack ever came

    restarted = Harness(path)
    after = restarted.tick(100.0)
    assert [e.payload["text"] for e in after] == ["keep me"]
    assert [e.id for e in after] == [e.id for e in before]
    assert after[0].payload["recovered"] is True
    restarted.ack(after)
    assert restarted.claimed() == []


def test_undecodable_line_becomes_invalid_input_and_is_acknowledged_like_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_bytes(b"fine\n\xff\xfe\xfd broken\n")
    harness = Harness(path)
    events = harness.tick(1.0)
    assert [e.type for e in events] == ["user.message", INVALID_INPUT]
    assert "undecodable" in events[1].payload["reason"]
    assert events[1].payload["raw"] == "\\xff\\xfe\\xfd broken"
    harness.ack(events)
    assert harness.claimed() == []


def test_oversized_file_is_set_aside_whole(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_bytes(b"x" * 5000)
    harness = Harness(path, InboxPolicy(max_bytes=1024))
    events = harness.tick(1.0)
    assert [e.type for e in events] == [INVALID_INPUT]
    assert "oversized" in events[0].payload["reason"]
    rejected = list(tmp_path.glob("inbox.txt.*.rejected"))
    assert len(rejected) == 1
    assert rejected[0].read_bytes() == b"x" * 5000


def test_missing_or_empty_inbox_emits_nothing(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    harness = Harness(path)
    assert harness.tick(1.0) == []
    path.write_text("", encoding="utf-8")
    assert harness.tick(2.0) == []
    path.write_text("\n\n  \n", encoding="utf-8")
    assert harness.tick(3.0) == []
    assert harness.claimed() == []


def test_file_system_errors_are_reported_and_the_next_tick_tries_again(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.mkdir()
    harness = Harness(path)
    assert harness.tick(1.0) == []
    assert harness.errors and harness.errors[0][0] == "read inbox"
    path.rmdir()
    path.write_text("back\n", encoding="utf-8")
    assert [e.payload["text"] for e in harness.tick(2.0)] == ["back"]


def test_completes_with_its_trigger(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "inbox.txt")
    harness.trigger.on_completed()
    assert harness.completed


def test_claims_in_the_same_instant_get_distinct_names(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    harness = Harness(path)
    path.write_text("one\n", encoding="utf-8")
    first = harness.tick(1.0)
    path.write_text("two\n", encoding="utf-8")
    second = harness.tick(1.0)
    assert [e.payload["text"] for e in first + second] == ["one", "two"]
    assert len(harness.claimed()) == 2
