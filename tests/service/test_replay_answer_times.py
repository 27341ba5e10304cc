"""A recorded answer comes at the virtual time the recorded run got it: what the run stamped with it is the same.

An LLM answers in seconds; the live run stamps its reply (and its thought) with the time the
answer came. A replay that answered at once would stamp them with the message's time, and a
context that shows when things happened (the mind's recent episodes) would ask the recording
a question it never asked.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from llm import ChatResult, Exchange, InMemoryExchangeStore, Message, ReplayBackend
from llm._exchange import canonical_request, encode_response, request_key
from llm.simulator import FaultPlan
from service.replay import ReplayScheduler
from service.replay._driver import AnswerTimes, CallTracker, drive
from service.settings import Settings
from sinks import Recording, read_recording
from tests.service.seed_support import export, live_run, thought_after_replies
from tests.service.seed_support import replay as seed_replay
from tests.service.test_replay import T0, episodes, replay, settings_for

LATER_S = 2.5


def _recorded(tmp_path: Path) -> tuple[Settings, Recording]:
    """A recording with LLM answers (made by a replay the simulator answered)."""
    from tests.service.test_replay import base_recording

    settings = settings_for(tmp_path)
    out = tmp_path / "simulated.duckdb"
    assert replay(settings, base_recording(), out, llm="simulator").miss is None
    return settings, read_recording(out)


def _copy(recording: Recording) -> Recording:
    """A copy whose exchanges and problems can change without changing ``recording``."""
    return dataclasses.replace(
        recording, exchanges=[dict(body) for body in recording.exchanges], problems=list(recording.problems)
    )


def _moved(recording: Recording, change: Any) -> Recording:
    moved = _copy(recording)
    for body in moved.exchanges:
        body["time"] = change(datetime.fromisoformat(body["time"])).isoformat()
    return moved


def _reply_times(path: Path) -> list[datetime]:
    return [r[1] for r in episodes(path) if r[2] == "user.reply"]


def test_each_reply_is_stamped_with_its_recorded_answer_time(tmp_path: Path) -> None:
    settings, recording = _recorded(tmp_path)
    later = _moved(recording, lambda t: t + timedelta(seconds=LATER_S))
    out = tmp_path / "later.duckdb"
    report = replay(settings, later, out)
    assert report.miss is None and report.llm_calls == 3
    assert _reply_times(out) == [T0 + timedelta(seconds=s + LATER_S) for s in (1, 61, 120)]
    # and a replay of that replay gives them the same times again
    again = tmp_path / "again.duckdb"
    assert replay(settings, read_recording(out), again).miss is None
    assert episodes(again) == episodes(out)


def test_an_answer_recorded_before_its_call_comes_at_once(tmp_path: Path) -> None:
    settings, recording = _recorded(tmp_path)
    earlier = _moved(recording, lambda t: t - timedelta(hours=1))
    out = tmp_path / "earlier.duckdb"
    assert replay(settings, earlier, out).miss is None
    assert _reply_times(out) == [T0 + timedelta(seconds=s) for s in (1, 61, 120)]


def test_an_answer_time_far_ahead_is_cut_at_the_calls_deadline(tmp_path: Path) -> None:
    settings, recording = _recorded(tmp_path)
    far = _moved(recording, lambda t: t.replace(year=9000))
    out = tmp_path / "far.duckdb"
    report = replay(settings, far, out)
    # no live call outlives its timeout: the first call times out on the virtual clock (not in the
    # year 9000), its retry asks again, and the recording has no second answer: the replay stops saying so
    assert report.miss is not None and "this is call 2" in report.miss
    times = [r[1] for r in episodes(out)]
    assert max(times) <= T0 + timedelta(seconds=1 + settings.resilience.timeout.deadline_s)


@pytest.mark.parametrize(
    ("time", "problem"),
    [("2026-03-01T09:00:00", "zone"), ("yesterday", "Invalid isoformat"), (17, "expected an ISO 8601 time")],
)
def test_an_exchange_whose_time_is_no_time_is_a_problem_of_the_recording(
    tmp_path: Path, time: object, problem: str
) -> None:
    settings, recording = _recorded(tmp_path)
    broken = _copy(recording)
    broken.exchanges[0]["time"] = time
    out = tmp_path / "broken.duckdb"
    report = replay(settings, broken, out, on_miss="fallback")
    assert report.problems == 1
    reasons = [r for r in broken.problems if "exchange does not decode" in r.reason]
    assert len(reasons) == 1 and problem in reasons[0].reason


async def test_a_call_waiting_for_its_answer_time_lets_virtual_time_run_on() -> None:
    scheduler = ReplayScheduler(T0)
    request = canonical_request("chat", messages=[Message.user("hi")], model=None, options=None, format=None)
    answered_at = T0 + timedelta(seconds=3)
    store = InMemoryExchangeStore(
        [
            Exchange(
                key=request_key(request),
                operation="chat",
                backend="test",
                request=request,
                response=encode_response(ChatResult(model="m", content="hello")),
                time=answered_at,
            )
        ]
    )
    times = AnswerTimes(scheduler, limit_s=60.0)
    tracker = CallTracker(ReplayBackend(store, answer_at=times.until))
    seen: list[datetime] = []
    for second in range(1, 6):  # what else the run does meanwhile: ticks every second
        scheduler.schedule_absolute(T0 + timedelta(seconds=second), lambda s, _: seen.append(s.now))
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    got: list[tuple[str, datetime]] = []

    async def ask() -> None:
        result = await tracker.chat([Message.user("hi")])
        got.append((result.content, scheduler.now))

    task = asyncio.create_task(ask())
    await drive(scheduler, tracker=tracker, done=done)  # until nothing is left to run
    assert task.done()
    assert got == [("hello", answered_at)]
    assert seen == [T0 + timedelta(seconds=s) for s in range(1, 6)]
    assert tracker.in_flight == 0 and times.waiting == 0


async def test_a_cancelled_wait_leaves_no_timer_and_no_call_waiting() -> None:
    scheduler = ReplayScheduler(T0)
    times = AnswerTimes(scheduler, limit_s=60.0)
    waiting = asyncio.create_task(times.until(T0 + timedelta(seconds=10)))
    await asyncio.sleep(0)
    assert times.waiting == 1 and scheduler.next_due() == T0 + timedelta(seconds=10)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert times.waiting == 0 and scheduler.next_due() is None


def test_a_live_run_with_a_slow_llm_replays_its_thought_with_the_recorded_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each answer takes over a second, so every reply is stamped a second or more after its message,
    and the thought's context lists those times: the replay must ask the recording the same question."""
    folder = tmp_path / "live"
    folder.mkdir()
    asyncio.run(live_run(folder, ["Hello! Who are you?"], FaultPlan(models=(), latency_ms=1100.0)))
    database = folder / "data" / "being.duckdb"
    assert thought_after_replies(database)
    recording = tmp_path / "slow.jsonl"
    export(folder / "config.toml", recording)
    summary = seed_replay(folder / "config.toml", recording, tmp_path / "replay.duckdb", capsys)
    assert summary["miss"] is None and summary["llm_calls"] >= 3  # the reply, the monologue, the decision
    assert summary["compare"]["identical"] is True, summary["compare"]
    live_replies = _reply_times(database)
    assert live_replies and _reply_times(tmp_path / "replay.duckdb") == live_replies
    # the decision (and what its tool stamps: a goal's due time) takes the time its answer came,
    # which its exchange carries, not the moment after the answer was parsed: a replay gives the same
    for path in (database, tmp_path / "replay.duckdb"):
        decisions = _times(path, "SELECT time FROM episodes WHERE type = 'mind.decision'")
        assert decisions and decisions <= _times(path, "SELECT time FROM llm_exchanges")


def _times(path: Path, sql: str) -> set[datetime]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute(sql).fetchall()}
    finally:
        con.close()
