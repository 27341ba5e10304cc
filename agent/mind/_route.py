"""The mind route: on each heavy tick, the gate; when something changed, one thought.

Every event passes the gate (:class:`agent.mind.Gate`), which takes note of changes; a heavy
tick asks it whether to think. Nothing changed and nothing due → a ``mind.idle`` episode
(outcome ``success``) and no LLM call. Otherwise the tick's call budget is reset and a thought
runs (:func:`agent.mind._thought.think`), its rows going down this route's stream.

Overlap policy: **skip**. A heavy tick that comes while a thought is still running starts no
thought and leaves the running one alone: it is counted (``MindListener.on_overlap_skip``) and
leaves a ``mind.idle`` episode with outcome ``skipped`` and reason "a thought is still running".
The changes it would have seen stay with the gate for the next tick. Skipping (rather than
queueing) keeps at most one thought in flight and never lets thoughts pile up behind a slow LLM;
the thought's deadline bounds how many ticks can be skipped in a row.

Row ids derive from the tick's event id (``streams.stable_id``), and every time comes from the
scheduler, so a replay of the same events with the same answers gives the same rows.
"""

from __future__ import annotations

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from agent._recorder import Recorder
from agent.mind._episodes import idle_episode
from agent.mind._gate import protection_state
from agent.mind._mind import Mind
from agent.mind._steps import TickBudget
from agent.mind._thought import think
from sinks import Row
from streams import HEAVY_TICK, Event

__all__ = ["OVERLAP_REASON", "mind_route"]

OVERLAP_REASON = "a thought is still running"
IDLE_REASON = "nothing changed"


def mind_route(events: Observable[Event], mind: Mind, *, recorder: Recorder | None = None) -> Observable[Row]:
    """Heavy ticks → ``mind.idle`` episodes, or a thought's rows (module docstring).

    Args:
        events: the shared event stream (the gate looks at every event; heavy ticks start thoughts).
        mind: backend, protection, policy, tools, memory, context, listener and gate.
        recorder: records each exchange with the LLM (``None``: nothing recorded).
    """
    gate, listener = mind.gate, mind.listener
    budget = TickBudget(mind.policy.calls_per_tick)
    running = [False]

    def settle(scheduler: abc.SchedulerBase) -> None:
        running[0] = False
        gate.settle(protection_state(mind.protection, scheduler))

    def is_tick(event: Event) -> bool:
        return event.type == HEAVY_TICK

    def on_tick(event: Event) -> Observable[Row]:
        def tick(scheduler: abc.SchedulerBase) -> Observable[Row]:
            if running[0]:
                listener.on_overlap_skip()
                return reactivex.just(idle_episode(event, "skipped", OVERLAP_REASON))
            look = gate.look(event.time, mind.memory.goals, protection_state(mind.protection, scheduler))
            listener.on_gate("think" if look.think else "idle")
            if not look.think:
                return reactivex.just(idle_episode(event, "success", IDLE_REASON))
            budget.reset()
            running[0] = True
            thought = think(event, look, mind, budget, recorder=recorder)
            return thought.pipe(ops.do_action(gate.mine), ops.finally_action(lambda: settle(scheduler)))

        return reactivex.defer(tick)

    # the gate sees every event; only heavy ticks go on (a thought per tick at most)
    return events.pipe(ops.do_action(gate.see), ops.filter(is_tick), ops.flat_map(on_tick))
