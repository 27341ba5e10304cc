"""Step: a cheap observable for streams made per call, and the light disposables its operators use.

reactivex's ``Observable`` costs a re-entrant lock and a walk through its mixins to build,
and its ``subscribe`` an auto-detaching observer, two disposables with a lock each and a
trampoline on the current thread: about 9 µs per subscription on asyncio. ``agent.protect``
builds and subscribes eight layers around every LLM call, so that cost was most of the
chain's. A :class:`Step` is an ``Observable`` (every reactivex operator applies to it) with:

- no lock made until one is asked for (some reactivex operators lock their source);
- a ``subscribe`` without a trampoline: the observer still ignores messages after the
  end, the subscription is still disposed at the end (or at once, when the end came
  before the subscribe function returned), and a subscribe function that raises still
  sends the error downstream. A non-``Step`` source a step subscribes gets the
  trampoline from its own ``subscribe``, so reactivex's ordering guarantees hold where
  reactivex code runs;
- :func:`subscribe_inner`: one step subscribing another calls its subscribe function
  directly, with an observer made of three callbacks; :func:`subscribe_observer` the same
  with an operator's own per-subscription object as the observer (no callbacks wrapped).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any, Protocol, TypeVar, final

from reactivex import Observable, abc
from reactivex.internal import default_error

__all__ = ["NOTHING", "Once", "Slot", "Step", "lazy", "subscribe_inner", "subscribe_observer"]

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Once(abc.DisposableBase):
    """A disposable that runs ``action`` on the first ``dispose`` only (no lock: the loop's thread disposes)."""

    __slots__ = ("_action",)

    def __init__(self, action: Callable[[], None]) -> None:
        self._action: Callable[[], None] | None = action

    def dispose(self) -> None:
        action, self._action = self._action, None
        if action is not None:
            action()


class _Nothing(abc.DisposableBase):
    __slots__ = ()

    def dispose(self) -> None:
        return None


NOTHING: abc.DisposableBase = _Nothing()
"""A disposable with nothing to dispose: a subscription that ended before it returned."""


class Slot(abc.DisposableBase):
    """Holds the disposable of what runs now; disposing disposes it, and anything put in later.

    Putting a new one in disposes the one it replaces (reactivex's ``SerialDisposable``, without its lock).
    """

    __slots__ = ("_current", "disposed")

    def __init__(self) -> None:
        self._current: abc.DisposableBase | None = None
        self.disposed = False

    def set(self, disposable: abc.DisposableBase) -> None:
        """Hold ``disposable`` (disposed at once if this slot already is), disposing the one it replaces."""
        if self.disposed:
            disposable.dispose()
            return
        old, self._current = self._current, disposable
        if old is not None:
            old.dispose()

    def dispose(self) -> None:
        if self.disposed:
            return
        self.disposed = True
        current, self._current = self._current, None
        if current is not None:
            current.dispose()


class _Relay:
    """An observer made of three callbacks, with none of the wrapping of ``Observable.subscribe``.

    The callbacks are stored as the observer's own ``on_next``/``on_error``/``on_completed``,
    so a message costs one call per layer, not two.
    """

    __slots__ = ("on_completed", "on_error", "on_next")

    def __init__(
        self, on_next: Callable[[Any], None], on_error: Callable[[Exception], None], on_completed: Callable[[], None]
    ) -> None:
        self.on_next = on_next
        self.on_error = on_error
        self.on_completed = on_completed


def _ignore(_: Any) -> None:
    return None


def _nothing() -> None:
    return None


class _Detaching(abc.DisposableBase):
    """The observer of an outermost subscription: stops at the end and disposes what it subscribed."""

    __slots__ = ("_completed", "_error", "_next", "_upstream", "stopped")

    def __init__(
        self, on_next: Callable[[Any], None], on_error: Callable[[Exception], None], on_completed: Callable[[], None]
    ) -> None:
        self._next = on_next
        self._error = on_error
        self._completed = on_completed
        self._upstream: abc.DisposableBase | None = None
        self.stopped = False

    def on_next(self, value: Any) -> None:
        if not self.stopped:
            self._next(value)

    def on_error(self, error: Exception) -> None:
        if self.stopped:
            return
        self.stopped = True
        try:
            self._error(error)
        finally:
            self.dispose()

    def on_completed(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        try:
            self._completed()
        finally:
            self.dispose()

    def attach(self, upstream: abc.DisposableBase) -> None:
        if self.stopped:  # it ended while subscribing: nothing will dispose it later
            upstream.dispose()
        else:
            self._upstream = upstream

    def dispose(self) -> None:
        self.stopped = True
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            upstream.dispose()


@final
class Step(Observable[T]):
    """An observable whose subscribe function is called as is (see the module's docstring)."""

    def __init__(self, subscribe: abc.Subscription[T]) -> None:
        self._subscribe = subscribe

    @cached_property
    def lock(self) -> threading.RLock:  # type: ignore[override]  # made on first use
        return threading.RLock()

    def subscribe(
        self,
        on_next: abc.ObserverBase[T] | abc.OnNext[T] | None = None,
        on_error: abc.OnError | None = None,
        on_completed: abc.OnCompleted | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        """Subscribe an observer, or callbacks, as ``Observable.subscribe`` does (without its trampoline)."""
        given: Any = on_next
        if given is not None and hasattr(given, "on_next"):
            given, on_error, on_completed = given.on_next, given.on_error, given.on_completed
        detaching = _Detaching(given or _ignore, on_error or default_error, on_completed or _nothing)
        subscribe: Any = self._subscribe
        try:
            upstream: abc.DisposableBase = subscribe(detaching, scheduler)
        except Exception as exc:  # what Observable.subscribe does: to the observer, or raised once it has ended
            if detaching.stopped:
                raise
            detaching.on_error(exc)
            return detaching
        detaching.attach(upstream)
        return detaching


def subscribe_inner(
    source: Observable[T],
    on_next: Callable[[T], None],
    on_error: Callable[[Exception], None],
    on_completed: Callable[[], None],
    scheduler: abc.SchedulerBase | None,
) -> abc.DisposableBase:
    """Subscribe ``source`` from inside an operator: directly when it is a :class:`Step`, else as usual."""
    if type(source) is Step:  # not isinstance: reactivex's ABCs make that check slow, and Step has no subclasses
        return subscribe_observer(source, _Relay(on_next, on_error, on_completed), scheduler)
    return source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)


class Observing(Protocol[T_contra]):
    """What an observer has: an operator's per-subscription object need not derive from ``ObserverBase``."""

    def on_next(self, value: T_contra, /) -> None: ...

    def on_error(self, error: Exception, /) -> None: ...

    def on_completed(self) -> None: ...


def subscribe_observer(
    source: Observable[T], observer: Observing[T], scheduler: abc.SchedulerBase | None
) -> abc.DisposableBase:
    """:func:`subscribe_inner` with an observer object (an operator's per-subscription state) as it is."""
    if type(source) is Step:  # directly; the subscribe function's error goes to the observer
        subscribe: Any = source._subscribe
        try:
            disposable: abc.DisposableBase = subscribe(observer, scheduler)
        except Exception as exc:  # noqa: BLE001 - what Observable.subscribe does: the error goes downstream
            observer.on_error(exc)
            return NOTHING
        return disposable
    return source.subscribe(observer.on_next, observer.on_error, observer.on_completed, scheduler=scheduler)


def lazy(factory: Callable[[], Observable[T]]) -> Observable[T]:
    """Like ``reactivex.defer``: build the observable on each subscription (cheaply, as a :class:`Step`).

    ``agent.protect`` uses it so that the inner layers of a call are only built when the
    cache misses.
    """

    def subscribe(observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        return subscribe_observer(factory(), observer, scheduler)

    return Step(subscribe)
