"""The mind route: a tick never overlaps a running thought (skip), the per-tick budget, replayable rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from agent import Recorder
from agent.mind import OVERLAP_REASON, MindPolicy
from sinks import DeadLetterRow, EpisodeRow, ExchangeRow, Row
from tests.agent.mind._fakes import T0, Later, ScriptedBackend, decision, message, run_mind, tick


def _at(s: float) -> timedelta:
    return timedelta(seconds=s)


async def test_a_tick_during_a_running_thought_is_skipped_counted_and_recorded() -> None:
    backend = ScriptedBackend([Later(100.0, "slow thought"), decision("note")])
    events = [message(1, T0 + _at(30)), tick(1, T0 + _at(60)), message(2, T0 + _at(70), "later")]
    events += [tick(2, T0 + _at(120)), tick(3, T0 + _at(180)), tick(4, T0 + _at(240))]
    run = await run_mind(events, backend, policy=MindPolicy(monologue_timeout_s=150.0))
    skipped = [e for e in run.episodes("mind.idle") if e.outcome == "skipped"]
    assert [(e.event_id, e.data["reason"]) for e in skipped] == [("heavy-2", OVERLAP_REASON)]
    assert run.listener.of("overlap_skip") == [()]
    actions = run.episodes("mind.action")
    assert [a.event_id for a in actions] == ["heavy-1", "heavy-3"]  # the message during the thought waits for tick 3
    assert actions[0].time == T0 + _at(160)
    assert run.context.foci[1] == "message from ann: later"
    assert run.outcomes("mind.idle") == ["skipped", "success"]  # tick 4: nothing changed since
    assert run.listener.of("gate") == [("think",), ("think",), ("idle",)]  # a skipped tick has no gate


async def test_the_budget_is_reset_each_tick_and_optional_steps_are_skipped_when_little_is_left() -> None:
    # tick 1: monologue + decision + repair = 3 of 4 calls: 1 left, fewer than 2 → recall is skipped
    # tick 2: a fresh budget: monologue + decision = 2 of 4: 2 left → recall runs
    script = ["t1", "not json", decision("recall", {"query": "q"}), "t2", decision("recall", {"query": "q"})]
    events = [message(1, T0 + _at(30)), tick(1, T0 + _at(60)), message(2, T0 + _at(90)), tick(2, T0 + _at(120))]
    run = await run_mind(events, ScriptedBackend(script), policy=MindPolicy(calls_per_tick=4, optional_min_calls=2))
    first, second = run.episodes("mind.action")
    assert first.outcome == "skipped" and first.data["tool"] == "recall"
    assert first.data["reason"] == "1 of the tick's 4 calls left, fewer than the 2 an optional step needs"
    assert first.data["thought"] == "success"
    assert second.outcome == "success" and second.data["tool"] == "recall"
    assert [c[0] for c in run.registry.calls] == ["recall"]  # the skipped one never reached the registry
    assert run.listener.of("tool") == [("recall", "skipped"), ("recall", "success")]


async def test_a_non_optional_tool_runs_with_the_budget_low() -> None:
    script = ["t1", "not json", decision("note", {"path": "a", "text": "b"})]
    run = await run_mind([message(1, T0), tick(1, T0 + _at(60))], ScriptedBackend(script))
    assert run.episodes("mind.action")[0].outcome == "success"


async def test_with_no_call_left_for_a_repair_the_decision_is_defaulted_with_its_dead_letter() -> None:
    backend = ScriptedBackend(["t1", "not json"])
    run = await run_mind([message(1, T0), tick(1, T0 + _at(60))], backend, policy=MindPolicy(calls_per_tick=2))
    assert len(backend.calls) == 2
    [letter] = [r for r in run.rows if isinstance(r, DeadLetterRow)]
    assert "no call left in the tick's budget for a repair" in letter.reason
    assert run.outcomes("mind.decision") == ["defaulted"]


async def test_with_one_call_a_tick_the_decision_is_not_asked() -> None:
    backend = ScriptedBackend()
    run = await run_mind([message(1, T0), tick(1, T0 + _at(60))], backend, policy=MindPolicy(calls_per_tick=1))
    assert len(backend.calls) == 1
    decided = run.episodes("mind.decision")[0]
    assert decided.outcome == "degraded" and decided.data["decision"]["reasoning"] == "the tick's call budget is spent"


def _comparable(rows: list[Row]) -> list[Row]:
    """The rows with the exchanges' wall-clock durations left out (the only values not on the virtual clock)."""
    return [replace(r, duration_s=0.0) if isinstance(r, ExchangeRow) else r for r in rows]


async def test_the_same_events_and_answers_give_the_same_rows_twice() -> None:
    def events() -> list[object]:
        out: list[object] = []
        for n in range(1, 6):
            out += [message(n, T0 + _at(600 * n - 30), f"message {n}"), tick(n, T0 + _at(600 * n))]
        return [*out, tick(99, T0 + _at(4000))]

    def script() -> list[object]:
        return ["t", decision("note"), "t", "bad", decision("goal"), "t", "bad", "bad", "t", Later(500.0, "x"), "t"]

    runs = [await run_mind(events(), ScriptedBackend(script()), recorder=Recorder("run")) for _ in range(2)]  # type: ignore[arg-type]
    first, second = (_comparable(r.rows) for r in runs)
    assert first == second
    ids = [r.id for r in first if isinstance(r, EpisodeRow | DeadLetterRow)]
    assert len(ids) == len(set(ids))
    assert {r.type for r in first if isinstance(r, EpisodeRow)} >= {"mind.thought", "mind.decision", "mind.action"}
    # every call left its exchange but the decision cut at its limit (a cancelled call records none)
    assert sum(isinstance(r, ExchangeRow) for r in first) == len(runs[0].backend.calls) - 1
    assert runs[0].outcomes("mind.decision") == ["success", "repaired", "defaulted", "degraded", "success"]


async def test_a_failing_thought_s_own_dead_letters_do_not_wake_the_next_tick() -> None:
    from llm import TransportError

    backend = ScriptedBackend([TransportError("connection refused")] * 5)
    events = [message(1, T0), tick(1, T0 + _at(60)), tick(2, T0 + _at(120)), tick(3, T0 + _at(180))]
    run = await run_mind(events, backend, show_rows=True)
    assert any(isinstance(r, DeadLetterRow) and r.source == "llm:llm" for r in run.rows)
    assert len(backend.calls) == 1
    assert run.outcomes("mind.idle") == ["success", "success"]
    assert run.listener.of("gate") == [("think",), ("idle",), ("idle",)]
