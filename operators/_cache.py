"""cache: serve a call from a shared :class:`ResponseCache`, or share one upstream among identical calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import SerialDisposable

from operators._cache_state import Flight, ResponseCache
from operators._clock import now_s, pick_scheduler
from operators._fallback import Fallback
from streams import NOTHING, Step, subscribe_inner, subscribe_observer

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

    With a shared store (``store.shared``), a miss in memory asks it first: a hit there is
    served and kept in memory, a miss (or a failure of the store, which is reported) calls
    the source, and the call's result is written to both tiers. Identical calls arriving
    during the lookup join it as they join a call.

    Args:
        store: results and calls in flight, shared by every call through it.
        key: the call's canonical key (see :func:`canonical_key`).
        scheduler: the clock for the TTL; the subscription's scheduler when ``None``.
    """

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            clock = pick_scheduler(scheduler, scheduler_)
            listener = store.listener
            stored, flight, seen = store.look_up(key, now_s(clock), observer)
            if stored is not None:
                listener.cache_hit(store.name)
                for value in stored:
                    observer.on_next(value)
                observer.on_completed()
                return NOTHING
            if seen is not None:
                listener.cache_hit(store.name)
                for value in seen:
                    observer.on_next(value)
            elif store.shared is None:
                listener.cache_miss(store.name)
                flight.upstream = _call_upstream(source, store, key, flight, clock, scheduler_)
            else:
                flight.upstream = _look_up_shared(source, store, key, flight, clock, scheduler_)

            return _Member(store, key, flight, observer)

        return Step(subscribe)

    return apply


class _Member(abc.DisposableBase):
    """One call's place in a flight: disposing it leaves the flight (the last to leave disposes the call)."""

    __slots__ = ("flight", "key", "observer", "store")

    def __init__(self, store: ResponseCache, key: str, flight: Flight, observer: abc.ObserverBase[Any]) -> None:
        self.store = store
        self.key = key
        self.flight = flight
        self.observer: abc.ObserverBase[Any] | None = observer

    def dispose(self) -> None:
        observer, self.observer = self.observer, None
        if observer is None:
            return
        store, flight = self.store, self.flight
        with store.lock:
            if observer not in flight.observers:
                return
            flight.observers.remove(observer)
            last = not flight.observers
            if last and store.flights.get(self.key) is flight:
                del store.flights[self.key]
        if last and flight.upstream is not None:
            flight.upstream.dispose()


def _look_up_shared(
    source: Observable[Any],
    store: ResponseCache,
    key: str,
    flight: Flight,
    clock: abc.SchedulerBase,
    scheduler_: abc.SchedulerBase | None,
) -> abc.DisposableBase:
    """Ask the shared store for ``key``; serve a hit to the flight, else call the source."""
    shared = store.shared
    assert shared is not None
    listener = store.listener
    # the lookup, then the call if it misses: disposing this disposes whichever is running
    upstream = SerialDisposable()
    found: list[tuple[Any, ...] | None] = []
    moved_on = False

    def call() -> None:
        nonlocal moved_on
        moved_on = True
        listener.cache_miss(store.name)
        upstream.disposable = _call_upstream(source, store, key, flight, clock, scheduler_)

    def on_error(error: Exception) -> None:
        listener.cache_store_failed(store.name, "get", error)
        call()

    def on_completed() -> None:
        values = found[0] if found else None
        if values is None:
            call()
            return
        store.put(key, values, now_s(clock))
        listener.cache_hit(store.name)
        with store.lock:
            flight.values.extend(values)
        for member in store.land(key, flight):
            for value in values:
                member.on_next(value)
            member.on_completed()

    lookup = subscribe_inner(store.enter(lambda: shared.get(key)), found.append, on_error, on_completed, scheduler_)
    if not moved_on:  # a lookup that ended at once may already have started the call
        upstream.disposable = lookup
    return upstream


def _call_upstream(
    source: Observable[Any],
    store: ResponseCache,
    key: str,
    flight: Flight,
    clock: abc.SchedulerBase,
    scheduler_: abc.SchedulerBase | None,
) -> abc.DisposableBase:
    return subscribe_observer(source, _Upstream(store, key, flight, clock), scheduler_)


class _Upstream:
    """The observer of a flight's call: hands each item to every member, stores a completed result."""

    __slots__ = ("clock", "flight", "key", "store")

    def __init__(self, store: ResponseCache, key: str, flight: Flight, clock: abc.SchedulerBase) -> None:
        self.store = store
        self.key = key
        self.flight = flight
        self.clock = clock

    def on_next(self, value: Any) -> None:
        flight = self.flight
        with self.store.lock:
            flight.values.append(value)
            members = tuple(flight.observers)  # a member may leave while it is told
        for member in members:
            member.on_next(value)

    def on_error(self, error: Exception) -> None:
        store, flight = self.store, self.flight
        for member in store.land(self.key, flight):
            member.on_error(error)
        store.release(flight)

    def on_completed(self) -> None:
        store, flight, key = self.store, self.flight, self.key
        values = tuple(flight.values)
        for value in values:
            if isinstance(value, Fallback):
                break
        else:
            store.put(key, values, now_s(self.clock))
            store.share(key, values)
        for member in store.land(key, flight):
            member.on_completed()
        store.release(flight)
