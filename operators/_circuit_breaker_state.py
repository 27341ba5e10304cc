"""The circuit breaker's policy and its shared state (Resilience4j's model, on the scheduler's clock)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Literal

from operators._clock import check, finite
from operators._listener import NULL_LISTENER, ResilienceListener
from operators._predicates import is_rejection
from operators._window import OutcomeWindow
from operators.errors import CircuitOpenError

__all__ = ["BreakerPolicy", "BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    """A breaker's state; ``code`` is the number exported as the state gauge."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    FORCED_OPEN = "forced_open"
    DISABLED = "disabled"

    @property
    def code(self) -> int:
        """0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled."""
        return _CODES[self]


_CODES = {s: i for i, s in enumerate(BreakerState)}


def _always(error: Exception) -> bool:
    return True


def _as_fraction(rate: float) -> tuple[int, int]:
    """``rate`` as the fraction its decimal spelling says: 0.55 is 11/20, not the binary float just above it."""
    exact = Fraction(repr(rate))
    return exact.numerator, exact.denominator


def _reaches(count: int, calls: int, rate: tuple[int, int]) -> bool:
    """``count / calls >= rate``, in integers, so a share exactly at the threshold reaches it."""
    numerator, denominator = rate
    return count * denominator >= numerator * calls


_NO_RATE = -1.0  # Resilience4j's value for "not judged yet"


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerPolicy:
    """When a circuit breaker opens, how long it stays open and how it probes.

    Attributes:
        failure_rate_threshold: open when failures / calls in the window reach this (0 < x <= 1), exactly:
            the rate is compared as the decimal it is written as, so 55 failures of 100 reach 0.55.
        slow_call_rate_threshold: open when slow calls / calls reach this (0 < x <= 1), exactly as above.
        slow_call_duration_s: a call lasting this long or longer is slow.
        sliding_window: ``count`` (the last ``window_calls`` calls) or ``time`` (the last ``window_s``).
        window_calls: size of a count window.
        window_s: span of a time window.
        minimum_calls: no rate is judged before the window holds this many calls.
        open_for_s: how long the breaker stays open before it lets probes through.
        open_for_multiplier: each consecutive opening (no close between) multiplies the wait by this.
        open_for_max_s: the growing wait never exceeds this.
        half_open_calls: probes let through while half-open; the rest are rejected while they run.
        record: which errors count as failures (others count as successes).
        ignore: which errors are not counted at all (default: the operators' own rejections).
    """

    failure_rate_threshold: float = 0.5
    slow_call_rate_threshold: float = 1.0
    slow_call_duration_s: float = 60.0
    sliding_window: Literal["count", "time"] = "count"
    window_calls: int = 10
    window_s: float = 60.0
    minimum_calls: int = 4
    open_for_s: float = 30.0
    open_for_multiplier: float = 2.0
    open_for_max_s: float = 300.0
    half_open_calls: int = 3
    record: Callable[[Exception], bool] = _always
    ignore: Callable[[Exception], bool] = is_rejection

    def __post_init__(self) -> None:
        w = "BreakerPolicy"
        for field in ("failure_rate_threshold", "slow_call_rate_threshold"):
            value = getattr(self, field)
            check(finite(value) and 0 < value <= 1, f"{w}.{field}", "a rate in (0, 1]", value)
        for field in ("slow_call_duration_s", "window_s", "open_for_s"):
            value = getattr(self, field)
            check(finite(value) and value > 0, f"{w}.{field}", "a number of seconds > 0", value)
        check(self.sliding_window in ("count", "time"), f"{w}.sliding_window", "'count' or 'time'", self.sliding_window)
        for field in ("window_calls", "minimum_calls", "half_open_calls"):
            value = getattr(self, field)
            check(isinstance(value, int) and value >= 1, f"{w}.{field}", "an integer >= 1", value)
        if self.sliding_window == "count":
            check(
                self.minimum_calls <= self.window_calls,
                f"{w}.minimum_calls",
                f"at most window_calls ({self.window_calls}) with a count window",
                self.minimum_calls,
            )
        check(
            finite(self.open_for_multiplier) and self.open_for_multiplier >= 1,
            f"{w}.open_for_multiplier",
            "a number >= 1",
            self.open_for_multiplier,
        )
        check(
            finite(self.open_for_max_s) and self.open_for_max_s >= self.open_for_s,
            f"{w}.open_for_max_s",
            f"a number >= open_for_s ({self.open_for_s:g})",
            self.open_for_max_s,
        )


class CircuitBreaker:
    """A circuit breaker's state, shared by every call through it.

    CLOSED lets calls through and judges the window once it holds ``minimum_calls``
    outcomes; OPEN rejects until ``open_for_s`` has passed, then the next call moves it to
    HALF_OPEN, which lets ``half_open_calls`` probes through: a probe failure reopens at
    once; when every probe has ended without failure it closes (or reopens if the probes
    were too slow). FORCED_OPEN and DISABLED are set by hand and left only by
    :meth:`reset`. Every transition is reported to the listener.

    A permit is an opaque number naming the state period it was given in (and whether it
    is a probe): outcomes of calls permitted before the last transition are reported to
    the listener but do not move the breaker. Probes still running from an earlier
    half-open period count against the limit of the next one, so no more than
    ``half_open_calls`` probes ever run at once.
    """

    def __init__(
        self,
        policy: BreakerPolicy | None = None,
        *,
        name: str = "breaker",
        listener: ResilienceListener = NULL_LISTENER,
    ) -> None:
        self.policy = policy if policy is not None else BreakerPolicy()
        self.name = name
        self._listener = listener
        self._lock = threading.RLock()
        p = self.policy
        if p.sliding_window == "count":
            self._window = OutcomeWindow(calls=p.window_calls)
        else:
            self._window = OutcomeWindow(span_s=p.window_s)
        self._state = BreakerState.CLOSED
        self._epoch = 0
        self._open_until = 0.0
        self._consecutive_opens = 0
        self._probes_started = 0
        self._probes_running = 0  # across periods: a probe of an earlier period may still run
        self._probes_ended = 0
        self._probes_slow = 0
        self._failure_limit = _as_fraction(p.failure_rate_threshold)
        self._slow_limit = _as_fraction(p.slow_call_rate_threshold)
        self._opened_at_rates = (_NO_RATE, _NO_RATE)  # the rates of the calls that opened it, shown while open

    @property
    def state(self) -> BreakerState:
        """The current state (an expired OPEN stays OPEN until the next call asks)."""
        return self._state

    @property
    def probes_running(self) -> int:
        """Half-open probes currently in flight."""
        return self._probes_running

    def failure_rate(self, now: float) -> float:
        """The share of failed calls (0 to 1) in the window being judged at ``now``, or -1.0.

        As Resilience4j's metrics: while CLOSED, the sliding window's rate once it holds
        ``minimum_calls`` outcomes (-1 before); while OPEN, the rate of the calls that opened
        it; in every other state -1 (half-open judges its probes only when all have ended, at
        which moment it leaves; forced open and disabled judge nothing).
        """
        return self._rates(now)[0]

    def slow_call_rate(self, now: float) -> float:
        """The share of slow calls (0 to 1) in the window being judged at ``now``, or -1.0.

        Judged as :meth:`failure_rate` is.
        """
        return self._rates(now)[1]

    def _rates(self, now: float) -> tuple[float, float]:
        with self._lock:
            if self._state is BreakerState.OPEN:
                return self._opened_at_rates
            if self._state is not BreakerState.CLOSED:
                return _NO_RATE, _NO_RATE
            calls, failures, slows = self._window.counts(now)
            if calls < self.policy.minimum_calls:
                return _NO_RATE, _NO_RATE
            return failures / calls, slows / calls

    def _open(self, now: float, calls: int, failures: int, slows: int) -> None:
        self._opened_at_rates = (failures / calls, slows / calls)
        self._move(BreakerState.OPEN, now)

    def _move(self, new: BreakerState, now: float) -> None:
        old = self._state
        self._state = new
        self._epoch += 1
        self._window.clear()
        self._probes_started = self._probes_ended = self._probes_slow = 0
        if new is BreakerState.OPEN:
            p = self.policy
            wait = min(p.open_for_s * p.open_for_multiplier**self._consecutive_opens, p.open_for_max_s)
            self._consecutive_opens += 1
            self._open_until = now + wait
        elif new is BreakerState.CLOSED:
            self._consecutive_opens = 0
        self._listener.breaker_state(self.name, old.value, new.value)

    def _reject(self, remaining_s: float | None) -> CircuitOpenError:
        self._listener.breaker_call(self.name, "rejected", 0.0)
        return CircuitOpenError(self.name, self._state.value, remaining_s)

    def acquire(self, now: float) -> int:
        """Ask to make a call at time ``now``; returns a permit to hand back with the outcome.

        Raises:
            CircuitOpenError: the breaker is open, forced open, or half-open with every probe taken.
        """
        with self._lock:
            state = self._state
            if state is BreakerState.OPEN:
                if now < self._open_until:
                    raise self._reject(self._open_until - now)
                self._move(BreakerState.HALF_OPEN, now)
                state = BreakerState.HALF_OPEN
            if state is BreakerState.HALF_OPEN:
                limit = self.policy.half_open_calls
                if self._probes_started >= limit or self._probes_running >= limit:
                    raise self._reject(0.0)
                self._probes_started += 1
                self._probes_running += 1
                return self._epoch << 1 | 1
            if state is BreakerState.FORCED_OPEN:
                raise self._reject(None)
            return self._epoch << 1

    def _forget_permit(self, permit: int) -> None:
        """A permitted call ended uncounted (disposed, or an ignored error)."""
        with self._lock:
            if permit & 1:
                self._probes_running -= 1
                if permit >> 1 == self._epoch and self._state is BreakerState.HALF_OPEN:
                    self._probes_started -= 1

    def release(self, permit: int) -> None:
        """A permitted call was disposed before it ended: it counts for nothing and frees its probe slot."""
        self._forget_permit(permit)

    def on_success(self, permit: int, now: float, duration_s: float) -> None:
        """A permitted call completed at ``now`` after ``duration_s``."""
        self._record(permit, now, duration_s, failed=False, outcome="success")

    def on_error(self, permit: int, now: float, duration_s: float, error: Exception) -> None:
        """A permitted call failed with ``error`` at ``now`` after ``duration_s``."""
        p = self.policy
        if p.ignore(error):
            self._forget_permit(permit)
            if self._state is not BreakerState.DISABLED:
                self._listener.breaker_call(self.name, "ignored", duration_s)
            return
        failed = p.record(error)
        self._record(permit, now, duration_s, failed=failed, outcome="failure" if failed else "success")

    def _record(self, permit: int, now: float, duration_s: float, *, failed: bool, outcome: str) -> None:
        p = self.policy
        slow = duration_s >= p.slow_call_duration_s
        with self._lock:
            if permit & 1:
                self._probes_running -= 1
            state = self._state
            if state is BreakerState.DISABLED:
                return
            self._listener.breaker_call(self.name, "slow" if slow and not failed else outcome, duration_s)
            if permit >> 1 != self._epoch:
                return
            if state is BreakerState.CLOSED:
                self._window.record(now, failed=failed, slow=slow)
                calls, failures, slows = self._window.counts(now)
                if calls >= p.minimum_calls and (
                    _reaches(failures, calls, self._failure_limit) or _reaches(slows, calls, self._slow_limit)
                ):
                    self._open(now, calls, failures, slows)
            elif state is BreakerState.HALF_OPEN:
                self._probes_ended += 1
                self._probes_slow += slow
                ended, slows = self._probes_ended, self._probes_slow
                if failed:
                    self._open(now, ended, 1, slows)  # the first failure reopens it
                elif ended >= p.half_open_calls:
                    if _reaches(slows, ended, self._slow_limit):
                        self._open(now, ended, 0, slows)
                    else:
                        self._move(BreakerState.CLOSED, now)

    def force_open(self, now: float = 0.0) -> None:
        """Reject every call until :meth:`reset`."""
        with self._lock:
            if self._state is not BreakerState.FORCED_OPEN:
                self._move(BreakerState.FORCED_OPEN, now)

    def disable(self, now: float = 0.0) -> None:
        """Let every call through and judge none until :meth:`reset`."""
        with self._lock:
            if self._state is not BreakerState.DISABLED:
                self._move(BreakerState.DISABLED, now)

    def reset(self, now: float = 0.0) -> None:
        """Close the breaker and forget every outcome and every past opening."""
        with self._lock:
            # moving to CLOSED forgets past openings; while CLOSED there are none to forget
            if self._state is not BreakerState.CLOSED:
                self._move(BreakerState.CLOSED, now)
            self._window.clear()
