"""The words of a thought: what the monologue, the decision and the repair calls ask."""

from __future__ import annotations

import json
from collections.abc import Mapping

from llm import Message

__all__ = ["decision_messages", "monologue_messages", "repair_messages"]

MONOLOGUE = (
    "It is {now}. What changed since your last thought: {focus}\n\n"
    "Think aloud, briefly (a few sentences), about what matters now, given your intentions, "
    "your open goals and what you know. Do not decide yet."
)
DECISION = (
    "Your thoughts just now:\n{monologue}\n\n"
    "Now decide on exactly one action. The tools you can use:\n{tools}\n\n"
    "Answer with one JSON object and nothing else: "
    '{{"focus": what you attend to, "reasoning": why, "action": one tool name, '
    '"arguments": the tool\'s arguments as an object, "risk": "low", "medium" or "high"}}. '
    'When nothing needs doing, choose "observe" with {{}} as arguments.'
)
REPAIR = (
    "Your answer could not be used: {problem}.\n"
    "The schema it must match:\n{schema}\n\n"
    "Answer again with only the corrected JSON object."
)


def monologue_messages(context: str, *, focus: str, now: str) -> tuple[Message, ...]:
    """The monologue call: the thought's context, then what changed."""
    return (Message.system(context), Message.user(MONOLOGUE.format(now=now, focus=focus)))


def decision_messages(context: str, *, monologue: str, tools: str) -> tuple[Message, ...]:
    """The decision call: the context, the monologue and the tools."""
    return (Message.system(context), Message.user(DECISION.format(monologue=monologue, tools=tools)))


def repair_messages(
    asked: tuple[Message, ...], answer: str, *, problem: str, schema: Mapping[str, object]
) -> tuple[Message, ...]:
    """The repair call: the decision call, the model's answer, and what is wrong with it."""
    text = json.dumps(schema, ensure_ascii=False, sort_keys=True)
    return (*asked, Message.assistant(answer), Message.user(REPAIR.format(problem=problem, schema=text)))
