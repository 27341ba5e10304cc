"""One LLM step of a thought (monologue, decision, repair): ``ask`` inside the step's time limit.

A step never errors. It ends as a :class:`Called`: the answer's text when the LLM answered, or
``None`` when it did not (a fallback stood in, the call was skipped or failed, the step's time
ran out). A fallback is not a thought: a stand-in text or a stale answer never reaches the
decision. What the call left (dead letters, exchanges) is in ``record``, emitted by the thought.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import reactivex
from reactivex import Observable
from reactivex import operators as ops

from agent._answer import Answer, ReplyPolicy, ask
from agent._call_rows import CallRecord
from agent.mind._mind import Mind
from llm import ChatResult, Format, Message
from operators import CallTimeoutError, Fallback, timeout

__all__ = ["Called", "TickBudget", "call_step"]


class TickBudget:
    """The mind's own LLM calls for one heavy tick (reset at each), inside the shared protection's budget."""

    __slots__ = ("limit", "spent")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    @property
    def left(self) -> int:
        """Calls this tick may still make."""
        return self.limit - self.spent

    def reset(self) -> None:
        """A new heavy tick: the whole budget again."""
        self.spent = 0

    def take(self) -> bool:
        """Spend one call if one is left."""
        if self.spent >= self.limit:
            return False
        self.spent += 1
        return True


@dataclass(frozen=True, slots=True)
class Called:
    """How one step's call ended.

    Attributes:
        text: the LLM's answer, or ``None`` when it gave none (the LLM is unavailable for this thought).
        outcome: ``success``, ``fallback``, ``skipped``, ``failure`` or ``timeout``.
        details: for the step's episode (model and tokens, or why there is no answer).
    """

    text: str | None
    outcome: str
    details: dict[str, Any] = field(default_factory=dict)


def _called(answer: Answer) -> Called:
    result = answer.result
    if isinstance(result, Fallback):
        return Called(None, "fallback", {"fallback": {"kind": result.kind, "reason": result.reason}})
    if isinstance(result, ChatResult):
        usage = result.usage
        details = {"model": result.model, "prompt_tokens": usage.prompt_tokens, "output_tokens": usage.output_tokens}
        return Called(result.content, "success", details)
    if answer.error is not None:
        error = answer.error
        return Called(None, "failure", {"error": {"type": type(error).__name__, "message": str(error)}})
    return Called(None, "skipped", {"error": {"type": None, "message": "the call failed and was skipped"}})


def call_step(
    messages: tuple[Message, ...],
    mind: Mind,
    *,
    name: str,
    timeout_s: float,
    record: CallRecord,
    recording: bool,
    format: Format | None = None,
) -> Observable[Called]:
    """A cold observable of how one call of the thought ended, within ``timeout_s`` (never an error).

    Args:
        messages: the prompt.
        mind: the backend, its protection and the policy (model, options).
        name: the step's name, in the time limit's error and the listener's reports.
        timeout_s: the step's limit, on the subscription's scheduler; when it passes the call is disposed.
        record: collects the call's dead letters and exchanges, kept even when the call is cut.
        recording: record the exchanges (a recorder is given).
        format: the answer's JSON schema (the decision's).
    """
    policy = ReplyPolicy(model=mind.policy.model, options=mind.policy.options)
    asked = ask(
        messages,
        backend=mind.backend,
        protection=mind.protection,
        policy=policy,
        recording=recording,
        format=format,
        record=record,
    )

    def late(error: Exception, _: Observable[Called]) -> Observable[Called]:
        if isinstance(error, CallTimeoutError):
            return reactivex.just(Called(None, "timeout", {"error": {"type": "timeout", "message": str(error)}}))
        return reactivex.throw(error)

    return asked.pipe(timeout(timeout_s, name=name), ops.map(_called), ops.catch(late))
