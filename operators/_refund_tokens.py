"""refund_tokens: a try refused further in gives the rate limiter's tokens back (it never reached the backend)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._clock import pick_scheduler
from operators._predicates import is_rejection
from operators._rate_limit import check_cost, give_back
from operators._rate_limit_state import TokenBucket
from streams import Step, subscribe_inner

__all__ = ["refund_tokens"]

T = TypeVar("T")


def refund_tokens(
    bucket: TokenBucket,
    *,
    cost: float = 1.0,
    on: Callable[[Exception], bool] = is_rejection,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[T]], Observable[T]]:
    """Give ``cost`` tokens back to ``bucket`` when the source fails with an error ``on`` accepts.

    Placed just inside :func:`rate_limit`, around a layer that may still refuse the try (the
    call budget), so that the rate limiter counts only tries that go on to the backend: a
    try the budget refuses took its tokens for nothing. The error itself goes on unchanged.

    Args:
        bucket: the bucket the outer ``rate_limit`` took the tokens from.
        cost: the tokens it took.
        on: which errors mean "refused before it was made" (default :func:`is_rejection`).
        scheduler: the clock; the subscription's scheduler when ``None``.
    """
    check_cost(bucket, cost, "refund_tokens")

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            def on_error(error: Exception) -> None:
                if on(error):  # to the shared store while it answers (where the outer rate_limit took them)
                    give_back(bucket, cost, pick_scheduler(scheduler, scheduler_), scheduler_, shared_tokens=True)
                observer.on_error(error)

            return subscribe_inner(source, observer.on_next, on_error, observer.on_completed, scheduler_)

        return Step(subscribe)

    return apply
