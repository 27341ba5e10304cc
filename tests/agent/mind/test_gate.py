"""The gate: an idle being makes no LLM call; a change, a due goal or a protection change makes it think once."""

from __future__ import annotations

from datetime import timedelta

from agent.mind import Gate, ProtectionState
from sinks import DeadLetterRow, EpisodeRow, GoalRow
from streams import Event
from tests.agent.mind._fakes import T0, FakeMemory, message, run_mind, tick, ticks_every

CLOSED = ProtectionState("closed", False)


def _goal(gid: str, due_in_s: float | None, status: str = "open") -> GoalRow:
    due = T0 + timedelta(seconds=due_in_s) if due_in_s is not None else None
    return GoalRow(id=gid, text=f"goal {gid}", status=status, due=due, created=T0, done=None, time=T0)  # type: ignore[arg-type]


async def test_an_idle_hour_of_virtual_time_makes_zero_llm_calls() -> None:
    run = await run_mind(ticks_every(60.0, 60))
    assert run.backend.calls == []
    assert run.outcomes("mind.idle") == ["success"] * 60
    assert len(run.rows) == 60  # one idle episode per heavy tick, nothing else
    assert run.listener.of("gate") == [("idle",)] * 60
    assert run.end - T0 == timedelta(hours=1)


async def test_a_message_makes_the_next_tick_think_once_then_it_is_idle_again() -> None:
    events = [tick(1, T0 + timedelta(seconds=60)), message(1, T0 + timedelta(seconds=90), "remind me to stretch")]
    events += [tick(n, T0 + timedelta(seconds=60 * n)) for n in (2, 3)]
    run = await run_mind(events)
    assert run.outcomes("mind.idle") == ["success", "success"]  # ticks 1 and 3
    assert [e.event_id for e in run.episodes("mind.action")] == ["heavy-2"]
    assert len(run.backend.calls) == 2  # the monologue and the decision
    assert run.context.foci == ["message from ann: remind me to stretch"]
    thought = run.episodes("mind.thought")[0]
    assert thought.data["reasons"] == {"message": 1}
    assert run.listener.of("gate") == [("idle",), ("think",), ("idle",)]


def test_each_kind_of_change_wakes_the_gate_and_is_seen_once() -> None:
    gate = Gate()
    assert not gate.look(T0, {}, CLOSED).think  # the first look is the baseline
    for kind, item in [
        ("world", Event(id="w", type="world.file.changed", time=T0, source="watch", payload={"path": "a.txt"})),
        ("intentions", Event(id="i", type="mind.intentions", time=T0, source="file", payload={"bytes": 12})),
        ("dead_letter", Event(id="b", type="input.invalid", time=T0, source="inbox", payload={"reason": "bad"})),
        ("dead_letter", DeadLetterRow(id="d", time=T0, source="llm:llm", reason="timeout", raw="{}")),
        ("reply", EpisodeRow(id="r", time=T0, type="user.reply", description="hi back", outcome="success")),
    ]:
        gate.see(item)
        gate.see(item)  # seen twice, counted once
        look = gate.look(T0, {}, CLOSED)
        assert look.think and look.reasons == {kind: 1}, kind
        assert not gate.look(T0, {}, CLOSED).think
    gate.see(Event(id="t", type="tick.light", time=T0, source="ticks"))
    gate.see(EpisodeRow(id="x", time=T0, type="mind.note", description="mine", outcome="success"))
    assert not gate.look(T0, {}, CLOSED).think


def test_the_mind_s_own_dead_letters_do_not_wake_it() -> None:
    gate = Gate()
    gate.look(T0, {}, CLOSED)
    own = DeadLetterRow(id="own", time=T0, source="llm:llm", reason="timeout", raw="{}")
    gate.mine(own)
    gate.see(own)
    gate.see(DeadLetterRow(id="decision", time=T0, source="mind", reason="decision: unusable", raw="{}"))
    assert not gate.look(T0, {}, CLOSED).think


def test_a_goal_wakes_the_mind_once_when_it_falls_due() -> None:
    gate = Gate()
    goals = {g.id: g for g in [_goal("a", 120.0), _goal("b", None), _goal("c", 30.0, "done")]}
    assert not gate.look(T0 + timedelta(seconds=60), goals, CLOSED).think
    look = gate.look(T0 + timedelta(seconds=120), goals, CLOSED)
    assert look.think and look.reasons == {"goal_due": 1} and look.focus == "goal due: goal a"
    assert not gate.look(T0 + timedelta(seconds=180), goals, CLOSED).think
    moved = {"a": _goal("a", 600.0)}  # the goal was put off: it falls due again later
    assert gate.look(T0 + timedelta(seconds=600), moved, CLOSED).think


def test_a_change_of_the_breaker_or_the_budget_since_the_last_thought_wakes_it() -> None:
    gate = Gate()
    gate.look(T0, {}, CLOSED)
    assert not gate.look(T0, {}, CLOSED).think
    look = gate.look(T0, {}, ProtectionState("open", False))
    assert look.think and look.reasons == {"protection": 1} and "breaker closed" in look.focus
    assert not gate.look(T0, {}, ProtectionState("open", False)).think
    gate.settle(ProtectionState("open", True))  # a thought ended with the budget spent
    assert not gate.look(T0, {}, ProtectionState("open", True)).think
    assert gate.look(T0, {}, ProtectionState("open", False)).reasons == {"protection": 1}


def test_the_focus_names_what_the_user_said_first() -> None:
    gate = Gate()
    gate.look(T0, {}, CLOSED)
    gate.see(Event(id="w", type="world.file.changed", time=T0, source="watch", payload={"path": "a.txt"}))
    gate.see(message(1, T0, "hi"))
    look = gate.look(T0, {"g": _goal("g", 0.0)}, CLOSED)
    assert look.focus == "message from ann: hi; goal due: goal g; world.file.changed: a.txt"
    assert look.reasons == {"goal_due": 1, "message": 1, "world": 1}


async def test_a_due_goal_seeded_in_memory_makes_a_tick_think() -> None:
    memory = FakeMemory({"a": _goal("a", 90.0)})
    run = await run_mind(ticks_every(60.0, 3), memory=memory)
    assert run.outcomes("mind.idle") == ["success", "success"]
    assert [e.event_id for e in run.episodes("mind.action")] == ["heavy-2"]


def test_the_protection_state_is_read_from_the_breaker_and_the_budget() -> None:
    from reactivex.testing import TestScheduler

    from agent.mind import protection_state
    from operators import BreakerPolicy, BudgetPolicy
    from tests.agent.mind._fakes import protection

    scheduler = TestScheduler()
    assert protection_state(protection(), scheduler) == ProtectionState(None, None)
    guard = protection(breaker=BreakerPolicy(), budget=BudgetPolicy(max_calls=1, window_s=None))
    assert protection_state(guard, scheduler) == ProtectionState("closed", False)
    assert guard.budget is not None and guard.breaker is not None
    guard.budget.spend(0.0)
    guard.breaker.force_open()
    assert protection_state(guard, scheduler) == ProtectionState("forced_open", True)
    assert ProtectionState("open", True).describe() == "breaker open, budget spent"
