"""Limits shared beyond this process: the token bucket and the call budget in a store, behind a small Protocol.

The operators never do I/O, so the store is handed in (``service/`` builds one over Redis), like
the cache's second tier is. Its coroutines enter a call's stream through ``enter``
(``streams.from_coroutine`` by default), so disposing a call cancels its request.

While the store answers, every instance takes its tokens and spends its calls there, so N
instances together keep one limit. When it fails (unreachable, too slow), the call is decided at
once on this process's own bucket and budget, sized to a share of the limit (the limit divided by
``instances``), and the store is asked again only every ``retry_interval_s``: one call then is the
probe, the others stay local until it answers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from operators._clock import check, finite
from operators._listener import NULL_LISTENER, ResilienceListener
from operators._shared_store import Enter
from streams import from_coroutine

if TYPE_CHECKING:
    from operators._budget_state import BudgetPolicy
    from operators._rate_limit_state import RateLimitPolicy

__all__ = ["CallGrant", "LimitStore", "SharedLimits", "SharedLimitsPolicy", "TokenGrant"]


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """The store's answer to a call asking for tokens.

    Attributes:
        granted: the tokens were taken (the call waits ``wait_s`` first); else nothing was taken.
        wait_s: the wait for the tokens (for a refused call: the wait it would have had).
        tokens: the bucket's free tokens after the answer (0 while calls wait for theirs).
    """

    granted: bool
    wait_s: float
    tokens: float


@dataclass(frozen=True, slots=True)
class CallGrant:
    """The store's answer to a call spending from the budget.

    Attributes:
        granted: the calls were spent; else nothing was.
        remaining: calls left after the answer.
        free_in_s: for a refused call, seconds until enough calls are free again (``None``: until a reset).
    """

    granted: bool
    remaining: int
    free_in_s: float | None


class LimitStore(Protocol):
    """Token buckets and call budgets by name, shared by every process that uses the same store.

    Each method decides atomically in the store, on the store's own clock (instances whose clocks
    differ share one bucket), and must end (return or raise) within the store's own time limit.
    Whatever it raises means "the store is down": the call is decided locally instead.
    """

    async def take_tokens(self, name: str, policy: RateLimitPolicy, cost: float) -> TokenGrant:
        """Take ``cost`` tokens when the wait for them is within what ``policy`` allows; else take nothing."""
        ...

    async def give_tokens(self, name: str, policy: RateLimitPolicy, cost: float) -> float:
        """Give back ``cost`` tokens of a call that never reached the backend; returns the free tokens."""
        ...

    async def spend_calls(self, name: str, policy: BudgetPolicy, cost: int) -> CallGrant:
        """Spend ``cost`` calls when that many remain in the window; else spend nothing."""
        ...

    async def reset_calls(self, name: str, policy: BudgetPolicy) -> None:
        """Start a new window with the whole budget."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedLimitsPolicy:
    """How the shared limits fall back.

    Attributes:
        instances: how many processes share the limits; while the store is down each keeps
            ``1/instances`` of them (rate and burst divided, the budget divided and rounded
            down, at least 1 call and 1 token).
        retry_interval_s: while the store is down, how long calls stay local before one asks it again.
    """

    instances: int = 1
    retry_interval_s: float = 5.0

    def __post_init__(self) -> None:
        w = "SharedLimitsPolicy"
        check(
            isinstance(self.instances, int) and not isinstance(self.instances, bool) and self.instances >= 1,
            f"{w}.instances",
            "an integer >= 1",
            self.instances,
        )
        check(
            finite(self.retry_interval_s) and self.retry_interval_s > 0,
            f"{w}.retry_interval_s",
            "seconds > 0",
            self.retry_interval_s,
        )


class SharedLimits:
    """The store of the shared limits, and whether it answers (the state of an outage).

    Build one per backend and give it to the :class:`TokenBucket` and the :class:`CallBudget` that
    protect that backend; they then ask the store first. Every method runs on the event loop.

    Reports to ``listener``: ``limits_state(name, "local")`` when an outage begins and
    ``limits_state(name, "shared")`` when it ends (once each per outage), every failed request
    (``limits_store_failed``) and every call decided locally while the store is down
    (``limits_fallback``).

    Args:
        store: where the limits live.
        policy: the instance count and the retry interval.
        name: the name in reports.
        listener: told of the outage.
        enter: how the store's coroutines enter the stream (disposal cancels them).
    """

    def __init__(
        self,
        store: LimitStore,
        policy: SharedLimitsPolicy | None = None,
        *,
        name: str = "shared_limits",
        listener: ResilienceListener = NULL_LISTENER,
        enter: Enter = from_coroutine,
    ) -> None:
        self.store = store
        self.policy = policy if policy is not None else SharedLimitsPolicy()
        self.name = name
        self.listener = listener
        self.enter = enter
        self.down_since: float | None = None
        self._retry_at = 0.0
        self._probing = False

    @property
    def shared(self) -> bool:
        """Whether the store answered last (no outage)."""
        return self.down_since is None

    def ask(self, now: float) -> bool:
        """Whether a call arriving at ``now`` asks the store; when not, it is counted as decided locally.

        During an outage only one call asks, once ``retry_interval_s`` has passed since the last
        failure; until it is answered the others stay local.
        """
        if self.down_since is None:
            return True
        if not self._probing and now >= self._retry_at:
            self._probing = True
            return True
        return False

    def fell_back(self, limit: str) -> None:
        """A call was decided by ``limit`` (``rate_limit`` or ``budget``) locally, the store being down."""
        self.listener.limits_fallback(self.name, limit)

    def failed(self, now: float, operation: str, error: Exception) -> None:
        """A request to the store failed at ``now``: an outage begins (or goes on)."""
        self._probing = False
        self._retry_at = now + self.policy.retry_interval_s
        self.listener.limits_store_failed(self.name, operation, error)
        if self.down_since is None:
            self.down_since = now
            self.listener.limits_state(self.name, "local")

    def answered(self) -> None:
        """The store answered: an outage, if any, is over."""
        self._probing = False
        if self.down_since is not None:
            self.down_since = None
            self.listener.limits_state(self.name, "shared")

    def abandoned(self) -> None:
        """A call disposed while it asked the store: if it was the probe, the next call may probe."""
        self._probing = False

    def local_rate(self, policy: RateLimitPolicy) -> RateLimitPolicy:
        """This process's share of a rate limit: rate and burst divided by ``instances`` (burst at least 1)."""
        n = self.policy.instances
        return dataclasses.replace(policy, rate_per_s=policy.rate_per_s / n, burst=max(1.0, policy.burst / n))

    def local_budget(self, policy: BudgetPolicy) -> BudgetPolicy:
        """This process's share of a budget: ``max_calls // instances`` (at least 1) in the same window."""
        return dataclasses.replace(policy, max_calls=max(1, policy.max_calls // self.policy.instances))


def ignore(_: Any) -> None:
    """An observer callback that keeps nothing (a request whose answer only its side effects matter)."""
    return None
