"""cache: serve a call from a shared :class:`ResponseCache`, or share one upstream among identical calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from operators._clock import now_s, pick_scheduler
from operators._fallback import Fallback
from operators._response_cache import Flight, ResponseCache
from operators._step import Step, subscribe_inner

__all__ = ["cache"]

T = TypeVar("T")


def cache(
    store: ResponseCache, key: str, *, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[T]], Observable[T]]:
    """Answer a call from ``store`` when it holds a fresh result for ``key``.

    A hit replays the stored items and completes without subscribing the source. A miss
    subscribes the source once; identical calls (same key) arriving while it runs join it
    instead of calling again, and see every item it emits. Only a call that completes is
    stored, and only if none of its items is a :class:`Fallback`; errors reach every
    joined call and are never stored. When every joined call is disposed, the upstream
    call is disposed too.

    Args:
        store: results and calls in flight, shared by every call through it.
        key: the call's canonical key (see :func:`canonical_key`).
        scheduler: the clock for the TTL; the subscription's scheduler when ``None``.
    """

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            clock = pick_scheduler(scheduler, scheduler_)
            listener = store.listener
            with store.lock:
                stored = store.get(key, now_s(clock))
                flight = store.flights.get(key) if stored is None else None
                joined = flight is not None
                if stored is None:
                    if flight is None:
                        flight = store.flights[key] = Flight()
                    flight.observers.append(observer)
                    seen = tuple(flight.values)
            if stored is not None:
                listener.cache_hit(store.name)
                for value in stored:
                    observer.on_next(value)
                observer.on_completed()
                return Disposable()
            assert flight is not None
            if joined:
                listener.cache_hit(store.name)
                for value in seen:
                    observer.on_next(value)
            else:
                listener.cache_miss(store.name)
                flight.upstream = _call_upstream(source, store, key, flight, clock, scheduler_)

            def leave() -> None:
                with store.lock:
                    if observer not in flight.observers:
                        return
                    flight.observers.remove(observer)
                    last = not flight.observers
                    if last and store.flights.get(key) is flight:
                        del store.flights[key]
                if last and flight.upstream is not None:
                    flight.upstream.dispose()

            return Disposable(leave)

        return Step(subscribe)

    return apply


def _call_upstream(
    source: Observable[Any],
    store: ResponseCache,
    key: str,
    flight: Flight,
    clock: abc.SchedulerBase,
    scheduler_: abc.SchedulerBase | None,
) -> abc.DisposableBase:
    def members() -> list[abc.ObserverBase[Any]]:
        with store.lock:
            return list(flight.observers)

    def land() -> list[abc.ObserverBase[Any]]:
        with store.lock:
            if store.flights.get(key) is flight:
                del store.flights[key]
            observers = list(flight.observers)
            flight.observers.clear()
            return observers

    def on_next(value: Any) -> None:
        with store.lock:
            flight.values.append(value)
        for member in members():
            member.on_next(value)

    def on_error(error: Exception) -> None:
        for member in land():
            member.on_error(error)

    def on_completed() -> None:
        values = tuple(flight.values)
        if not any(isinstance(v, Fallback) for v in values):
            store.put(key, values, now_s(clock))
        for member in land():
            member.on_completed()

    return subscribe_inner(source, on_next, on_error, on_completed, scheduler_)
