"""rate_limit: a call takes tokens from a shared :class:`TokenBucket` before it is subscribed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._clock import check, finite, now_s, pick_scheduler, schedule_after
from operators._rate_limit_state import TokenBucket
from operators.errors import RateLimitedError
from streams import NOTHING, Once, Slot, Step, subscribe_inner

__all__ = ["rate_limit"]

T = TypeVar("T")


def check_cost(bucket: TokenBucket, cost: float, operator: str) -> None:
    """Refuse a ``cost`` that is not a number in (0, burst] for ``operator`` (``rate_limit``, ``refund_tokens``).

    Raises:
        ValueError: saying which operator and bucket, what was expected and what it got.
    """
    check(
        finite(cost) and 0 < cost <= bucket.policy.burst,
        f"{operator}({bucket.name!r}).cost",
        f"a number in (0, burst={bucket.policy.burst:g}]",
        cost,
    )


def rate_limit(
    bucket: TokenBucket, *, cost: float = 1.0, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[T]], Observable[T]]:
    """Delay (or refuse) a call until ``bucket`` has ``cost`` tokens for it.

    The source is subscribed once the wait the bucket asks for has passed on the
    scheduler's clock; a call disposed while it waits gives its tokens back. When the
    bucket refuses, the stream fails with :class:`RateLimitedError` and the source is never
    subscribed.

    Args:
        bucket: the tokens shared by every call to the same backend.
        cost: tokens this call takes (a long prompt may cost more), at most the bucket's burst.
        scheduler: the clock; the subscription's scheduler when ``None``.
    """
    check_cost(bucket, cost, "rate_limit")

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            clock = pick_scheduler(scheduler, scheduler_)
            try:
                wait = bucket.reserve(now_s(clock), cost)
            except RateLimitedError as exc:
                observer.on_error(exc)
                return NOTHING
            if wait <= 0.0:
                return subscribe_inner(source, observer.on_next, observer.on_error, observer.on_completed, scheduler_)
            started = False
            serial = Slot()

            def start() -> None:
                nonlocal started
                started = True
                on_next, on_error, on_completed = observer.on_next, observer.on_error, observer.on_completed
                serial.set(subscribe_inner(source, on_next, on_error, on_completed, scheduler_))

            serial.set(schedule_after(clock, wait, start))

            def dispose() -> None:
                if not started:
                    bucket.refund(now_s(clock), cost)
                serial.dispose()

            return Once(dispose)

        return Step(subscribe)

    return apply
