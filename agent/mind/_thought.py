"""One thought: context → monologue → decision (→ one repair) → act → after, within a deadline.

A thought is a cold observable of rows, emitted as each step ends (so what was done survives a
cut): the monologue call's dead letters and exchanges, then a ``mind.thought`` episode; the
decision call's (and its repair's), then a ``mind.decision`` episode (and, for an answer still
unusable after its repair, a dead letter with the raw answers); then the tool's rows and a
``mind.action`` episode, the thought's last row.

How it ends (the ``mind.action`` episode's data and :meth:`MindListener.on_thought`):

- ``success``: the model decided (at once or after its repair) and the tool ran (the tool's own
  outcome, ``skipped`` included, is the episode's outcome);
- ``defaulted``: the answer was unusable after one repair: ``observe``;
- ``degraded``: the LLM gave no answer (a fallback, a skip, a failure, the step's time limit, the
  tick's call budget): ``observe`` at once, without the calls still ahead;
- ``timeout``: the thought's deadline passed; the step then running is cut;
- ``failure``: a part beside the mind (context, memory, tools) raised; the error is in the episode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import reactivex
from jsonschema import Draft202012Validator
from reactivex import Observable, abc
from reactivex import operators as ops

from agent._call_rows import CallRecord
from agent._recorder import Recorder
from agent.mind._decision import Decision, Problem, decision_schema, default_decision, read_decision
from agent.mind._episodes import DECISION, THOUGHT, action_episode, decision_letter, episode, thought_id
from agent.mind._gate import Look
from agent.mind._mind import Mind
from agent.mind._prompts import decision_messages, monologue_messages, repair_messages
from agent.mind._steps import Called, TickBudget, call_step
from agent.mind.tools import ToolResult
from llm import Message
from operators import CallTimeoutError, timeout
from sinks import Row
from streams import NOTHING, Event, Step

__all__ = ["think"]

_THOUGHT_OUTCOME = {"success": "success", "repaired": "success", "defaulted": "defaulted", "degraded": "degraded"}


def _then(rows: list[Row], rest: Callable[[], Observable[Row]] | None = None) -> Observable[Row]:
    """``rows`` at once, then what ``rest()`` emits (subscribed with the same scheduler), with no turn
    of the loop between: a thought's steps follow each other as soon as each ends."""

    def subscribe(observer: abc.ObserverBase[Row], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        for row in rows:
            observer.on_next(row)
        if rest is None:
            observer.on_completed()
            return NOTHING
        return rest().subscribe(observer, scheduler=scheduler)

    return Step(subscribe)


@dataclass(slots=True)
class _Progress:
    """Where the thought is: what a cut must still write."""

    started: datetime
    step: str = "context"
    step_started: datetime | None = None
    record: CallRecord = field(default_factory=CallRecord)
    thought_written: bool = False
    decision: Decision | None = None
    decision_outcome: str | None = None
    asked: tuple[Message, ...] = ()
    answered_at: datetime | None = None
    """When the thought's last call ended (its exchanges carry this time)."""


def think(tick: Event, look: Look, mind: Mind, budget: TickBudget, *, recorder: Recorder | None) -> Observable[Row]:
    """The rows of the thought the heavy tick ``tick`` starts (module docstring); never an error.

    Args:
        tick: the heavy tick (row ids derive from its event id).
        look: what the gate saw (the focus, the reasons).
        mind: backend, protection, policy, tools, memory, context, listener.
        budget: the tick's call budget (reset by the route at each heavy tick).
        recorder: records each exchange with the LLM (``None``: nothing recorded).
    """
    policy, listener = mind.policy, mind.listener
    focus = look.focus[: policy.focus_max_chars]
    recording = recorder is not None
    tid = thought_id(tick)

    def build(scheduler: abc.SchedulerBase) -> Observable[Row]:
        p = _Progress(scheduler.now)
        schema = decision_schema(mind.registry.schemas)
        validator = Draft202012Validator(schema)
        context = mind.context.for_thought(focus)

        def since(start: datetime | None) -> float:
            return max(0.0, (scheduler.now - (start or p.started)).total_seconds())

        def begin(step: str) -> CallRecord:
            p.step, p.step_started, p.record = step, scheduler.now, CallRecord()
            return p.record

        def left_behind() -> list[Row]:
            p.answered_at = scheduler.now  # what the exchanges are stamped with: a replay gives the same
            rows = p.record.rows(p.answered_at, recorder)
            p.record = CallRecord()  # each exchange is emitted once
            return rows

        def ended(step: str, called: Called) -> tuple[list[Row], float]:
            duration = since(p.step_started)
            listener.on_step(step, called.outcome, duration)
            return left_behind(), duration

        # monologue -------------------------------------------------------------------------
        def monologue() -> Observable[Row]:
            budget.take()  # the tick's first call: the route has just reset the budget
            record = begin("monologue")
            # the tick's own time, not the clock's: a replay asks the very request the live run asked
            asked = monologue_messages(context.text, focus=focus, now=tick.time.strftime("%Y-%m-%d %H:%M UTC"))
            step = call_step(
                asked, mind, name="mind.monologue", timeout_s=policy.monologue_timeout_s,
                record=record, recording=recording,
            )  # fmt: skip
            return step.pipe(ops.flat_map(after_monologue))

        def after_monologue(called: Called) -> Observable[Row]:
            rows, duration = ended("monologue", called)
            text = called.text
            cut = [dict(c) for c in context.cut]
            data = {
                "focus": focus,
                "reasons": dict(look.reasons),
                "monologue": text,
                "context": {"chars": len(context.text), "sections": dict(context.sections), "cut": cut},
                "duration_s": duration,
                **called.details,
            }
            outcome = "success" if text is not None else called.outcome
            rows.append(episode(tick, THOUGHT, scheduler.now, text or f"no thought: {outcome}", outcome, data))
            p.thought_written = True
            if text is None:
                why = f"the LLM gave no thought ({called.outcome})"
                return _then(rows, lambda: decided(default_decision(focus, why), "degraded", {}))
            return _then(rows, lambda: decide(text))

        # decision ----------------------------------------------------------------------------
        def decide(monologue_text: str) -> Observable[Row]:
            if not budget.take():
                return decided(default_decision(focus, "the tick's call budget is spent"), "degraded", {})
            record = begin("decision")
            p.asked = decision_messages(context.text, monologue=monologue_text, tools=mind.registry.describe())
            step = call_step(
                p.asked, mind, name="mind.decision", timeout_s=policy.decision_timeout_s,
                record=record, recording=recording, format=schema,
            )  # fmt: skip
            return step.pipe(ops.flat_map(after_decision))

        def read(text: str) -> Decision | Problem:
            return read_decision(text, validator, max_chars=policy.answer_max_chars)

        def after_decision(called: Called) -> Observable[Row]:
            rows, _ = ended("decision", called)
            if called.text is None:
                why = f"the LLM gave no decision ({called.outcome})"
                return _then(rows, lambda: decided(default_decision(focus, why), "degraded", called.details))
            answer = called.text
            got = read(answer)
            if isinstance(got, Decision):
                return _then(rows, lambda: decided(got, "success", called.details))
            return _then(rows, lambda: repair(answer, got))

        def repair(answer: str, problem: Problem) -> Observable[Row]:
            if not budget.take():
                problems = [str(problem), "no call left in the tick's budget for a repair"]
                return unusable(problems, [answer])
            record = begin("repair")
            asked = repair_messages(p.asked, answer, problem=str(problem), schema=schema)
            step = call_step(
                asked, mind, name="mind.repair", timeout_s=policy.decision_timeout_s,
                record=record, recording=recording, format=schema,
            )  # fmt: skip

            def repaired(called: Called) -> Observable[Row]:
                return after_repair(called, answer, problem)

            return step.pipe(ops.flat_map(repaired))

        def after_repair(called: Called, answer: str, problem: Problem) -> Observable[Row]:
            rows, _ = ended("repair", called)
            if called.text is None:
                problems = [str(problem), f"the repair got no answer ({called.outcome})"]
            else:
                got = read(called.text)
                if isinstance(got, Decision):
                    details = {"problem": str(problem), **called.details}
                    return _then(rows, lambda: decided(got, "repaired", details))
                problems = [str(problem), str(got)]
            return _then(rows, lambda: unusable(problems, [answer, called.text]))

        def unusable(problems: list[str], answers: list[str | None]) -> Observable[Row]:
            letter = decision_letter(tick, scheduler.now, problems=problems, answers=answers)
            why = f"the answer was unusable after one repair: {problems[-1]}"
            return decided(default_decision(focus, why), "defaulted", {"problems": problems}, letter=letter)

        def decided(
            decision: Decision, outcome: str, details: dict[str, Any], *, letter: Row | None = None
        ) -> Observable[Row]:
            rows: list[Row] = [letter] if letter is not None else []
            data = {"decision": decision.as_data(), "calls_left": budget.left, **details}
            decided_at = p.answered_at or scheduler.now  # the answer's time, not the parse's: see act
            rows.append(episode(tick, DECISION, decided_at, f"{decision.action}: {decision.reasoning}", outcome, data))
            p.decision, p.decision_outcome = decision, outcome
            return _then(rows, lambda: act(decision, decided_at))

        # act and after -----------------------------------------------------------------------
        def act(decision: Decision, decided_at: datetime) -> Observable[Row]:
            """Run the decided tool. Its ``now`` is the decision's time (when its answer came, which a
            replay gives as recorded), not the moment the tool starts after parsing it: a goal due
            "in 1 day" is due the same in a replay."""
            p.step, p.step_started = "act", scheduler.now
            if decision.action in policy.optional_tools and budget.left < policy.optional_min_calls:
                reason = (
                    f"{budget.left} of the tick's {budget.limit} calls left, fewer than the "
                    f"{policy.optional_min_calls} an optional step needs"
                )
                skipped = ToolResult(outcome="skipped", summary=reason)
                return _then(after(decision, skipped, {"reason": reason}))
            tool_context = mind.memory.tool_context(decided_at, tid)
            acted = mind.registry.call(decision.action, decision.arguments, tool_context, scheduler=scheduler)

            def done(result: ToolResult | None) -> Observable[Row]:
                return _then(after(decision, result))

            first: Observable[ToolResult | None] = acted.pipe(ops.first_or_default(None))
            return first.pipe(ops.flat_map(done))

        def after(decision: Decision, result: ToolResult | None, extra: dict[str, Any] | None = None) -> list[Row]:
            if result is None:
                result = ToolResult(outcome="failure", summary="the tool ended without a result")
            duration = since(p.step_started)
            listener.on_step("act", result.outcome, duration)
            listener.on_tool(decision.action, result.outcome)
            outcome = _THOUGHT_OUTCOME[p.decision_outcome or "degraded"]
            data = {"thought": outcome, "decision": p.decision_outcome, "data": dict(result.data), **(extra or {})}
            last = action_episode(
                tick, scheduler.now, tool=decision.action, arguments=dict(decision.arguments),
                outcome=result.outcome, duration_s=duration, summary=result.summary, data=data,
            )  # fmt: skip
            listener.on_thought(outcome, since(p.started))
            return [*result.rows, last]

        # a cut -------------------------------------------------------------------------------
        def cut(error: Exception, _: Observable[Row]) -> Observable[Row]:
            now = scheduler.now
            rows = left_behind()
            step, duration = p.step, since(p.step_started)
            if isinstance(error, CallTimeoutError):
                outcome = "timeout"
                reason = f"the thought's deadline of {policy.thought_deadline_s:g} s passed during the {step}"
                details: dict[str, Any] = {"reason": reason}
            else:
                outcome = "failure"
                reason = f"the {step} failed: {type(error).__name__}: {error}"
                details = {"reason": reason, "error": {"type": type(error).__name__, "message": str(error)}}
            if step != "context":
                listener.on_step(step, outcome, duration)
            if not p.thought_written:
                rows.append(episode(tick, THOUGHT, now, f"no thought: {reason}", outcome, {"focus": focus, **details}))
            if p.decision_outcome is None:
                fallback = default_decision(focus, reason)
                data = {"decision": fallback.as_data(), **details}
                rows.append(episode(tick, DECISION, now, f"observe: {reason}", outcome, data))
            tool = p.decision.action if step == "act" and p.decision is not None else None
            arguments = dict(p.decision.arguments) if tool is not None and p.decision is not None else {}
            if tool is not None:
                listener.on_tool(tool, outcome)
            rows.append(
                action_episode(
                    tick,
                    now,
                    tool=tool,
                    arguments=arguments,
                    outcome=outcome,
                    duration_s=duration,
                    summary=reason,
                    data={"thought": outcome, "decision": p.decision_outcome, **details},
                )
            )
            listener.on_thought(outcome, since(p.started))
            return _then(rows)

        body = reactivex.defer(lambda _: monologue())
        return body.pipe(timeout(policy.thought_deadline_s, name="mind.thought"), ops.catch(cut))

    return reactivex.defer(build).pipe(ops.catch(lambda error, _: _failed_to_start(tick, mind, error)))


def _failed_to_start(tick: Event, mind: Mind, error: Exception) -> Observable[Row]:
    """The context could not be built (a part beside the mind raised): the thought ends at once."""
    now = tick.time
    reason = f"the thought could not start: {type(error).__name__}: {error}"
    mind.listener.on_thought("failure", 0.0)
    details = {"thought": "failure", "reason": reason, "error": {"type": type(error).__name__, "message": str(error)}}
    last = action_episode(
        tick, now, tool=None, arguments={}, outcome="failure", duration_s=0.0, summary=reason, data=details
    )
    return _then([last])
