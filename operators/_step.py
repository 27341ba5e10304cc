"""The observable our operators return, and a cheap way for one operator to subscribe another.

reactivex's ``Observable.subscribe`` wraps every subscription (an auto-detaching observer,
its disposables and locks, a trampoline check), which costs a few microseconds per layer;
``agent.protect`` stacks eight layers on every LLM call. Between two of our own operators
that wrapping is redundant: each one already ignores messages after its end and makes its
disposal idempotent, and the outermost subscription (made by the caller through the
ordinary ``subscribe``) sets up the trampoline and the auto-detaching for the whole chain.
So an operator subscribing a :class:`Step` calls its subscribe function directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, final

from reactivex import Observable, abc
from reactivex.disposable import Disposable

__all__ = ["Step", "lazy", "subscribe_inner"]

T = TypeVar("T")


@final
class Step(Observable[T]):
    """An observable made by one of the operators in this package."""


class _Relay:
    """An observer made of three callbacks, with none of the wrapping of ``Observable.subscribe``.

    The callbacks are stored as the observer's own ``on_next``/``on_error``/``on_completed``,
    so a message costs one call per layer, not two.
    """

    __slots__ = ("on_completed", "on_error", "on_next")

    def __init__(
        self, on_next: Callable[[T], None], on_error: Callable[[Exception], None], on_completed: Callable[[], None]
    ) -> None:
        self.on_next = on_next
        self.on_error = on_error
        self.on_completed = on_completed


def subscribe_inner(
    source: Observable[T],
    on_next: Callable[[T], None],
    on_error: Callable[[Exception], None],
    on_completed: Callable[[], None],
    scheduler: abc.SchedulerBase | None,
) -> abc.DisposableBase:
    """Subscribe ``source`` from inside an operator: directly when it is a :class:`Step`, else as usual."""
    if type(source) is Step:  # not isinstance: reactivex's ABCs make that check slow, and Step has no subclasses
        subscribe: Any = source._subscribe
        try:
            disposable: abc.DisposableBase = subscribe(_Relay(on_next, on_error, on_completed), scheduler)
        except Exception as exc:  # noqa: BLE001 - what Observable.subscribe does: the error goes downstream
            on_error(exc)
            return Disposable()
        return disposable
    return source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)


def lazy(factory: Callable[[], Observable[T]]) -> Observable[T]:
    """Like ``reactivex.defer``: build the observable on each subscription (cheaply, as a :class:`Step`).

    ``agent.protect`` uses it so that the inner layers of a call are only built when the
    cache misses.
    """

    def subscribe(observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        return subscribe_inner(factory(), observer.on_next, observer.on_error, observer.on_completed, scheduler)

    return Step(subscribe)
