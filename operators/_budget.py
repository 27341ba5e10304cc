"""budget: a call spends from a shared :class:`CallBudget` before it is subscribed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._budget_state import CallBudget
from operators._clock import check, now_s, pick_scheduler
from operators.errors import BudgetExceededError
from streams import NOTHING, Step, subscribe_inner

__all__ = ["budget"]

T = TypeVar("T")


def budget(
    calls: CallBudget, *, cost: int = 1, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[T]], Observable[T]]:
    """Spend ``cost`` from ``calls`` on subscription, or fail with :class:`BudgetExceededError`.

    A call that is made spends its budget whatever its outcome; a refused call never
    subscribes the source.

    Args:
        calls: the budget shared by the calls it limits.
        cost: calls this one counts for.
        scheduler: the clock; the subscription's scheduler when ``None``.
    """
    check(
        isinstance(cost, int) and 1 <= cost <= calls.policy.max_calls,
        f"budget({calls.name!r}).cost",
        f"an integer from 1 to max_calls={calls.policy.max_calls}",
        cost,
    )

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            try:
                calls.spend(now_s(pick_scheduler(scheduler, scheduler_)), cost)
            except BudgetExceededError as exc:
                observer.on_error(exc)
                return NOTHING
            return subscribe_inner(source, observer.on_next, observer.on_error, observer.on_completed, scheduler_)

        return Step(subscribe)

    return apply
