"""The values catch_fallback works with: a marked fallback, its rules, and the dead-letter record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from operators._clock import check, finite
from operators.errors import (
    BudgetExceededError,
    BulkheadFullError,
    CallTimeoutError,
    CircuitOpenError,
    DeadlineExceededError,
    RateLimitedError,
    RetryExhaustedError,
)

__all__ = ["DeadLetter", "Fallback", "FallbackPolicy", "FallbackRule", "reason_of"]

T = TypeVar("T")

_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (DeadlineExceededError, "deadline"),  # before CallTimeoutError, its base
    (CallTimeoutError, "timeout"),
    (CircuitOpenError, "circuit_open"),
    (RateLimitedError, "rate_limited"),
    (BudgetExceededError, "budget_exceeded"),
    (BulkheadFullError, "bulkhead_full"),
    (RetryExhaustedError, "retry_exhausted"),
)


def reason_of(error: Exception) -> str:
    """A short label for the kind of error (``deadline``, ``timeout``, ``circuit_open``, ..., else ``error``)."""
    for kind, reason in _REASONS:
        if isinstance(error, kind):
            return reason
    return "error"


@dataclass(frozen=True, slots=True)
class Fallback(Generic[T]):
    """A value that stands in for a failed call's result.

    Attributes:
        value: the stand-in.
        kind: ``value`` (a fixed fallback) or ``stale`` (the last good result for the same key).
        reason: the kind of error it replaces (see :func:`reason_of`).
        error: the error itself (not compared: two fallbacks are equal when value, kind and reason are).
    """

    value: T
    kind: str
    reason: str
    error: Exception = field(repr=False, compare=False)


_NO_VALUE: Any = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackRule(Generic[T]):
    """What replaces an error of the listed types.

    The last good result for the same key is used while younger than ``stale_for_s``;
    otherwise ``value`` when one is given; otherwise the call ends with no item (skip).

    Attributes:
        on: the error types this rule is for.
        value: the fixed fallback (leave it out to skip).
        stale_for_s: how old a last good result may be to stand in (0: never use one).
    """

    on: tuple[type[Exception], ...] = (Exception,)
    value: T = _NO_VALUE
    stale_for_s: float = 0.0

    def __post_init__(self) -> None:
        check(
            bool(self.on) and all(isinstance(t, type) and issubclass(t, Exception) for t in self.on),
            "FallbackRule.on",
            "a non-empty tuple of exception types",
            self.on,
        )
        check(
            finite(self.stale_for_s) and self.stale_for_s >= 0,
            "FallbackRule.stale_for_s",
            "seconds >= 0",
            self.stale_for_s,
        )

    @property
    def has_value(self) -> bool:
        """True when the rule gives a fixed value."""
        return self.value is not _NO_VALUE


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackPolicy(Generic[T]):
    """Rules tried in order; the first whose ``on`` matches the error decides.

    Attributes:
        rules: at least one; an error no rule matches goes downstream unchanged.
        remember: how many keys' last good results are kept for ``stale`` fallbacks.
    """

    rules: tuple[FallbackRule[T], ...] = (FallbackRule(),)
    remember: int = 1024

    def __post_init__(self) -> None:
        check(len(self.rules) >= 1, "FallbackPolicy.rules", "at least one FallbackRule", self.rules)
        check(
            isinstance(self.remember, int) and self.remember >= 1,
            "FallbackPolicy.remember",
            "an integer >= 1",
            self.remember,
        )

    def rule_for(self, error: Exception) -> FallbackRule[T] | None:
        """The first rule for ``error``'s type, if any."""
        for rule in self.rules:
            if isinstance(error, rule.on):
                return rule
        return None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """The record of a failed call, handed to the dead-letter callback before its fallback goes on.

    Attributes:
        name: the step's name.
        reason: the kind of error (see :func:`reason_of`).
        kind: what replaced it: ``value``, ``stale``, ``skip``, or ``none`` (no rule matched; the error goes on).
        error: the error.
        request: the call's input, as given to the operator.
        key: the call's cache key, if any.
    """

    name: str
    reason: str
    kind: str
    error: Exception
    request: Any
    key: str | None
