"""bulkhead: at most N calls in flight through a shared :class:`Bulkhead`, M more queued."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._bulkhead_state import Bulkhead
from operators.errors import BulkheadFullError
from streams import NOTHING, Once, Slot, Step, subscribe_inner

__all__ = ["bulkhead"]

T = TypeVar("T")


def bulkhead(slots: Bulkhead) -> Callable[[Observable[T]], Observable[T]]:
    """Subscribe the source when ``slots`` has a free slot; queue it first come first served otherwise.

    The slot is given back when the call ends or is disposed, and the oldest queued call
    starts. A call that finds every slot and every waiting place taken fails at once with
    :class:`BulkheadFullError`.

    Args:
        slots: the bulkhead shared by the calls it isolates.
    """

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            holding = False
            finished = False
            upstream = Slot()

            def release() -> None:
                nonlocal holding
                if holding:
                    holding = False
                    slots.leave()

            def on_error(error: Exception) -> None:
                nonlocal finished
                finished = True
                release()
                observer.on_error(error)

            def on_completed() -> None:
                nonlocal finished
                finished = True
                release()
                observer.on_completed()

            def start() -> None:
                nonlocal holding
                holding = True
                upstream.set(subscribe_inner(source, observer.on_next, on_error, on_completed, scheduler_))

            try:
                now = slots.enter(start)
            except BulkheadFullError as exc:
                observer.on_error(exc)
                return NOTHING
            if now:
                start()

            def dispose() -> None:
                if not holding and not finished:
                    slots.withdraw(start)
                upstream.dispose()
                release()

            return Once(dispose)

        return Step(subscribe)

    return apply
