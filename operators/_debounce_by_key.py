"""debounce_by_key: debounce each key on its own; a key's state is dropped once it has emitted."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SingleAssignmentDisposable

from operators._clock import check, finite, pick_scheduler

__all__ = ["debounce_by_key"]

T = TypeVar("T")


def debounce_by_key(
    key: Callable[[T], Hashable], duetime_s: float, *, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[T]], Observable[T]]:
    """Emit an item once no item with the same key has followed it for ``duetime_s``.

    Keys are independent: a burst of changes to one file does not hold back another. A
    key's pending item and timer are dropped when it emits, so keys that fall quiet take
    no memory. On completion the pending items are emitted at once (oldest first), as
    reactivex's ``debounce`` does; on error they are dropped and the error goes on.

    Args:
        key: the item's key (a path, a sender).
        duetime_s: the quiet time, > 0.
        scheduler: the clock; the subscription's scheduler when ``None``.
    """
    check(finite(duetime_s) and duetime_s > 0, "debounce_by_key.duetime_s", "seconds > 0", duetime_s)

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            clock = pick_scheduler(scheduler, scheduler_)
            lock = threading.RLock()
            pending: dict[Hashable, tuple[T, abc.DisposableBase]] = {}

            def on_next(value: T) -> None:
                k = key(value)
                with lock:
                    old = pending.pop(k, None)
                    if old is not None:
                        old[1].dispose()
                    timer = SingleAssignmentDisposable()
                    pending[k] = (value, timer)

                def fire(_: abc.SchedulerBase, __: Any = None) -> None:
                    with lock:
                        entry = pending.get(k)
                        if entry is None or entry[1] is not timer:
                            return
                        del pending[k]
                    observer.on_next(entry[0])

                timer.disposable = clock.schedule_relative(duetime_s, fire)

            def on_error(error: Exception) -> None:
                with lock:
                    for _, timer in pending.values():
                        timer.dispose()
                    pending.clear()
                observer.on_error(error)

            def on_completed() -> None:
                with lock:
                    items = [value for value, _ in pending.values()]
                    for _, timer in pending.values():
                        timer.dispose()
                    pending.clear()
                for value in items:
                    observer.on_next(value)
                observer.on_completed()

            def dispose_timers() -> None:
                with lock:
                    for _, timer in pending.values():
                        timer.dispose()
                    pending.clear()

            upstream = source.subscribe(on_next, on_error, on_completed, scheduler=scheduler_)
            return CompositeDisposable(upstream, Disposable(dispose_timers))

        return Observable(subscribe)

    return apply
