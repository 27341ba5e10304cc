"""catch_fallback: turn a failed call into a marked fallback and a dead-letter record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from reactivex import Observable, abc

from operators._clock import check, now_s, pick_scheduler
from operators._fallback import DeadLetter, Fallback, FallbackPolicy, reason_of
from operators._listener import NULL_LISTENER, ResilienceListener
from operators._lru import LruTtl
from streams import Step, subscribe_observer

__all__ = ["LastGood", "catch_fallback"]

T = TypeVar("T")


class LastGood(Generic[T]):
    """The last good result per key and when it came, for ``stale`` fallbacks (LRU-bounded)."""

    def __init__(self, max_entries: int = 1024) -> None:
        check(isinstance(max_entries, int) and max_entries >= 1, "LastGood.max_entries", "an integer >= 1", max_entries)
        self._entries: LruTtl[str, T] = LruTtl(max_entries=max_entries, ttl_s=None)

    def remember(self, key: str, value: T, now: float) -> None:
        """``value`` is the newest good result for ``key``."""
        self._entries.put(key, value, now)

    def recall(self, key: str, now: float, younger_than_s: float) -> tuple[T] | None:
        """``(value,)`` when the last good result for ``key`` is younger than ``younger_than_s`` at ``now``."""
        entry = self._entries.get(key, now)
        if entry is None or now - entry[0] >= younger_than_s:
            return None
        return (entry[1],)


def catch_fallback(
    policy: FallbackPolicy[T],
    *,
    dead_letter: Callable[[DeadLetter], None],
    name: str = "call",
    key: str | None = None,
    request: Any = None,
    last_good: LastGood[T] | None = None,
    listener: ResilienceListener = NULL_LISTENER,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[T]], Observable[T | Fallback[T]]]:
    """Replace a failed call's error by a :class:`Fallback` (or by nothing), recording it first.

    Good items pass through unchanged (and, with ``key`` and ``last_good``, the last one of
    a completed call is remembered). On an error, the first matching rule of ``policy``
    decides: a last good result younger than its ``stale_for_s``, else its fixed value,
    else skip (complete with no item). ``dead_letter`` receives the error and ``request``
    *before* the fallback goes downstream; if the callback raises, that error goes
    downstream instead. An error no rule matches goes downstream unchanged.

    Args:
        policy: the rules.
        dead_letter: where failures are recorded (the dead-letter sink).
        name: the step's name for records and reports.
        key: the call's key, for ``stale`` fallbacks.
        request: the call's input, copied into the dead-letter record.
        last_good: last good results shared across calls; ``None`` disables ``stale``.
        listener: told of every fallback.
        scheduler: the clock for staleness; the subscription's scheduler when ``None``.
    """

    rules = _Rules(policy, dead_letter, name, key, request, last_good if key is not None else None, listener)

    def apply(source: Observable[T]) -> Observable[T | Fallback[T]]:
        def subscribe(
            observer: abc.ObserverBase[T | Fallback[T]], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            catching = _Catching(rules, observer, pick_scheduler(scheduler, scheduler_))
            return subscribe_observer(source, catching, scheduler_)

        return Step(subscribe)

    return apply


class _Rules(Generic[T]):
    """What every subscription of one ``catch_fallback`` shares."""

    __slots__ = ("dead_letter", "key", "last_good", "listener", "name", "policy", "request")

    def __init__(
        self,
        policy: FallbackPolicy[T],
        dead_letter: Callable[[DeadLetter], None],
        name: str,
        key: str | None,
        request: Any,
        last_good: LastGood[T] | None,
        listener: ResilienceListener,
    ) -> None:
        self.policy = policy
        self.dead_letter = dead_letter
        self.name = name
        self.key = key
        self.request = request
        self.last_good = last_good  # None without a key: nothing to remember or recall
        self.listener = listener


class _Catching(Generic[T]):
    """One subscription: the observer of the call, which remembers its last item and replaces its error."""

    __slots__ = ("clock", "has_latest", "latest", "observer", "rules")

    def __init__(self, rules: _Rules[T], observer: abc.ObserverBase[Any], clock: abc.SchedulerBase) -> None:
        self.rules = rules
        self.observer = observer
        self.clock = clock
        self.latest: Any = None
        self.has_latest = False

    def on_next(self, value: T) -> None:
        if self.rules.last_good is not None:
            self.latest = value
            self.has_latest = True
        self.observer.on_next(value)

    def on_completed(self) -> None:
        rules = self.rules
        if self.has_latest and rules.key is not None and rules.last_good is not None:
            rules.last_good.remember(rules.key, self.latest, now_s(self.clock))
        self.observer.on_completed()

    def on_error(self, error: Exception) -> None:
        rules = self.rules
        observer = self.observer
        rule = rules.policy.rule_for(error)
        if rule is None:
            observer.on_error(error)
            return
        key, last_good = rules.key, rules.last_good
        stale = None
        if rule.stale_for_s > 0 and key is not None and last_good is not None:
            stale = last_good.recall(key, now_s(self.clock), rule.stale_for_s)
        reason = reason_of(error)
        if stale is not None:
            out: Fallback[T] | None = Fallback(stale[0], "stale", reason, error)
        elif rule.has_value:
            out = Fallback(rule.value, "value", reason, error)
        else:
            out = None
        kind = "skip" if out is None else out.kind
        try:
            rules.dead_letter(DeadLetter(rules.name, reason, kind, error, rules.request, key))
        except Exception as failure:  # noqa: BLE001 - it goes downstream: the record could not be written
            failure.__context__ = error
            observer.on_error(failure)
            return
        rules.listener.fallback_used(rules.name, reason, kind)
        if out is not None:
            observer.on_next(out)
        observer.on_completed()
