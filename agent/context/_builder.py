"""The one place a prompt's context is assembled, for the replies and for the mind, within a budget.

A context is a few headed sections, each a list of items, drawn from :class:`BeingMemory`, in
this order (the ``cut`` column is the order their items are cut in, :data:`CUT_ORDER`):

==============  ==================================================  ===============  =========================
section         holds                                               in               cut
==============  ==================================================  ===============  =========================
``persona``     who the being is (:attr:`ContextPolicy.persona`)    reply, thought   6th, shortened
``self``        the being's self-model block                        reply, thought   8th, shortened
``user``        a reply: its sender's block; a thought: every one   reply, thought   7th, shortened
``intentions``  the intentions file's text                          thought          last, shortened
``goals``       open goals, soonest due first                       thought          5th, furthest due first
``principles``  principles learnt                                   thought          3rd, oldest first
``recent``      recent episodes                                     thought          1st, oldest first
``exchanges``   the last exchanges with this sender                 reply            4th, oldest first
``recalled``    recalled by meaning (a reply: its sender's only)    reply, thought   2nd, least similar first
==============  ==================================================  ===============  =========================

When the whole text is longer than :attr:`ContextPolicy.max_chars`, items are cut in that order
(recent episodes first, the intentions last) until it fits; a section of one
text is shortened from its end before it is dropped, and a section left with nothing loses its
header too. What was cut is in :attr:`Context.cut`, one entry per section. Every item is cut to
:attr:`ContextPolicy.item_max_chars` first (that counts as a cut too), its control characters are
replaced with U+FFFD, and its lines are indented under a bullet, so no text can forge a header.
The same memory always gives the same text, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

from agent.context._memory import BeingMemory
from llm import Message
from sinks import SEARCH_MAX_K, EpisodeRow, GoalRow

__all__ = ["CUT_ORDER", "DEFAULT_PERSONA", "Context", "ContextBuilder", "ContextPolicy"]

DEFAULT_PERSONA = (
    "You are Digital Being: you live on this machine, watch its files and your inbox, think on a "
    "heartbeat, and remember what you saw and did. You are curious, careful and honest: you say "
    "what you do not know, and you keep your promises."
)

CUT_ORDER = ("recent", "recalled", "principles", "exchanges", "goals", "persona", "user", "self", "intentions")
"""The sections in the order their items are cut when the context is over its budget."""

_HEADERS = {
    "persona": "## Who you are",
    "self": "## What you know of yourself",
    "user": "## What you know of the user",
    "intentions": "## Your intentions (the user's standing instructions)",
    "goals": "## Your open goals",
    "principles": "## Principles you learnt",
    "exchanges": "## Your last exchanges with this sender (oldest first)",
    "recalled": "## Memories recalled for this (most similar first)",
    "recent": "## Recent episodes (oldest first)",
}
_SEPARATOR = "\n\n"
_MIN_KEPT_CHARS = 24  # a section of one text shortened below this is dropped instead
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_NO_ANSWER = "(no answer: you could not reply then)"

Kind = Literal["text", "oldest_first", "best_first"]


def _check_count(name: str, value: int, most: int | None = None) -> None:
    if value < 0 or (most is not None and value > most):
        expected = f"0 to {most}" if most is not None else ">= 0"
        raise ValueError(f"ContextPolicy.{name}: expected {expected}, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextPolicy:
    """How much context a prompt gets.

    Args:
        max_chars: the whole context, all sections and headers together.
        recent_episodes: recent episodes shown to a thought.
        exchanges: the last exchanges with the sender shown to a reply.
        recall_k: texts recalled by meaning.
        persona: who the being is, in its own words.
        item_max_chars: the longest one item (a message, an episode, a block) may be.

    Raises:
        ValueError: a count below 0, ``recall_k`` above the search's limit, ``item_max_chars`` below 16.
    """

    max_chars: int = 6_000
    recent_episodes: int = 20
    exchanges: int = 6
    recall_k: int = 4
    persona: str = DEFAULT_PERSONA
    item_max_chars: int = 1_000

    def __post_init__(self) -> None:
        _check_count("max_chars", self.max_chars)
        _check_count("recent_episodes", self.recent_episodes)
        _check_count("exchanges", self.exchanges)
        _check_count("recall_k", self.recall_k, SEARCH_MAX_K)
        if self.item_max_chars < 16:
            raise ValueError(f"ContextPolicy.item_max_chars: expected >= 16, got {self.item_max_chars}")


@dataclass(frozen=True, slots=True)
class Context:
    """An assembled context.

    Attributes:
        text: the sections, headed, within ``max_chars``.
        sections: chars kept per section (its header included; 0 when it was empty or cut whole),
            in the order they appear.
        cut: what was cut: ``{"section", "items", "chars"}`` per section that lost something
            (``items``: items dropped or shortened, ``chars``: characters removed), in cut order;
            a recall that failed adds ``{"section": "recalled", "items": 0, "chars": 0, "error"}``.
    """

    text: str
    sections: Mapping[str, int]
    cut: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    def summary(self) -> dict[str, Any]:
        """The sections and the cut as JSON values (what an episode records of its context)."""
        return {"sections": dict(self.sections), "cut": [dict(c) for c in self.cut]}


def _clean(text: str, max_chars: int) -> tuple[str, int]:
    """``text`` with its line ends made ``\\n``, control characters replaced, cut to ``max_chars``; and chars cut."""
    text = _CONTROL.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if len(text) <= max_chars:
        return text, 0
    return text[: max_chars - 1] + "…", len(text) - max_chars + 1


def _bullet(text: str) -> str:
    return "- " + text.replace("\n", "\n  ")


def _indented(text: str) -> str:
    return "  " + text.replace("\n", "\n  ")


def _time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Section:
    """One section's items, and their size kept as they are cut (fitting is linear in the items)."""

    __slots__ = ("header", "items", "kind", "name", "size")

    def __init__(self, name: str, kind: Kind, items: list[str]) -> None:
        self.name = name
        self.kind = kind
        self.header = _HEADERS[name]
        self.items = items
        self.size = sum(len(item) + 1 for item in items)  # each item on its own line after the header

    def chars(self) -> int:
        return len(self.header) + self.size if self.items else 0

    def drop(self, index: int) -> str:
        item = self.items.pop(index)
        self.size -= len(item) + 1
        return item

    def replace_first(self, item: str) -> None:
        self.size += len(item) - len(self.items[0])
        self.items[0] = item

    def text(self) -> str:
        return "\n".join([self.header, *self.items])


class _Assembly:
    """Sections being filled and cut to the budget; the cuts counted per section."""

    def __init__(self, policy: ContextPolicy) -> None:
        self.policy = policy
        self.sections: list[_Section] = []
        self.cuts: dict[str, list[int]] = {}
        self.errors: list[dict[str, Any]] = []

    def _count_cut(self, name: str, items: int, chars: int) -> None:
        entry = self.cuts.setdefault(name, [0, 0])
        entry[0] += items
        entry[1] += chars

    def add(self, name: str, kind: Kind, texts: Sequence[str], render: Any = _bullet) -> None:
        items: list[str] = []
        for raw in texts:
            text, removed = _clean(raw, self.policy.item_max_chars)
            if removed:
                self._count_cut(name, 1, removed)
            if text:
                items.append(render(text))
        self.sections.append(_Section(name, kind, items))

    def total(self) -> int:
        sizes = [s.chars() for s in self.sections if s.items]
        return sum(sizes) + len(_SEPARATOR) * max(0, len(sizes) - 1)

    def fit(self) -> None:
        by_name = {s.name: s for s in self.sections}
        budget = self.policy.max_chars
        for name in CUT_ORDER:
            section = by_name.get(name)
            while section is not None and section.items and self.total() > budget:
                self._cut_one(section, self.total() - budget)

    def _cut_one(self, section: _Section, over: int) -> None:
        if section.kind == "text":
            item = section.items[0]
            keep = len(item) - over - 1  # room for the ellipsis
            if keep >= _MIN_KEPT_CHARS:
                section.replace_first(item[:keep] + "…")
                self._count_cut(section.name, 1, len(item) - keep - 1)
                return
        index = -1 if section.kind == "best_first" else 0
        item = section.drop(index)
        self._count_cut(section.name, 1, len(item))

    def context(self) -> Context:
        text = _SEPARATOR.join(s.text() for s in self.sections if s.items)
        sections = MappingProxyType({s.name: s.chars() for s in self.sections})
        cut: list[Mapping[str, Any]] = [
            {"section": name, "items": self.cuts[name][0], "chars": self.cuts[name][1]}
            for name in CUT_ORDER
            if name in self.cuts
        ]
        cut.extend(self.errors)
        return Context(text=text, sections=sections, cut=tuple(cut))


def _episode(row: EpisodeRow) -> str:
    return f"{_time(row.time)} {row.type} ({row.outcome}): {row.description}"


def _goal(goal: GoalRow) -> str:
    due = f" (due {_time(goal.due)})" if goal.due is not None else ""
    return f"[{goal.id}] {goal.text}{due}"


def _goal_order(goal: GoalRow) -> tuple[bool, datetime, datetime, str]:
    return (goal.due is None, goal.due or goal.created, goal.created, goal.id)


def _exchange(message: str, reply: str) -> str:
    return f"they said: {message}\nyou answered: {reply or _NO_ANSWER}"


class ContextBuilder:
    """Assembles the context of a reply or a thought from the memory (see the module docstring).

    Args:
        memory: what the being knows right now.
        policy: the budget and the counts.
    """

    def __init__(self, memory: BeingMemory, policy: ContextPolicy = ContextPolicy()) -> None:
        self._memory = memory
        self._policy = policy

    @property
    def memory(self) -> BeingMemory:
        return self._memory

    @property
    def policy(self) -> ContextPolicy:
        return self._policy

    def _recalled(self, assembly: _Assembly, query: str, shown: set[str], sender: str | None = None) -> list[str]:
        if self._policy.recall_k == 0 or not query.strip():
            return []
        try:
            texts = self._memory.recall(query, self._policy.recall_k, sender=sender)
        except Exception as exc:  # noqa: BLE001 - a broken recall must not take the reply down: the cut says why
            assembly.errors.append(
                {"section": "recalled", "items": 0, "chars": 0, "error": f"{type(exc).__name__}: {exc}"}
            )
            return []
        return [t for t in texts if t not in shown]

    def _common(self, assembly: _Assembly, sender: str | None) -> None:
        """Persona, the self block and the user section: a reply's sender's block only; a thought's every block."""
        memory = self._memory
        assembly.add("persona", "text", [self._policy.persona], _indented)
        assembly.add("self", "text", [memory.blocks.get("self", "")], _indented)
        if sender is not None:
            known = memory.user_block_of(sender)
        else:
            known = "\n".join(f"{who or 'every sender'}: {text}" for who, text in memory.user_blocks() if text)
        assembly.add("user", "text", [known], _indented)

    def for_reply(self, text: str, *, sender: str, leave_out: str | None = None) -> Context:
        """The context of a reply to ``text`` from ``sender``: persona, blocks, exchanges, recall(text).

        Recall searches only what ``sender`` said and was answered (and texts of nobody): never
        another sender's words.

        Args:
            leave_out: the event id of the message being answered, when it is answered again
                (a deferred reply): its own exchange is not shown as history.
        """
        assembly = _Assembly(self._policy)
        self._common(assembly, sender)
        exchanges = self._memory.exchanges_with(sender, self._policy.exchanges, leave_out=leave_out)
        assembly.add("exchanges", "oldest_first", [_exchange(m, r) for m, r in exchanges])
        shown = {t for pair in exchanges for t in pair}
        assembly.add("recalled", "best_first", self._recalled(assembly, text, shown, sender))
        assembly.fit()
        return assembly.context()

    def for_thought(self, focus: str) -> Context:
        """The context of a thought about ``focus``: persona, blocks, intentions, goals, principles, episodes, recall.

        Recall is asked for ``focus`` (nothing is recalled for an empty focus) over every sender's
        texts: the being thinking over its own memory shows no user's words to another.
        """
        memory = self._memory
        assembly = _Assembly(self._policy)
        self._common(assembly, None)
        assembly.add("intentions", "text", [memory.intentions], _indented)
        goals = sorted(memory.goals.values(), key=_goal_order)
        assembly.add("goals", "best_first", [_goal(g) for g in goals])
        assembly.add("principles", "oldest_first", list(memory.principles))
        recent = memory.recent(self._policy.recent_episodes)
        assembly.add("recent", "oldest_first", [_episode(r) for r in recent])
        assembly.add("recalled", "best_first", self._recalled(assembly, focus, set()))
        assembly.fit()
        return assembly.context()

    def reply_prompt(
        self, text: str, *, sender: str, system_prompt: str, leave_out: str | None = None
    ) -> tuple[tuple[Message, ...], Context]:
        """The messages of a reply to ``text``: the system prompt and the context, then the message itself."""
        context = self.for_reply(text, sender=sender, leave_out=leave_out)
        system = f"{system_prompt}{_SEPARATOR}{context.text}" if context.text else system_prompt
        return (Message.system(system), Message.user(text)), context
