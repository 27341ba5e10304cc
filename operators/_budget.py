"""budget: a call spends from a shared :class:`CallBudget` before it is subscribed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._budget_state import CallBudget
from operators._clock import check, now_s, pick_scheduler
from operators._shared_limits import CallGrant, SharedLimits
from operators.errors import BudgetExceededError
from streams import NOTHING, Once, Slot, Step, subscribe_inner

__all__ = ["budget"]

T = TypeVar("T")


def budget(
    calls: CallBudget, *, cost: int = 1, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[T]], Observable[T]]:
    """Spend ``cost`` from ``calls`` on subscription, or fail with :class:`BudgetExceededError`.

    A call that is made spends its budget whatever its outcome; a refused call never
    subscribes the source. With a shared budget (``calls.shared``) the calls are spent in the
    shared store first, asynchronously; when it fails the call is decided at once on this
    process's share of the budget (see :class:`SharedLimits`).

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
            clock = pick_scheduler(scheduler, scheduler_)
            shared = calls.shared
            if shared is None:
                return _spend_here(calls, cost, source, observer, clock, scheduler_)
            if not shared.ask(now_s(clock)):
                shared.fell_back("budget")
                return _spend_here(calls, cost, source, observer, clock, scheduler_)
            return _spend_shared(calls, shared, cost, source, observer, clock, scheduler_)

        return Step(subscribe)

    return apply


def _spend_here(
    calls: CallBudget,
    cost: int,
    source: Observable[T],
    observer: abc.ObserverBase[T],
    clock: abc.SchedulerBase,
    scheduler_: abc.SchedulerBase | None,
) -> abc.DisposableBase:
    try:
        calls.spend(now_s(clock), cost)
    except BudgetExceededError as exc:
        observer.on_error(exc)
        return NOTHING
    return subscribe_inner(source, observer.on_next, observer.on_error, observer.on_completed, scheduler_)


def _spend_shared(
    calls: CallBudget,
    shared: SharedLimits,
    cost: int,
    source: Observable[T],
    observer: abc.ObserverBase[T],
    clock: abc.SchedulerBase,
    scheduler_: abc.SchedulerBase | None,
) -> abc.DisposableBase:
    """Spend in the shared store, then subscribe ``source``; a failed request spends here at once instead."""
    serial = Slot()
    answers: list[CallGrant] = []
    asking = True

    def on_error(error: Exception) -> None:
        nonlocal asking
        asking = False
        shared.failed(now_s(clock), "spend_calls", error)
        shared.fell_back("budget")
        serial.set(_spend_here(calls, cost, source, observer, clock, scheduler_))

    def on_completed() -> None:
        nonlocal asking
        if not answers or not isinstance(answers[0], CallGrant):
            on_error(TypeError(f"the limit store answered spend_calls with {answers!r}, not a CallGrant"))
            return
        asking = False
        shared.answered()
        try:
            calls.granted(answers[0])
        except BudgetExceededError as exc:
            observer.on_error(exc)
            return
        serial.set(subscribe_inner(source, observer.on_next, observer.on_error, observer.on_completed, scheduler_))

    ask = shared.enter(lambda: shared.store.spend_calls(calls.name, calls.policy, cost))
    request = subscribe_inner(ask, answers.append, on_error, on_completed, scheduler_)
    if asking:  # a request answered at once has already moved on
        serial.set(request)

    def dispose() -> None:
        if asking:
            shared.abandoned()
        serial.dispose()

    return Once(dispose)
