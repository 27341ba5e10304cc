"""The call budget's policy and shared state: at most N calls per window or until the next reset."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from operators._clock import check, finite
from operators._listener import NULL_LISTENER, ResilienceListener
from operators._shared_limits import CallGrant, SharedLimits, ignore
from operators._window import micros
from operators.errors import BudgetExceededError
from streams import subscribe_inner

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
    """Calls spent in the current window, shared by every call it limits.

    With ``shared`` the calls are counted in a store shared with other processes (``budget`` asks
    it first); the count kept here is this process's share of the policy
    (:meth:`SharedLimits.local_budget`), used only while the store is down.
    """

    def __init__(
        self,
        policy: BudgetPolicy | None = None,
        *,
        name: str = "budget",
        listener: ResilienceListener = NULL_LISTENER,
        shared: SharedLimits | None = None,
    ) -> None:
        self.policy = policy if policy is not None else BudgetPolicy()
        self.name = name
        self.shared = shared
        self.local_policy = shared.local_budget(self.policy) if shared is not None else self.policy
        """What this process's own count follows: the policy, or its share of it when shared."""
        self._listener = listener
        self._lock = threading.Lock()
        self._spent: deque[tuple[int, int]] = deque()  # (microseconds, cost)
        self._total = 0
        self._shared_remaining = self.policy.max_calls

    def _forget(self, now: float) -> None:
        window = self.local_policy.window_s
        if window is None:
            return
        # in whole microseconds, so a call made at 6.2 has left a 10 s window at 16.2
        horizon = micros(now) - micros(window)
        while self._spent and self._spent[0][0] <= horizon:
            self._total -= self._spent.popleft()[1]

    def _free_in(self, now: float, cost: int) -> float | None:
        """Seconds until ``cost`` calls are free again (the oldest spent calls leave the window)."""
        window = self.local_policy.window_s
        if window is None:
            return None
        needed = self._total + cost - self.local_policy.max_calls
        for at, spent in self._spent:
            needed -= spent
            if needed <= 0:
                return max(0.0, at / 1_000_000 + window - now)  # ``at`` is in microseconds
        return window

    def remaining(self, now: float) -> int:
        """Calls left at ``now`` (when shared: what the store said last, or this process's share while it is down)."""
        with self._lock:
            if self.shared is not None and self.shared.shared:
                return self._shared_remaining
            self._forget(now)
            return self.local_policy.max_calls - self._total

    def spend(self, now: float, cost: int = 1) -> int:
        """Spend ``cost`` calls at ``now``; returns what remains.

        Raises:
            BudgetExceededError: fewer than ``cost`` calls remain (nothing is spent).
        """
        p = self.local_policy
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

    def granted(self, grant: CallGrant) -> int:
        """Report the shared store's answer like :meth:`spend` reports its own; returns what remains.

        Raises:
            BudgetExceededError: the store refused the calls.
        """
        with self._lock:
            self._shared_remaining = grant.remaining
        if not grant.granted:
            self._listener.budget_rejected(self.name)
            self._listener.budget_remaining(self.name, grant.remaining)
            raise BudgetExceededError(self.name, self.policy.max_calls, self.policy.window_s, grant.free_in_s)
        self._listener.budget_remaining(self.name, grant.remaining)
        return grant.remaining

    def reset(self) -> None:
        """Start a new window with the whole budget: here, and in the shared store when there is one.

        The store is asked on its own (call this on the event loop); a failure is reported
        (``limits_store_failed``, operation ``reset_calls``) and leaves the shared count as it was.
        """
        with self._lock:
            self._spent.clear()
            self._total = 0
            self._shared_remaining = self.policy.max_calls
        shared = self.shared
        if shared is not None:

            def failed(error: Exception) -> None:
                shared.listener.limits_store_failed(shared.name, "reset_calls", error)

            reset = shared.enter(lambda: shared.store.reset_calls(self.name, self.policy))
            subscribe_inner(reset, ignore, failed, _nothing, None)
        self._listener.budget_remaining(self.name, self.policy.max_calls if shared else self.local_policy.max_calls)


def _nothing() -> None:
    return None
