"""The inbox reads as fast as acknowledgements free room, and deletes a claim only once its rows are durable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import reactivex
from reactivex import Observable
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from streams import Event, InboxPolicy, InboxState, inbox
from tests.streams.inbox_support import QUIET, Harness, append, harness_on


def test_prompt_acknowledgements_let_ten_times_max_pending_out_within_one_light_tick(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_text("".join(f"m{n}\n" for n in range(80)), encoding="utf-8")
    scheduler = TestScheduler()
    state = InboxState()
    emitted: list[tuple[float, Event]] = []
    out: list[int] = []

    def answered(event: Event) -> None:  # its row commits 10 ms later
        emitted.append((scheduler.clock, event))
        out.append(state.in_flight())
        scheduler.schedule_relative(0.01, lambda *_: state.acknowledge(frozenset({event.id})))

    light = reactivex.interval(1.0, scheduler=scheduler)  # a light tick every second from 1.0
    inbox(path, light, state, InboxPolicy(max_pending_events=8, quiet_s=QUIET)).subscribe(answered, scheduler=scheduler)
    scheduler.advance_to(1.999)
    assert [e.payload["text"] for _, e in emitted] == [f"m{n}" for n in range(80)]
    assert all(1.0 <= at < 2.0 for at, _ in emitted)
    assert max(out) == 8  # never more out than allowed


def test_an_acknowledgement_made_inside_on_next_never_re_enters_it(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_text("".join(f"m{n}\n" for n in range(50)), encoding="utf-8")
    state = InboxState()
    depth = [0, 0]  # now, deepest
    texts: list[str] = []

    def on_next(event: Event) -> None:
        depth[0] += 1
        depth[1] = max(depth)
        texts.append(str(event.payload["text"]))
        state.acknowledge(frozenset({event.id}))  # committed at once, synchronously
        depth[0] -= 1

    trigger: Subject[Any] = Subject()
    inbox(path, trigger, state, InboxPolicy(max_pending_events=4, quiet_s=QUIET)).subscribe(
        on_next, scheduler=TestScheduler()
    )
    trigger.on_next(0)
    assert texts == [f"m{n}" for n in range(50)]  # all in the one tick...
    assert depth[1] == 1  # ...without any on_next inside another


def test_an_acknowledgement_from_outside_emits_on_the_scheduler_not_in_the_call(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "a\nb\n", InboxPolicy(max_pending_events=1, quiet_s=QUIET))
    first = harness.tick(1.0)
    harness.ack(first)
    assert len(harness.events) == 1  # nothing emitted from inside acknowledge
    harness.scheduler.advance_to(1.5)  # the loop runs what was scheduled
    assert [e.payload["text"] for e in harness.events] == ["a", "b"]


def test_acknowledgements_after_disposal_emit_nothing(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "a\nb\n", InboxPolicy(max_pending_events=1, quiet_s=QUIET))
    first = harness.tick(1.0)
    harness.subscription.dispose()
    harness.ack(first)
    harness.scheduler.advance_to(5.0)
    assert len(harness.events) == 1
    assert harness.state.in_flight() == 0


class Durability:
    """``make_durable`` for tests: each call starts a job the test completes or fails."""

    def __init__(self) -> None:
        self.jobs: list[Subject[None]] = []

    def __call__(self) -> Observable[Any]:
        job: Subject[None] = Subject()
        self.jobs.append(job)
        return job


def test_a_finished_claim_is_deleted_only_once_its_rows_are_durable(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    durable = Durability()
    harness = Harness(path, make_durable=durable)
    path.write_text("a\n", encoding="utf-8")
    harness.ack(harness.tick(1.0))
    harness.tick(1.0 + QUIET)  # finished: the first checkpoint starts
    assert len(durable.jobs) == 1
    (first_claim,) = harness.claimed()

    path.write_text("b\n", encoding="utf-8")
    harness.ack(harness.tick(4.0))
    harness.tick(4.0 + QUIET)  # finished while the first runs: waits for the next
    assert len(durable.jobs) == 1
    assert len(harness.claimed()) == 2

    durable.jobs[0].on_completed()
    assert first_claim not in harness.claimed()
    assert len(harness.claimed()) == 1  # the second was finished after the first job began

    harness.tick(7.0)
    assert len(durable.jobs) == 2
    durable.jobs[1].on_error(OSError("checkpoint failed"))
    assert len(harness.claimed()) == 1  # kept
    assert harness.errors[-1][0] == "make durable"

    harness.tick(8.0)  # tried again on a later tick
    assert len(durable.jobs) == 3
    durable.jobs[2].on_completed()
    assert harness.claimed() == []


def test_claims_are_deleted_as_soon_as_the_durability_job_completes(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_text("a\n", encoding="utf-8")
    calls: list[int] = []

    def make_durable() -> Observable[Any]:
        calls.append(1)
        return reactivex.empty()

    harness = Harness(path, make_durable=make_durable)
    harness.ack(harness.tick(1.0))
    harness.tick(1.0 + QUIET)
    assert calls == [1]
    harness.scheduler.advance_to(1.0 + QUIET + 0.001)  # empty() completes on the scheduler
    assert harness.claimed() == []


def test_disposal_stops_a_running_durability_job_and_release_finished_then_deletes(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_text("a\n", encoding="utf-8")
    durable = Durability()
    harness = Harness(path, make_durable=durable)
    harness.ack(harness.tick(1.0))
    harness.tick(1.0 + QUIET)
    harness.subscription.dispose()
    assert not durable.jobs[0].observers
    claimed = harness.claimed()
    assert harness.state.release_finished() == claimed  # after the runtime's own checkpoint
    assert harness.claimed() == []


def test_release_finished_keeps_a_file_another_process_holds_open(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    writer = path.open("a", encoding="utf-8")
    append(writer, "a\n")
    harness = Harness(path)
    harness.ack(harness.tick(1.0))
    claimed = harness.claimed()
    assert harness.state.release_finished() == []
    assert harness.claimed() == claimed
    writer.close()
    assert harness.state.release_finished() == claimed


def test_a_tick_reads_on_the_claims_it_has_before_it_claims_what_is_new(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "a\nb\n", InboxPolicy(max_pending_events=1, quiet_s=QUIET))
    path = harness.path
    first = harness.tick(1.0)
    path.write_text("new\n", encoding="utf-8")
    harness.ack(first)  # the read it asks for is due on the scheduler, which has not run yet
    harness.trigger.on_next(1.0)  # the tick comes first
    assert [e.payload["text"] for e in harness.events] == ["a", "b"]
    assert path.read_text(encoding="utf-8") == "new\n"  # the claim's next line took the room: not claimed


def test_a_disposed_subscription_lets_go_of_the_state_only_when_it_still_holds_it(tmp_path: Path) -> None:
    state = InboxState()
    first = Harness(tmp_path / "inbox.txt", state=state)
    second = Harness(tmp_path / "inbox.txt", state=state)  # a second subscription takes the state over
    first.subscription.dispose()
    assert state.wake is not None
    second.subscription.dispose()
    assert state.wake is None


def test_a_failure_while_reading_on_after_an_acknowledgement_goes_down_the_stream(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_text("a\nb\n", encoding="utf-8")
    scheduler = TestScheduler()
    state = InboxState()
    seen: list[str] = []
    errors: list[Exception] = []
    broken = RuntimeError("the consumer broke")

    def on_next(event: Event) -> None:
        seen.append(str(event.payload["text"]))
        if event.payload["text"] == "b":
            raise broken

    trigger: Subject[Any] = Subject()
    policy = InboxPolicy(max_pending_events=1, quiet_s=QUIET)
    inbox(path, trigger, state, policy).subscribe(on_next, on_error=errors.append, scheduler=scheduler)
    trigger.on_next(0)
    state.acknowledge(frozenset(state.claims[0].unacked))
    scheduler.advance_to(1.0)  # the read the acknowledgement asked for
    assert seen == ["a", "b"] and errors == [broken]


def test_a_tick_inside_on_next_never_re_enters_it_and_what_it_claims_is_read_in_the_same_round(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_text("first\n", encoding="utf-8")
    trigger: Subject[Any] = Subject()
    depth = [0, 0]  # now, deepest
    texts: list[str] = []

    def on_next(event: Event) -> None:  # a consumer that drives the ticks itself
        depth[0] += 1
        depth[1] = max(depth)
        texts.append(str(event.payload["text"]))
        if event.payload["text"] == "first":
            path.write_text("second\n", encoding="utf-8")
            trigger.on_next(1)  # claims the new file while the first claim's line is being sent
        depth[0] -= 1

    inbox(path, trigger, InboxState(), InboxPolicy(quiet_s=QUIET)).subscribe(on_next, scheduler=TestScheduler())
    trigger.on_next(0)
    assert texts == ["first", "second"] and depth[1] == 1


def test_a_finished_claim_that_grows_before_its_delete_is_read_on(tmp_path: Path) -> None:
    durable = Durability()
    harness = harness_on(tmp_path, "a\n", make_durable=durable)
    harness.ack(harness.tick(1.0))
    harness.tick(1.0 + QUIET)  # finished: its checkpoint starts
    (claimed,) = harness.claimed()
    with claimed.open("a", encoding="utf-8") as late:  # a writer that still had the old name comes back
        late.write("b\n")
    durable.jobs[0].on_completed()  # the delete finds the file grew: kept, and read on
    assert claimed.exists()
    assert [e.payload["text"] for e in harness.tick(10.0)] == ["b"]
