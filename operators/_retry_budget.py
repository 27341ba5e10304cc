"""The retry budget: retries may not exceed a ratio of calls over a time window."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

from operators._clock import check, finite
from operators._window import micros

__all__ = ["RetryBudget", "RetryBudgetPolicy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryBudgetPolicy:
    """How many retries a backend may take, relative to its calls.

    Within any ``window_s``, retries may not exceed ``min_retries + ratio × calls``, so a
    failing backend sees at most ``1 + ratio`` times its normal load instead of
    ``max_attempts`` times (a retry storm).

    Attributes:
        ratio: retries allowed per call, >= 0.
        window_s: how far back calls and retries are counted.
        min_retries: retries allowed in a window however few calls it had (lets a quiet service retry).
    """

    ratio: float = 0.2
    window_s: float = 60.0
    min_retries: int = 3

    def __post_init__(self) -> None:
        w = "RetryBudgetPolicy"
        check(finite(self.ratio) and self.ratio >= 0, f"{w}.ratio", "a number >= 0", self.ratio)
        check(finite(self.window_s) and self.window_s > 0, f"{w}.window_s", "a number of seconds > 0", self.window_s)
        check(
            isinstance(self.min_retries, int) and self.min_retries >= 0,
            f"{w}.min_retries",
            "an integer >= 0",
            self.min_retries,
        )


class RetryBudget:
    """The calls and retries of the last ``window_s`` seconds, shared by every call to one backend."""

    def __init__(self, policy: RetryBudgetPolicy | None = None) -> None:
        self.policy = policy if policy is not None else RetryBudgetPolicy()
        self._lock = threading.Lock()
        self._calls: deque[int] = deque()  # in microseconds, so window edges are exact
        self._retries: deque[int] = deque()
        self._window_us = micros(self.policy.window_s)  # read on every call: converted once
        # the ratio as the decimal it is written as: 0.7 × 10 calls allow 7 retries, not 7.000000000000001
        ratio = Fraction(repr(self.policy.ratio))
        self._ratio = ratio.numerator, ratio.denominator

    def _forget(self, now: int) -> None:
        horizon = now - self._window_us
        calls, retries = self._calls, self._retries
        while calls and calls[0] <= horizon:
            calls.popleft()
        while retries and retries[0] <= horizon:
            retries.popleft()

    def record_call(self, now: float) -> None:
        """A first attempt started at ``now``."""
        at = micros(now)
        with self._lock:
            self._forget(at)
            self._calls.append(at)

    def try_spend(self, now: float) -> bool:
        """Take one retry at ``now`` if the budget allows it; False when it is spent."""
        p = self.policy
        at = micros(now)
        with self._lock:
            self._forget(at)
            numerator, denominator = self._ratio
            # retries >= min_retries + ratio × calls, in integers
            if (len(self._retries) - p.min_retries) * denominator >= numerator * len(self._calls):
                return False
            self._retries.append(at)
            return True
