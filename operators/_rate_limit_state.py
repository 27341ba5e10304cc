"""The rate limiter's policy and its shared token bucket (first come, first served)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from operators._clock import check, finite
from operators._listener import NULL_LISTENER, ResilienceListener
from operators._shared_limits import SharedLimits, TokenGrant
from operators.errors import RateLimitedError

__all__ = ["RateLimitPolicy", "TokenBucket"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitPolicy:
    """A token bucket: ``burst`` tokens at most, refilled at ``rate_per_s``.

    Attributes:
        rate_per_s: tokens added per second.
        burst: the bucket's size (and its content at start); no call may cost more.
        mode: ``wait`` delays a call until its tokens are there (up to ``max_wait_s``);
            ``reject`` fails it at once when they are not.
        max_wait_s: the longest a call may wait in ``wait`` mode before ``RateLimitedError``.
    """

    rate_per_s: float = 1.0
    burst: float = 5.0
    mode: Literal["wait", "reject"] = "wait"
    max_wait_s: float = 30.0

    def __post_init__(self) -> None:
        w = "RateLimitPolicy"
        check(finite(self.rate_per_s) and self.rate_per_s > 0, f"{w}.rate_per_s", "a number > 0", self.rate_per_s)
        check(finite(self.burst) and self.burst >= 1, f"{w}.burst", "a number >= 1", self.burst)
        check(self.mode in ("wait", "reject"), f"{w}.mode", "'wait' or 'reject'", self.mode)
        check(finite(self.max_wait_s) and self.max_wait_s >= 0, f"{w}.max_wait_s", "seconds >= 0", self.max_wait_s)


class TokenBucket:
    """Tokens shared by every call to one backend.

    A call *reserves* its tokens when it arrives: if they are not all there, the bucket
    goes into debt and the call is told how long to wait until the debt is paid back.
    Later calls queue behind that debt, so calls are served in arrival order and a heavy
    call is not starved by light ones.

    With ``shared`` the tokens live in a store shared with other processes (``rate_limit`` asks
    it first); the bucket kept here is this process's share of the policy
    (:meth:`SharedLimits.local_rate`), used only while the store is down.
    """

    def __init__(
        self,
        policy: RateLimitPolicy | None = None,
        *,
        name: str = "rate_limit",
        listener: ResilienceListener = NULL_LISTENER,
        shared: SharedLimits | None = None,
    ) -> None:
        self.policy = policy if policy is not None else RateLimitPolicy()
        self.name = name
        self.shared = shared
        self.local_policy = shared.local_rate(self.policy) if shared is not None else self.policy
        """What this process's own tokens follow: the policy, or its share of it when shared."""
        self._listener = listener
        self._lock = threading.Lock()
        self._tokens = float(self.local_policy.burst)
        self._last: float | None = None  # set by the first call: the bucket starts full then

    def _refill(self, now: float) -> None:
        last = self._last
        if last is not None and now > last:
            p = self.local_policy
            self._tokens = min(p.burst, self._tokens + (now - last) * p.rate_per_s)
        if last is None or now > last:
            self._last = now

    def available(self, now: float) -> float:
        """Free tokens at ``now`` (0 while calls wait for theirs)."""
        with self._lock:
            self._refill(now)
            return max(0.0, self._tokens)

    def reserve(self, now: float, cost: float = 1.0) -> float:
        """Take ``cost`` tokens for a call arriving at ``now``; returns how long it must wait first.

        Raises:
            RateLimitedError: the wait would exceed ``max_wait_s`` (or any wait, in ``reject`` mode).
        """
        p = self.local_policy
        with self._lock:
            self._refill(now)
            wait = 0.0 if self._tokens >= cost else (cost - self._tokens) / p.rate_per_s
            allowed = p.max_wait_s if p.mode == "wait" else 0.0
            if wait > allowed:
                self._listener.rate_limit_rejected(self.name)
                raise RateLimitedError(self.name, cost, wait, allowed)
            self._tokens -= cost
            tokens = max(0.0, self._tokens)
        self._listener.rate_limit_waited(self.name, wait)
        self._listener.tokens_available(self.name, tokens)
        return wait

    def refund(self, now: float, cost: float = 1.0) -> None:
        """Give back the tokens of a call that was disposed while it waited."""
        with self._lock:
            self._refill(now)
            self._tokens = min(self.local_policy.burst, self._tokens + cost)
            tokens = max(0.0, self._tokens)
        self._listener.tokens_available(self.name, tokens)

    def allowed_wait_s(self) -> float:
        """The longest wait a call may be given: ``max_wait_s`` in ``wait`` mode, 0 in ``reject`` mode."""
        return self.policy.max_wait_s if self.policy.mode == "wait" else 0.0

    def granted(self, grant: TokenGrant, cost: float) -> float:
        """Report the shared store's answer like :meth:`reserve` reports its own; returns the wait.

        Raises:
            RateLimitedError: the store refused the tokens.
        """
        if not grant.granted:
            self._listener.rate_limit_rejected(self.name)
            raise RateLimitedError(self.name, cost, grant.wait_s, self.allowed_wait_s())
        self._listener.rate_limit_waited(self.name, grant.wait_s)
        self._listener.tokens_available(self.name, grant.tokens)
        return grant.wait_s

    def told(self, tokens: float) -> None:
        """The shared store holds ``tokens`` free tokens now (after a refund)."""
        self._listener.tokens_available(self.name, tokens)
