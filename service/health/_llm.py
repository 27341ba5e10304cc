"""The ``llm`` component: how the LLM calls are going, learnt from the resilience operators' reports.

It is a :class:`~operators.ResilienceListener` (give it to the operators beside the
Prometheus listener, through :class:`service.FanOutListener`). Degraded while:

- a circuit breaker is open, half-open or forced open (``breaker_state``); or
- the latest calls failed: a try timed out (``call_timed_out``) or a call ended in a
  fallback (``fallback_used``), and no call has been answered since (a ``success`` or
  ``slow`` outcome of ``breaker_call`` clears it). A failure is forgotten once
  ``forget_failures_after_s`` pass with no new one: without calls nothing new is known,
  and without a breaker no success is ever reported.

- a call has been in flight for ``stuck_after_s`` or longer (the backend is watched through
  :meth:`LLMHealth.watch_backend`): a hung server shows here within seconds, long before the
  try's own timeout ends the call. An answered call clears the failure at once, breaker or not.

Never ``failing``: with the LLM failing the service still stores every message and answers
with fallbacks, so it should keep receiving them. Reports arrive on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from llm import LLMBackend
from operators import CircuitBreaker, NullListener
from service.health._component import ComponentHealth, Status
from service.health._watched_backend import WatchedBackend
from sinks import utc_now

__all__ = ["LLMHealth"]

_NOT_CLOSED = frozenset({"open", "half_open", "forced_open"})


def _at(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class _Failing:
    since: datetime
    latest: datetime
    name: str
    why: str


class LLMHealth(NullListener):
    """Tracks the LLM calls' health from the operators' reports; :meth:`health` is the ``llm`` component.

    Args:
        clock: the time reports are stamped with (the runtime passes the scheduler's clock).
        forget_failures_after_s: a failure with no newer one for this long no longer degrades.
        stuck_after_s: a call in flight this long degrades.
    """

    __slots__ = ("_answered", "_breakers", "_clock", "_failing", "_forget_s", "_in_flight", "_next", "_stuck_s")

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = utc_now,
        forget_failures_after_s: float = 300.0,
        stuck_after_s: float = 10.0,
    ) -> None:
        if not forget_failures_after_s > 0:
            given = forget_failures_after_s
            raise ValueError(f"LLMHealth.forget_failures_after_s: expected seconds > 0, got {given!r}")
        if not stuck_after_s > 0:
            raise ValueError(f"LLMHealth.stuck_after_s: expected seconds > 0, got {stuck_after_s!r}")
        self._stuck_s = stuck_after_s
        self._in_flight: dict[int, datetime] = {}
        self._next = 0
        self._clock = clock
        self._forget_s = forget_failures_after_s
        self._breakers: dict[str, tuple[str, datetime]] = {}
        self._failing: _Failing | None = None
        self._answered: datetime | None = None

    def watch_breaker(self, breaker: CircuitBreaker) -> None:
        """Know ``breaker``'s state now (later changes arrive as reports)."""
        self._breakers[breaker.name] = (breaker.state.value, self._clock())

    def watch_backend(self, backend: LLMBackend) -> LLMBackend:
        """``backend``, telling this component when each call starts and ends."""
        return WatchedBackend(backend, self)

    def call_started(self) -> int:
        self._next += 1
        self._in_flight[self._next] = self._clock()
        return self._next

    def call_ended(self, token: int, *, answered: bool) -> None:
        self._in_flight.pop(token, None)
        if answered:
            self._failing = None
            self._answered = self._clock()

    def breaker_state(self, name: str, old: str, new: str) -> None:
        self._breakers[name] = (new, self._clock())

    def breaker_call(self, name: str, outcome: str, duration_s: float) -> None:
        if outcome in ("success", "slow"):
            self._failing = None
            self._answered = self._clock()

    def call_timed_out(self, name: str, timeout_s: float) -> None:
        self._failed(name, f"a try timed out after {timeout_s:g} s")

    def fallback_used(self, name: str, reason: str, kind: str) -> None:
        self._failed(name, f"answered with a fallback ({reason})")

    def _failed(self, name: str, why: str) -> None:
        now = self._clock()
        before = self._failing
        since = before.since if before is not None and self._remembered(before, now) else now
        self._failing = _Failing(since=since, latest=now, name=name, why=why)

    def _remembered(self, failing: _Failing, now: datetime) -> bool:
        return (now - failing.latest).total_seconds() < self._forget_s

    def health(self) -> ComponentHealth:
        """Degraded (with what and since when) or ok (with the latest answer's time)."""
        now = self._clock()
        problems = [
            f"breaker {name!r} {state.replace('_', '-')} since {_at(since)}"
            for name, (state, since) in sorted(self._breakers.items())
            if state in _NOT_CLOSED
        ]
        if self._in_flight:
            oldest = min(self._in_flight.values())
            waited = (now - oldest).total_seconds()
            if waited >= self._stuck_s:
                problems.append(
                    f"{len(self._in_flight)} call(s) in flight, the oldest for {waited:.0f} s without an answer "
                    f"(since {_at(oldest)}; stuck after {self._stuck_s:g} s)"
                )
        failing = self._failing
        if failing is not None and self._remembered(failing, now):
            problems.append(
                f"{failing.name!r} calls failing since {_at(failing.since)}, the latest at {_at(failing.latest)}: "
                f"{failing.why}"
            )
        if problems:
            return ComponentHealth(Status.DEGRADED, "; ".join(problems))
        if failing is not None:
            return ComponentHealth(
                Status.OK, f"no call since the failure at {_at(failing.latest)} ({failing.why}); taken as recovered"
            )
        if self._answered is not None:
            return ComponentHealth(Status.OK, f"the latest call was answered at {_at(self._answered)}")
        return ComponentHealth(Status.OK, "no call answered yet")
