"""timeout: a call that has not finished in time fails with ``CallTimeoutError`` and is disposed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._clock import check, finite
from operators._listener import NULL_LISTENER, ResilienceListener
from operators._time_limit import time_limit
from operators.errors import CallTimeoutError

__all__ = ["timeout"]

T = TypeVar("T")


def timeout(
    timeout_s: float,
    *,
    name: str = "call",
    listener: ResilienceListener = NULL_LISTENER,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[T]], Observable[T]]:
    """Fail a call that has not terminated ``timeout_s`` after it was subscribed.

    Unlike reactivex's ``timeout`` (which restarts on every item and raises a bare
    ``Exception``), the limit covers the whole call, and the error is typed. Items that
    arrive in time pass through. When the limit is reached the source is disposed first
    (cancelling the work), then ``CallTimeoutError`` goes downstream.

    Args:
        timeout_s: seconds on the scheduler's clock, > 0.
        name: the step's name, shown in the error and the listener's reports.
        listener: told of every timeout.
        scheduler: the clock; the subscription's scheduler when ``None``.
    """
    check(finite(timeout_s) and timeout_s > 0, f"timeout({name!r}).timeout_s", "a number > 0", timeout_s)

    def expired() -> Exception:
        listener.call_timed_out(name, timeout_s)
        return CallTimeoutError(name, timeout_s)

    return time_limit(timeout_s, expired, scheduler=scheduler)
