"""A thought: monologue → decision (schema, one repair, default) → act → after, and what it leaves."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from agent import Recorder
from agent.mind import MindPolicy, decision_schema
from llm import ServerError, TransportError
from operators import BreakerPolicy, BudgetPolicy, RetryPolicy
from sinks import DeadLetterRow, EpisodeRow, Row
from tests.agent.mind._fakes import (
    HANG,
    T0,
    FakeContext,
    FakeRegistry,
    Later,
    ScriptedBackend,
    decision,
    message,
    protection,
    run_mind,
    tick,
)

AT = T0 + timedelta(seconds=60)


def _woken(*more: Any) -> list[Any]:
    """A message, then the heavy tick that thinks about it, then ``more`` events."""
    return [message(1, T0 + timedelta(seconds=30), "what is on today?"), tick(1, AT), *more]


def _kinds(rows: list[Row]) -> list[str]:
    return [r.type if isinstance(r, EpisodeRow) else type(r).__name__ for r in rows]


async def test_a_thought_thinks_decides_in_schema_acts_and_records_each_step() -> None:
    backend = ScriptedBackend(["I should note the plan.", decision("note", {"path": "plan.md", "text": "x"})])
    run = await run_mind(_woken(), backend)
    assert _kinds(run.rows) == ["mind.thought", "mind.decision", "mind.note", "mind.action"]
    (_, monologue_format), (asked, schema) = backend.calls
    assert monologue_format is None
    assert isinstance(schema, dict) and schema == decision_schema(run.registry.schemas)
    assert all(b["required"] == ["focus", "reasoning", "action", "arguments", "risk"] for b in schema["oneOf"])
    assert "I should note the plan." in asked[-1].content and "note (low)" in asked[-1].content
    thought, chosen, _, action = run.rows
    assert isinstance(thought, EpisodeRow) and thought.outcome == "success"
    assert thought.data["monologue"] == "I should note the plan."
    assert thought.data["context"]["sections"] == {"focus": len("message from ann: what is on today?")}
    assert (
        isinstance(chosen, EpisodeRow) and chosen.outcome == "success" and chosen.data["decision"]["action"] == "note"
    )
    assert isinstance(action, EpisodeRow) and action.outcome == "success" and action.event_id == "heavy-1"
    assert action.data["tool"] == "note" and action.data["arguments"] == {"path": "plan.md", "text": "x"}
    assert action.data["summary"] == "note done" and action.data["thought"] == "success"
    [(name, arguments, context)] = run.registry.calls
    assert (name, arguments) == ("note", {"path": "plan.md", "text": "x"})
    assert context.thought_id == thought.data["thought_id"] and context.now == AT
    assert run.listener.of("thought") == [("success", 0.0)]
    assert [s[:2] for s in run.listener.of("step")] == [
        ("monologue", "success"),
        ("decision", "success"),
        ("act", "success"),
    ]
    assert run.listener.of("tool") == [("note", "success")]


async def test_an_unusable_answer_gets_one_repair_that_shows_the_answer_and_the_error() -> None:
    backend = ScriptedBackend(["thinking", "sure! {not json", decision("goal", {"text": "stretch"})])
    run = await run_mind(_woken(), backend)
    assert len(backend.calls) == 3
    repair, schema = backend.calls[2]
    assert schema is not None
    assert repair[-2].role == "assistant" and repair[-2].content == "sure! {not json"
    assert "could not be used: $: not JSON" in repair[-1].content
    assert run.outcomes("mind.decision") == ["repaired"]
    assert run.episodes("mind.decision")[0].data["problem"].startswith("$: not JSON")
    assert run.episodes("mind.action")[0].data["tool"] == "goal"
    assert not [r for r in run.rows if isinstance(r, DeadLetterRow)]
    assert [s[:2] for s in run.listener.of("step")][1:3] == [("decision", "success"), ("repair", "success")]


async def test_an_answer_still_unusable_after_its_repair_becomes_observe_and_a_dead_letter() -> None:
    wrong = decision("shell", {"cmd": "rm -rf /"})  # no such tool: the schema's enum refuses it
    backend = ScriptedBackend(["thinking", wrong, '{"focus": "x"}'])
    run = await run_mind(_woken(), backend)
    assert len(backend.calls) == 3
    assert "$.action: 'shell' is not one of" in backend.calls[2][0][-1].content
    [letter] = [r for r in run.rows if isinstance(r, DeadLetterRow)]
    assert letter.source == "mind" and letter.reason.startswith("decision: unusable after one repair")
    assert "$: 'reasoning' is a required property" in letter.reason
    assert json.loads(letter.raw) == {"answer": wrong, "repair": '{"focus": "x"}'}
    assert run.outcomes("mind.decision") == ["defaulted"]
    assert [c[0] for c in run.registry.calls] == ["observe"]
    action = run.episodes("mind.action")[0]
    assert action.data["tool"] == "observe" and action.data["thought"] == "defaulted"
    assert run.listener.of("thought") == [("defaulted", 0.0)]


async def test_a_fenced_json_answer_is_read_and_hostile_answers_are_problems_not_errors() -> None:
    fenced = "```json\n" + decision("recall", {"query": "today"}) + "\n```"
    run = await run_mind(_woken(), ScriptedBackend(["t", fenced]))
    assert run.outcomes("mind.decision") == ["success"] and run.registry.calls[0][0] == "recall"
    nested = "[" * 100_000 + "]" * 100_000
    huge = decision(reasoning="x" * 20_000)
    for bad in (nested, huge, "", "null", decision(extra=1)):
        run = await run_mind(_woken(), ScriptedBackend(["t", bad, bad]))
        assert run.outcomes("mind.decision") == ["defaulted"], bad[:40]
        assert run.registry.calls[0][0] == "observe"
        assert len([r for r in run.rows if isinstance(r, DeadLetterRow)]) == 1


async def test_with_the_llm_down_a_thought_is_observe_after_one_call_and_the_fallback_is_no_thought() -> None:
    backend = ScriptedBackend([TransportError("connection refused")] * 10)
    guard = protection(retry=RetryPolicy(max_attempts=2, base_delay_s=1.0, jitter=False))
    run = await run_mind(_woken(), backend, guard=guard, recorder=Recorder("run"))
    assert len(backend.calls) == 2  # the monologue's try and its retry; no decision call
    assert _kinds(run.rows) == [
        "DeadLetterRow", "ExchangeRow", "ExchangeRow", "mind.thought", "mind.decision", "mind.observe", "mind.action",
    ]  # fmt: skip
    letter = run.rows[0]
    assert isinstance(letter, DeadLetterRow) and letter.source == "llm:llm" and "TransportError" in letter.reason
    thought = run.episodes("mind.thought")[0]
    assert thought.outcome == "fallback" and thought.data["monologue"] is None  # the fallback text is not a thought
    assert run.outcomes("mind.decision") == ["degraded"]
    assert run.episodes("mind.action")[0].data["thought"] == "degraded"
    assert run.end - AT == timedelta(seconds=1)  # the retry's backoff, no step timeout waited out


async def test_with_the_breaker_open_a_thought_is_observe_at_once_with_no_call() -> None:
    backend = ScriptedBackend()
    guard = protection(breaker=BreakerPolicy(window_calls=2, minimum_calls=2, open_for_s=3600.0, open_for_max_s=3600.0))
    assert guard.breaker is not None
    guard.breaker.force_open()
    run = await run_mind(_woken(), backend, guard=guard)
    assert backend.calls == []
    assert run.outcomes("mind.decision") == ["degraded"]
    assert all(r.time == AT for r in run.episodes())
    assert "circuit_open" in next(r for r in run.rows if isinstance(r, DeadLetterRow)).reason


async def test_the_mind_spends_the_shared_protection_s_budget_like_the_replies() -> None:
    guard = protection(budget=BudgetPolicy(max_calls=1, window_s=None))
    backend = ScriptedBackend()
    run = await run_mind(_woken(), backend, guard=guard)
    assert len(backend.calls) == 1  # the monologue; the decision is refused by the shared budget
    assert run.outcomes("mind.decision") == ["degraded"]
    letters = [r for r in run.rows if isinstance(r, DeadLetterRow)]
    assert len(letters) == 1 and "budget_exceeded" in letters[0].reason


async def test_a_monologue_that_hangs_is_cut_at_its_own_limit_and_the_thought_observes() -> None:
    backend = ScriptedBackend([HANG])
    run = await run_mind(_woken(), backend, policy=MindPolicy(monologue_timeout_s=30.0))
    assert len(backend.calls) == 1
    assert run.outcomes("mind.thought") == ["timeout"]
    assert run.outcomes("mind.decision") == ["degraded"]
    action = run.episodes("mind.action")[0]
    assert action.time == AT + timedelta(seconds=30) and action.data["tool"] == "observe"
    assert run.listener.of("step")[0] == ("monologue", "timeout", 30.0)


async def test_a_decision_that_hangs_is_cut_at_its_own_limit() -> None:
    backend = ScriptedBackend([Later(5.0, "thinking"), HANG])
    run = await run_mind(_woken(), backend, policy=MindPolicy(decision_timeout_s=45.0))
    assert run.outcomes("mind.thought") == ["success"]
    assert run.outcomes("mind.decision") == ["degraded"]
    assert run.episodes("mind.decision")[0].data["error"]["type"] == "timeout"
    assert run.episodes("mind.action")[0].time == AT + timedelta(seconds=50)
    assert run.listener.of("thought") == [("degraded", 50.0)]


async def test_the_deadline_cuts_a_thought_in_its_decision_and_keeps_what_was_done() -> None:
    backend = ScriptedBackend([Later(20.0, "thinking"), Later(40.0, decision("note"))])
    run = await run_mind(_woken(), backend, policy=MindPolicy(thought_deadline_s=50.0))
    assert _kinds(run.rows) == ["mind.thought", "mind.decision", "mind.action"]
    assert run.outcomes("mind.thought") == ["success"]
    assert run.outcomes("mind.decision") == ["timeout"]
    action = run.episodes("mind.action")[0]
    assert action.outcome == "timeout" and action.data["tool"] is None and action.time == AT + timedelta(seconds=50)
    assert "deadline of 50 s passed during the decision" in action.data["reason"]
    assert run.registry.calls == []
    assert run.listener.of("thought") == [("timeout", 50.0)]


async def test_the_deadline_cuts_a_slow_tool() -> None:
    from tests.agent.mind._fakes import FakeTool

    registry = FakeRegistry([FakeTool("note", after_s=500.0)])
    backend = ScriptedBackend(["thinking", decision("note")])
    run = await run_mind(_woken(), backend, registry=registry, policy=MindPolicy(thought_deadline_s=120.0))
    assert _kinds(run.rows) == ["mind.thought", "mind.decision", "mind.action"]
    action = run.episodes("mind.action")[0]
    assert action.outcome == "timeout" and action.data["tool"] == "note" and action.time == AT + timedelta(seconds=120)
    assert run.listener.of("tool") == [("note", "timeout")]


async def test_a_part_beside_the_mind_that_raises_ends_the_thought_not_the_route() -> None:
    run = await run_mind(_woken(message(2, AT + timedelta(seconds=10)), tick(2, AT + timedelta(seconds=60))),
                         context=FakeContext(fail=True))  # fmt: skip
    actions = run.episodes("mind.action")
    assert [a.outcome for a in actions] == ["failure", "failure"]
    assert "RuntimeError: context broke" in actions[0].data["reason"]
    assert run.listener.of("thought") == [("failure", 0.0), ("failure", 0.0)]


async def test_a_backend_error_with_no_fallback_rule_is_an_answer_too() -> None:
    from agent import Protection, ProtectPolicies

    bare = Protection(ProtectPolicies(timeout_s=None, deadline_s=None, breaker=None, retry=None, cache=None,
                                      catch=False), name="llm")  # fmt: skip
    run = await run_mind(_woken(), ScriptedBackend([ServerError("boom", status=500)]), guard=bare)
    assert run.outcomes("mind.thought") == ["failure"]
    assert run.episodes("mind.thought")[0].data["error"]["type"] == "ServerError"
    assert run.outcomes("mind.decision") == ["degraded"]


async def test_the_monologue_names_the_tick_s_own_time_so_a_replay_asks_the_same_request() -> None:
    backend = ScriptedBackend([Later(1.0, "t")])
    await run_mind(_woken(), backend)
    assert "It is 2026-03-01 08:01 UTC." in backend.calls[0][0][-1].content
