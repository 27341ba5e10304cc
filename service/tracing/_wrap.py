"""The routes' seam (``agent.PipelineTrace``) made of spans: a route span per message's work, a protect span per call.

Each wrapper subscribes the work with its :class:`~service.tracing._scope.Scope` set, passes
every item on unchanged, and ends its span exactly once: on completion, on error, or when the
subscription is disposed first (a deadline, shutdown).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from opentelemetry.trace import SpanKind, Tracer, set_span_in_context
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from operators import Fallback
from service.tracing._scope import CURRENT, CallState, MessageTrace, Scope, end_with_error
from sinks import EpisodeRow

__all__ = ["SpanTrace"]

T = TypeVar("T")


class _Messages(Protocol):
    """What the wrappers need of :class:`~service.tracing.Tracing`."""

    def route_parent(self, event_id: str) -> MessageTrace | None: ...

    def breaker_state(self, name: str) -> str: ...


def _subscribed_in(
    scope: Scope | None,
    work: Observable[T],
    observer: abc.ObserverBase[T],
    scheduler: abc.SchedulerBase | None,
    *,
    on_item: Callable[[T], None],
    on_end: Callable[[str, BaseException | None], None],
) -> abc.DisposableBase:
    """Subscribe ``work`` with ``scope`` current; ``on_end(outcome, error)`` is called once, however it ends."""

    def on_next(item: T) -> None:
        on_item(item)
        observer.on_next(item)

    def on_error(error: Exception) -> None:
        on_end("error", error)
        observer.on_error(error)

    def on_completed() -> None:
        on_end("completed", None)
        observer.on_completed()

    token = CURRENT.set(scope)
    try:
        inner = work.subscribe(on_next, on_error, on_completed, scheduler=scheduler)
    except BaseException as exc:
        on_end("error", exc)
        raise
    finally:
        CURRENT.reset(token)

    def dispose() -> None:
        inner.dispose()
        on_end("disposed", None)

    return Disposable(dispose)


class SpanTrace:
    """Spans for the routes' work and their protected calls.

    Args:
        tracer: makes the spans.
        messages: the open messages' traces and the breakers' states.
        clock: wall time in nanoseconds (when a route handed its rows on).
    """

    __slots__ = ("_clock", "_messages", "_tracer")

    def __init__(self, tracer: Tracer, messages: _Messages, clock: Callable[[], int]) -> None:
        self._tracer = tracer
        self._messages = messages
        self._clock = clock

    def route(self, route: str, event_id: str, work: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            message = self._messages.route_parent(event_id)
            if message is None:  # not a traced message: shield its work from the scope it was subscribed in
                return _subscribed_in(None, work, observer, scheduler, on_item=_ignore, on_end=_ignore_end)
            span = self._tracer.start_span(
                f"being.route {route}",
                context=message.context(),
                kind=SpanKind.INTERNAL,
                attributes={"being.route": route, "being.event.id": event_id},
            )
            scope = Scope(message=message, route_span=span)

            def on_item(item: T) -> None:
                if isinstance(item, EpisodeRow) and item.event_id == event_id:
                    span.set_attribute("being.reply.outcome", item.outcome)
                    span.set_attribute("being.reply.id", item.id)

            def on_end(how: str, error: BaseException | None) -> None:
                if not scope.open:
                    return
                scope.open = False
                message.routed_ns = self._clock()
                span.set_attribute("being.route.end", how)
                if error is not None:
                    end_with_error(span, error)
                else:
                    span.end()

            return _subscribed_in(scope, work, observer, scheduler, on_item=on_item, on_end=on_end)

        return Observable(subscribe)

    def call(self, name: str, work: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            outer = CURRENT.get()
            if outer is None or not outer.open:  # a call of no message (the mind's): no span
                return work.subscribe(observer, scheduler=scheduler)
            span = self._tracer.start_span(
                f"being.protect {name}",
                context=set_span_in_context(outer.route_span),
                kind=SpanKind.INTERNAL,
                attributes={"being.protection": name},
            )
            state = CallState(
                name=name, span=span, tracer=self._tracer, breaker_state=self._messages.breaker_state(name)
            )
            scope = Scope(message=outer.message, route_span=outer.route_span, call=state)

            def on_item(item: Any) -> None:
                if isinstance(item, Fallback):
                    state.outcome = "fallback"
                    state.attributes["being.fallback.kind"] = item.kind
                    state.attributes["being.fallback.reason"] = item.reason
                    state.attributes["error.type"] = type(item.error).__name__
                else:
                    state.outcome = "success"

            def on_end(how: str, error: BaseException | None) -> None:
                scope.open = False
                if how == "disposed":
                    state.finish("disposed")
                elif error is not None:
                    state.finish("failure", error)
                else:
                    state.finish(state.outcome or "skipped")

            return _subscribed_in(scope, work, observer, scheduler, on_item=on_item, on_end=on_end)

        return Observable(subscribe)


def _ignore(_item: object) -> None:
    return None


def _ignore_end(_how: str, _error: BaseException | None) -> None:
    return None
