"""deadline: a request not finished in time, every try and wait counted, fails with ``DeadlineExceededError``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._clock import check, finite
from operators._time_limit import time_limit
from operators.errors import DeadlineExceededError

__all__ = ["deadline"]

T = TypeVar("T")


def deadline(
    deadline_s: float, *, name: str = "call", scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[T]], Observable[T]]:
    """Fail a request that has not terminated ``deadline_s`` after it was subscribed.

    Put outside ``retry``, it bounds the request as a whole: every try, every backoff and
    every wait for a token or a slot, whatever the retry policy would still do. At the
    deadline the source is disposed first (the try in flight is cancelled, a pending
    backoff is dropped, a waiting call gives its token back), then
    :class:`DeadlineExceededError` goes downstream. Items that arrive in time pass through.

    It differs from :func:`timeout` (one try's limit) in its error only: a deadline is not
    transient, so nothing outside should retry it, and its fallbacks say ``deadline``.

    Args:
        deadline_s: seconds on the scheduler's clock, > 0.
        name: the step's name, shown in the error.
        scheduler: the clock; the subscription's scheduler when ``None``.
    """
    check(finite(deadline_s) and deadline_s > 0, f"deadline({name!r}).deadline_s", "a number > 0", deadline_s)

    def expired() -> Exception:
        return DeadlineExceededError(name, deadline_s)

    return time_limit(deadline_s, expired, scheduler=scheduler)
