"""cache_first: serve a hit in the cache's memory tier at once, and build the protected call only on a miss."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc

from operators._cache_state import ResponseCache
from operators._clock import now_s, pick_scheduler
from streams import NOTHING, Step, subscribe_observer

__all__ = ["cache_first"]

T = TypeVar("T")


def cache_first(
    store: ResponseCache,
    key: str,
    build: Callable[[], Observable[T]],
    *,
    on_hit: Callable[[tuple[Any, ...], float], None] | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Observable[T]:
    """Look ``key`` up in ``store``'s memory tier when subscribed: on a hit, emit the stored items and
    complete; on a miss, subscribe ``build()`` (which holds :func:`cache` itself, for single-flight,
    the shared tier and the write).

    A hit is what :func:`cache` would serve, reported the same way (``cache_hit``), but without
    building or subscribing the layers around it (``agent.protect``'s catch): a hit costs one
    subscription instead of three.

    Args:
        store: the cache.
        key: the call's key.
        build: the whole protected call, built on a miss only.
        on_hit: told of the items served and the time (catch's last good result), before completion.
        scheduler: the clock for the TTL; the subscription's scheduler when ``None``.
    """

    def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        now = now_s(pick_scheduler(scheduler, scheduler_))
        stored = store.get(key, now)
        if stored is None:
            return subscribe_observer(build(), observer, scheduler_)
        store.listener.cache_hit(store.name)
        for value in stored:
            observer.on_next(value)
        if on_hit is not None:
            on_hit(stored, now)
        observer.on_completed()
        return NOTHING

    return Step(subscribe)
