"""The gate: a cheap look, without the LLM, at what changed since the last thought.

The mind thinks on a heavy tick only when something changed or fell due since its last thought:

- ``message``: a user message (``user.message``, ``user.urgent``);
- ``reply``: a reply the being sent (a ``user.reply`` episode it is shown);
- ``dead_letter``: bad input (``input.invalid`` events, and dead letters it is shown that it did not make);
- ``world``: a change in the watched world (``world.*``);
- ``intentions``: the intentions file changed (``mind.intentions``);
- ``goal_due``: an open goal whose ``due`` has passed (each goal wakes the mind once per due time);
- ``protection``: the breaker's state, or whether the budget is spent, differs from what it was
  when the last thought ended.

Nothing of these → the tick is idle: one ``mind.idle`` episode and no LLM call. The gate holds
only small bounded state, owned by the event loop like every piece of pipeline state.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reactivex import abc

from agent._protect import Protection
from operators import now_s
from sinks import DeadLetterRow, EpisodeRow, GoalRow, Row
from streams import INVALID_INPUT, Event

__all__ = ["Gate", "Look", "ProtectionState", "protection_state"]

USER_TYPES = frozenset({"user.message", "user.urgent"})
INTENTIONS = "mind.intentions"
_OWN_SOURCES = frozenset({"mind"})
_KEPT = 4_096  # ids remembered (pending changes; rows the mind made itself)
_TEXTS = 8  # the newest changes' texts, for the focus
# what the focus names first: what the user said, then what fell due, then the rest
_ORDER = ("message", "goal_due", "intentions", "reply", "dead_letter", "world", "protection")


@dataclass(frozen=True, slots=True)
class ProtectionState:
    """What the gate compares of the shared protection: the breaker's state, and whether the budget is spent."""

    breaker: str | None
    budget_spent: bool | None

    def describe(self) -> str:
        """One line for the focus."""
        parts = []
        if self.breaker is not None:
            parts.append(f"breaker {self.breaker}")
        if self.budget_spent is not None:
            parts.append("budget spent" if self.budget_spent else "budget available")
        return ", ".join(parts) or "no protection state"


def protection_state(protection: Protection[Any], scheduler: abc.SchedulerBase) -> ProtectionState:
    """The breaker's state and the budget's, read now (on the budget's own clock)."""
    breaker = protection.breaker.state.value if protection.breaker is not None else None
    budget = protection.budget
    spent = budget.remaining(now_s(scheduler)) <= 0 if budget is not None else None
    return ProtectionState(breaker, spent)


@dataclass(frozen=True, slots=True)
class Look:
    """What the gate saw on one heavy tick.

    Attributes:
        think: something changed or fell due.
        reasons: how many changes of each kind (``message``: 2, ``goal_due``: 1...).
        focus: what the changes were, most pressing first, for the thought's recall and prompt.
    """

    think: bool
    reasons: Mapping[str, int]
    focus: str


def _text_of(event: Event) -> str:
    p = event.payload
    if event.type in USER_TYPES:
        sender = str(p.get("sender") or event.source)
        return f"message from {sender}: {p.get('text', '')}"
    if event.type == INTENTIONS:
        return f"the intentions changed ({p.get('bytes', '?')} bytes)"
    if event.type == INVALID_INPUT:
        return f"bad input from {event.source}: {p.get('reason', 'invalid input')}"
    path = p.get("path")
    return f"{event.type}: {path}" if path else event.type


class Gate:
    """What changed since the last thought (see the module docstring).

    Feed it every event (:meth:`see`; the mind route does) and, where the wiring can, every row;
    mark the rows the mind made itself (:meth:`mine`) so its own dead letters do not wake it.
    """

    __slots__ = ("_baseline", "_own", "_pending", "_texts", "_woken")

    def __init__(self) -> None:
        self._pending: OrderedDict[str, str] = OrderedDict()  # change id → kind
        self._texts: deque[tuple[str, str]] = deque(maxlen=_TEXTS)
        self._own: OrderedDict[str, None] = OrderedDict()
        self._woken: OrderedDict[tuple[str, datetime], None] = OrderedDict()
        self._baseline: ProtectionState | None = None

    def _add(self, key: str, kind: str, text: str) -> None:
        if key in self._pending:
            return
        self._pending[key] = kind
        if len(self._pending) > _KEPT:  # the oldest change is forgotten; the gate still thinks
            self._pending.popitem(last=False)
        self._texts.append((kind, text))

    def see(self, item: Event | Row) -> None:
        """Take note of one event or row, if it is a change the mind should think about."""
        if isinstance(item, Event):
            kind = item.type
            if kind in USER_TYPES:
                self._add(item.id, "message", _text_of(item))
            elif kind == INVALID_INPUT:
                self._add(item.id, "dead_letter", _text_of(item))
            elif kind == INTENTIONS:
                self._add(item.id, "intentions", _text_of(item))
            elif kind.startswith("world."):
                self._add(item.id, "world", _text_of(item))
        elif isinstance(item, DeadLetterRow):
            if item.id not in self._own and item.source not in _OWN_SOURCES:
                self._add(item.event_id or item.id, "dead_letter", f"dead letter from {item.source}: {item.reason}")
        elif isinstance(item, EpisodeRow) and item.type == "user.reply":
            self._add(item.id, "reply", f"you replied: {item.description}")

    def mine(self, row: Row) -> None:
        """Remember that the mind made ``row`` (it is no change to think about)."""
        if isinstance(row, DeadLetterRow):
            self._own[row.id] = None
            if len(self._own) > _KEPT:
                self._own.popitem(last=False)

    def look(self, now: datetime, goals: Mapping[str, GoalRow], state: ProtectionState) -> Look:
        """Whether to think on the heavy tick at ``now``; when so, what was seen counts as seen.

        The first look only takes the protection's state as the baseline (a start is not a change).
        """
        reasons: dict[str, int] = {}
        for kind in self._pending.values():
            reasons[kind] = reasons.get(kind, 0) + 1
        texts = list(self._texts)
        due = [g for g in goals.values() if _due(g, now) and (g.id, g.due) not in self._woken]
        if due:
            reasons["goal_due"] = len(due)
            texts.extend(("goal_due", f"goal due: {g.text}") for g in sorted(due, key=_due_key))
        if self._baseline is None:
            self._baseline = state
        elif state != self._baseline:
            reasons["protection"] = 1
            texts.append(("protection", f"{self._baseline.describe()} → {state.describe()}"))
        if not reasons:
            return Look(False, {}, "")
        self._pending.clear()
        self._texts.clear()
        for goal in due:
            assert goal.due is not None  # _due holds
            self._woken[(goal.id, goal.due)] = None
            if len(self._woken) > _KEPT:
                self._woken.popitem(last=False)
        self._baseline = state
        return Look(True, dict(sorted(reasons.items())), _focus(texts))

    def settle(self, state: ProtectionState) -> None:
        """The protection's state when a thought ended: what the next look compares with."""
        self._baseline = state


def _due(goal: GoalRow, now: datetime) -> bool:
    return goal.status == "open" and goal.due is not None and goal.due <= now


def _due_key(goal: GoalRow) -> tuple[datetime, str]:
    assert goal.due is not None
    return (goal.due, goal.id)


def _focus(texts: list[tuple[str, str]]) -> str:
    """The changes' texts, the most pressing kind first, the newest first within a kind."""
    rank = {kind: i for i, kind in enumerate(_ORDER)}
    ordered = sorted(enumerate(texts), key=lambda item: (rank.get(item[1][0], len(rank)), -item[0]))
    return "; ".join(text for _, (_, text) in ordered)
