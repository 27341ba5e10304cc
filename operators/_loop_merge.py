"""loop_merge: ``reactivex.merge`` of streams the event loop alone drives, without a lock per item.

``reactivex.merge(*sources)`` is ``from_iterable(sources)`` through ``merge_all``: the sources
are subscribed by an action on the subscription's scheduler, and every item of every source
passes through a re-entrant lock (``synchronized``) and two more calls. The rows of every
route meet in such a merge before the sink, so a replay paid that lock once per event. Here
the sources are subscribed at once, in order, and each item goes straight on. The messages are
those of ``merge``: every item of every source, the first error (after which nothing more), and
completion once every source has completed. Not for sources that emit on other threads (the
writer thread's results go through ``reactivex.merge``).
"""

from __future__ import annotations

from typing import TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable

__all__ = ["loop_merge"]

T = TypeVar("T")


def loop_merge(*sources: Observable[T]) -> Observable[T]:
    """The items of all ``sources`` as they come, on one thread (module docstring)."""

    def subscribe(observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        group = CompositeDisposable()
        left = [len(sources)]
        failed = [False]

        def error(exc: Exception) -> None:
            failed[0] = True
            observer.on_error(exc)

        def completed() -> None:
            left[0] -= 1
            if left[0] == 0:
                observer.on_completed()

        if not sources:
            observer.on_completed()
            return group
        for source in sources:
            if failed[0]:  # an earlier source failed while it was subscribed: the rest are not wanted
                break
            group.add(source.subscribe(observer.on_next, error, completed, scheduler=scheduler))
        return group

    return Observable(subscribe)
