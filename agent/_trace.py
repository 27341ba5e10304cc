"""The tracing seam of the routes: where a message's work and each protected call begin and end.

The routes do not trace anything themselves (they import no tracing library): they hand the
observable of one message's work, and of each protected call, to a :class:`PipelineTrace`, which
may wrap it (``service.tracing`` does, to make spans) or give it back as it is (:data:`NO_TRACE`,
the default, which costs one function call per message and per call).
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from reactivex import Observable

__all__ = ["NO_TRACE", "NoTrace", "PipelineTrace"]

T = TypeVar("T")


class PipelineTrace(Protocol):
    """Wraps the observables of the routes' units of work; a wrapper must not change what they emit."""

    def route(self, route: str, event_id: str, work: Observable[T]) -> Observable[T]:
        """``work``, the rows route ``route`` makes for the message of ``event_id``."""
        ...

    def call(self, name: str, work: Observable[T]) -> Observable[T]:
        """``work``, one call protected by the layers of protection ``name`` (the fallback's outermost)."""
        ...


class NoTrace:
    """The trace that wraps nothing."""

    __slots__ = ()

    def route(self, route: str, event_id: str, work: Observable[T]) -> Observable[T]:
        return work

    def call(self, name: str, work: Observable[T]) -> Observable[T]:
        return work


NO_TRACE: PipelineTrace = NoTrace()
