"""The decision: the JSON the model must answer with, how it is read and checked, and the default.

The schema (sent as the call's ``format``, so Ollama and OpenAI-compatible servers constrain the
answer to it) is a ``oneOf`` with one branch per tool, in the registry's order::

    {"focus": str, "reasoning": str, "action": {"const": <the tool's name>},
     "arguments": <the tool's own argument schema>, "risk": "low" | "medium" | "high"}

every field required, nothing else allowed: an action always comes with arguments its tool takes.
An answer is read with :func:`read_decision`: JSON (a fenced ```json block is unwrapped), then
checked with ``jsonschema.Draft202012Validator``. What does not parse or fails the schema is a
:class:`Problem` that says where and why (inside the branch its ``action`` names), which the repair
call shows the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from agent.mind.tools import Risk, tagged_errors

__all__ = ["DEFAULT_ACTION", "Decision", "Problem", "decision_schema", "default_decision", "read_decision"]

DEFAULT_ACTION = "observe"
FOCUS_MAX_CHARS = 500
REASONING_MAX_CHARS = 2_000
_MESSAGE_MAX_CHARS = 300  # a validation message quotes the value; a long one is cut
_ERRORS_SHOWN = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """What the mind chose to do."""

    focus: str
    reasoning: str
    action: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    risk: Risk = "low"

    def as_data(self) -> dict[str, Any]:
        """The decision as JSON-compatible data (for its episode)."""
        return {
            "focus": self.focus,
            "reasoning": self.reasoning,
            "action": self.action,
            "arguments": dict(self.arguments),
            "risk": self.risk,
        }


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an answer is not a decision: ``where`` in the answer (``$``, ``$.action``) and what is wrong."""

    where: str
    message: str

    def __str__(self) -> str:
        return self.message if self.message.startswith("$") else f"{self.where}: {self.message}"


def decision_schema(tools: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON schema (Draft 2020-12) of a decision: one closed branch per tool of ``tools`` (name → its
    argument schema), whose ``action`` is the tool's name and whose ``arguments`` its schema.

    Raises:
        ValueError: no tools (a decision could name nothing).
    """
    if not tools:
        raise ValueError("decision_schema: expected at least one tool, got none")
    return {
        "type": "object",
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    "focus": {"type": "string", "maxLength": FOCUS_MAX_CHARS},
                    "reasoning": {"type": "string", "maxLength": REASONING_MAX_CHARS},
                    "action": {"const": name},
                    "arguments": dict(arguments),
                    "risk": {"type": "string", "enum": ["low", "medium", "high"]},
                },
                "required": ["focus", "reasoning", "action", "arguments", "risk"],
                "additionalProperties": False,
            }
            for name, arguments in tools.items()
        ],
    }


def default_decision(focus: str, why: str) -> Decision:
    """The decision taken when no usable one came: ``observe``, with ``why`` as its reasoning."""
    return Decision(focus=focus[:FOCUS_MAX_CHARS], reasoning=why[:REASONING_MAX_CHARS], action=DEFAULT_ACTION)


def _unfenced(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and len(stripped) >= 6:
        inner = stripped[3:-3]
        first_line, _, rest = inner.partition("\n")
        return (rest if first_line.strip().isalpha() or not first_line.strip() else inner).strip()
    return stripped


def _where(path: Sequence[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _problem(errors: Sequence[jsonschema.ValidationError]) -> Problem:
    """The first few errors, each with where it is, for the repair call to show."""
    parts = []
    for error in errors[:_ERRORS_SHOWN]:
        message = error.message
        if len(message) > _MESSAGE_MAX_CHARS:  # the quoted value is cut in its middle: the verdict ends the message
            message = message[: _MESSAGE_MAX_CHARS // 2] + "…" + message[-_MESSAGE_MAX_CHARS // 2 :]
        parts.append(f"{_where(list(error.absolute_path))}: {message}")
    more = f" (and {len(errors) - _ERRORS_SHOWN} more)" if len(errors) > _ERRORS_SHOWN else ""
    return Problem(_where(list(errors[0].absolute_path)), "; ".join(parts) + more)


def read_decision(
    text: str, validator: jsonschema.protocols.Validator, *, max_chars: int = 16_384
) -> Decision | Problem:
    """``text`` as a decision, or the :class:`Problem` that makes it none (never raises)."""
    if len(text) > max_chars:
        return Problem("$", f"the answer is {len(text)} characters long, over the limit of {max_chars}")
    body = _unfenced(text)
    if not body:
        return Problem("$", "the answer is empty; expected a JSON object")
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        return Problem("$", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        return Problem("$", "not JSON: nested too deeply")
    errors = sorted(
        tagged_errors(validator.iter_errors(value)), key=lambda e: (len(e.absolute_path), str(list(e.absolute_path)))
    )
    if errors:
        return _problem(errors)
    assert isinstance(value, dict)  # the schema holds
    return Decision(
        focus=value["focus"],
        reasoning=value["reasoning"],
        action=value["action"],
        arguments=value["arguments"],
        risk=value["risk"],
    )
