"""What the being says when it cannot think: one honest text per cause, and the promise it keeps.

Every text ends with the same promise: the message is kept and will be answered for real once
the cause has passed (the deferred replies of ``agent._deferred`` keep it). Where the being
knows when that is (a spent budget, a resting breaker), it says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from llm import BadRequestError, LLMTimeoutError, ModelNotFoundError, OverloadedError, ProtocolError, TransportError
from operators import (
    BudgetExceededError,
    BulkheadFullError,
    CallTimeoutError,
    CircuitOpenError,
    RateLimitedError,
    RetryExhaustedError,
)

__all__ = ["CAUSES", "explain_failure"]

_PROMISE = "Your message is saved in my memory, and I will answer it for real as soon as I can."

CAUSES = (
    "unreachable",
    "timeout",
    "overloaded",
    "budget_spent",
    "breaker_open",
    "rate_limited",
    "invalid_reply",
    "model_missing",
    "error",
)
"""Every cause :func:`explain_failure` names."""


def _at(now: datetime, seconds: float | None) -> str:
    if seconds is None:
        return ""
    when = now + timedelta(seconds=max(0.0, seconds))
    return f" until about {when.strftime('%H:%M')} UTC"


def _root(error: Exception) -> Exception:
    while isinstance(error, RetryExhaustedError):
        error = error.last_error
    return error


def explain_failure(error: Exception, now: datetime) -> tuple[str, str]:
    """The cause of a failed call and what the being tells the user about it.

    Args:
        error: what the protected call failed with (a ``RetryExhaustedError`` is looked through).
        now: the scheduler's time, for "until about HH:MM UTC".

    Returns:
        ``(cause, text)``: ``cause`` is one of :data:`CAUSES`.
    """
    root = _root(error)
    if isinstance(root, CircuitOpenError):
        rest = _at(now, root.remaining_s)
        return "breaker_open", (
            f"My language model kept failing, so I am letting it rest{rest} before I ask it again. {_PROMISE}"
        )
    if isinstance(root, BudgetExceededError):
        until = _at(now, root.free_in_s)
        return "budget_spent", (
            f"I have used up my thinking budget ({root.max_calls} calls) for now{until and ','}{until}. {_PROMISE}"
        )
    if isinstance(root, RateLimitedError | BulkheadFullError):
        return "rate_limited", f"Too many messages are waiting for my language model at once. {_PROMISE}"
    if isinstance(root, CallTimeoutError | LLMTimeoutError | TimeoutError):
        return "timeout", f"My language model is taking too long to answer. {_PROMISE}"
    if isinstance(root, OverloadedError):
        return "overloaded", f"My language model is busy with other work and asked me to wait. {_PROMISE}"
    if isinstance(root, TransportError | ConnectionError):
        return "unreachable", f"I cannot reach my language model right now. {_PROMISE}"
    if isinstance(root, ModelNotFoundError):
        return "model_missing", (
            f"The language model I am set up to think with is not installed on its server. {_PROMISE}"
        )
    if isinstance(root, ProtocolError | BadRequestError):
        return "invalid_reply", f"My language model gave me an answer I could not use. {_PROMISE}"
    return "error", f"Something went wrong while I was thinking about your message. {_PROMISE}"
