"""loop_share: ``ops.share()`` for a stream one thread alone drives, one call per item and subscriber.

``share()`` is ``publish()`` and ``ref_count()``: a ``Subject`` that takes its lock twice and
copies its list of observers for every item, behind three subscriptions, each wrapping the
subscriber's observer once more, so an item reached each subscriber through three
auto-detaching observers. The pipeline shares its event stream among five or more routes, and
every event of a replay takes that way.

Here the subscriber's observer itself is kept, in a list that is copied on write: a subscribe
or an unsubscribe builds a new list, and an item goes to the list that was current when it
came (one that joins while an item is on its way gets the next ones; one that leaves is stopped
and gets nothing more, as with ``Subject``). The reference counting is ``ref_count``'s: the first subscriber
connects the source (with its scheduler), the last one to leave disconnects it. After the source
has ended, a new subscriber is told how it ended (its error, or completion), as a ``Subject``
tells it. One thread only: it is not safe to subscribe, leave or emit from two at once. The
pipeline takes it only when told its events come from one thread (``agent.Wiring.one_thread``:
a replay, whose events come from its virtual clock on the event loop); the live service keeps
``ops.share()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from reactivex import Observable, abc

from streams import NOTHING, Once

__all__ = ["loop_share"]

T = TypeVar("T")


class _Shared(Generic[T]):
    """One shared subscription of ``source`` and the observers it feeds."""

    __slots__ = ("connection", "ended", "error", "observers", "source")

    def __init__(self, source: Observable[T]) -> None:
        self.source = source
        self.observers: list[abc.ObserverBase[T]] = []
        self.connection: abc.DisposableBase | None = None
        self.ended = False
        self.error: Exception | None = None

    def on_next(self, value: T) -> None:
        for observer in self.observers:
            observer.on_next(value)

    def on_error(self, error: Exception) -> None:
        observers, self.observers = self.observers, []
        self.ended, self.error = True, error
        for observer in observers:
            observer.on_error(error)

    def on_completed(self) -> None:
        observers, self.observers = self.observers, []
        self.ended = True
        for observer in observers:
            observer.on_completed()

    def subscribe(
        self, observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        if self.ended:
            if self.error is not None:
                observer.on_error(self.error)
            else:
                observer.on_completed()
            return NOTHING
        self.observers = [*self.observers, observer]
        if self.connection is None:
            self.connection = NOTHING  # connecting: a subscriber that comes meanwhile does not connect again
            connection = self.source.subscribe(self.on_next, self.on_error, self.on_completed, scheduler=scheduler)
            if self.connection is NOTHING:
                self.connection = connection
            else:  # every subscriber left while the source was being subscribed
                connection.dispose()

        def leave() -> None:
            self.observers = [o for o in self.observers if o is not observer]
            if not self.observers and self.connection is not None:
                connection, self.connection = self.connection, None
                connection.dispose()

        return Once(leave)


def loop_share() -> Callable[[Observable[T]], Observable[T]]:
    """Share one subscription of the source among many subscribers, on one thread (module docstring)."""

    def apply(source: Observable[T]) -> Observable[T]:
        return Observable(_Shared(source).subscribe)

    return apply
