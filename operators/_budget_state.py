"""The call budget's policy and shared state: at most N calls per window or until the next reset."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from operators._clock import check, finite
from operators._listener import NULL_LISTENER, ResilienceListener
from operators._window import micros
from operators.errors import BudgetExceededError

__all__ = ["BudgetPolicy", "CallBudget"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetPolicy:
    """How many calls may be spent.

    Attributes:
        max_calls: calls allowed per window.
        window_s: a sliding window in seconds (at most ``max_calls`` in any ``window_s``), or
            ``None``: the budget lasts until :meth:`CallBudget.reset` (the mind resets it on
            each heavy tick).
    """

    max_calls: int = 120
    window_s: float | None = 3600.0

    def __post_init__(self) -> None:
        w = "BudgetPolicy"
        check(
            isinstance(self.max_calls, int) and self.max_calls >= 1, f"{w}.max_calls", "an integer >= 1", self.max_calls
        )
        check(
            self.window_s is None or (finite(self.window_s) and self.window_s > 0),
            f"{w}.window_s",
            "seconds > 0, or None for 'until reset'",
            self.window_s,
        )


class CallBudget:
    """Calls spent in the current window, shared by every call it limits."""

    def __init__(
        self, policy: BudgetPolicy | None = None, *, name: str = "budget", listener: ResilienceListener = NULL_LISTENER
    ) -> None:
        self.policy = policy if policy is not None else BudgetPolicy()
        self.name = name
        self._listener = listener
        self._lock = threading.Lock()
        self._spent: deque[tuple[int, int]] = deque()  # (microseconds, cost)
        self._total = 0

    def _forget(self, now: float) -> None:
        window = self.policy.window_s
        if window is None:
            return
        # in whole microseconds, so a call made at 6.2 has left a 10 s window at 16.2
        horizon = micros(now) - micros(window)
        while self._spent and self._spent[0][0] <= horizon:
            self._total -= self._spent.popleft()[1]

    def _free_in(self, now: float, cost: int) -> float | None:
        """Seconds until ``cost`` calls are free again (the oldest spent calls leave the window)."""
        window = self.policy.window_s
        if window is None:
            return None
        needed = self._total + cost - self.policy.max_calls
        for at, spent in self._spent:
            needed -= spent
            if needed <= 0:
                return max(0.0, at + window - now)
        return window

    def remaining(self, now: float) -> int:
        """Calls left at ``now``."""
        with self._lock:
            self._forget(now)
            return self.policy.max_calls - self._total

    def spend(self, now: float, cost: int = 1) -> int:
        """Spend ``cost`` calls at ``now``; returns what remains.

        Raises:
            BudgetExceededError: fewer than ``cost`` calls remain (nothing is spent).
        """
        p = self.policy
        with self._lock:
            self._forget(now)
            if self._total + cost > p.max_calls:
                remaining = p.max_calls - self._total
                self._listener.budget_rejected(self.name)
                self._listener.budget_remaining(self.name, remaining)
                raise BudgetExceededError(self.name, p.max_calls, p.window_s, self._free_in(now, cost))
            if p.window_s is not None:  # until a reset, only the total matters
                self._spent.append((micros(now), cost))
            self._total += cost
            remaining = p.max_calls - self._total
        self._listener.budget_remaining(self.name, remaining)
        return remaining

    def reset(self) -> None:
        """Start a new window with the whole budget."""
        with self._lock:
            self._spent.clear()
            self._total = 0
        self._listener.budget_remaining(self.name, self.policy.max_calls)
