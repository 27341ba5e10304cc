"""rate_limit: a call takes tokens from a shared :class:`TokenBucket` before it is subscribed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._clock import check, finite, now_s, pick_scheduler, schedule_after
from operators._rate_limit_state import TokenBucket
from operators._shared_limits import SharedLimits, TokenGrant
from operators.errors import RateLimitedError
from streams import NOTHING, Once, Slot, Step, subscribe_inner

__all__ = ["rate_limit"]

T = TypeVar("T")


def check_cost(bucket: TokenBucket, cost: float, operator: str) -> None:
    """Refuse a ``cost`` that is not a number in (0, burst] for ``operator`` (``rate_limit``, ``refund_tokens``).

    Raises:
        ValueError: saying which operator and bucket, what was expected and what it got.
    """
    check(
        finite(cost) and 0 < cost <= bucket.policy.burst,
        f"{operator}({bucket.name!r}).cost",
        f"a number in (0, burst={bucket.policy.burst:g}]",
        cost,
    )


def rate_limit(
    bucket: TokenBucket, *, cost: float = 1.0, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[T]], Observable[T]]:
    """Delay (or refuse) a call until ``bucket`` has ``cost`` tokens for it.

    The source is subscribed once the wait the bucket asks for has passed on the
    scheduler's clock; a call disposed while it waits gives its tokens back. When the
    bucket refuses, the stream fails with :class:`RateLimitedError` and the source is never
    subscribed.

    With a shared bucket (``bucket.shared``) the tokens are asked of the shared store first,
    asynchronously, on the store's clock; when it fails the call is decided at once on this
    process's share of the limit (see :class:`SharedLimits`).

    Args:
        bucket: the tokens shared by every call to the same backend.
        cost: tokens this call takes (a long prompt may cost more), at most the bucket's burst.
        scheduler: the clock; the subscription's scheduler when ``None``.
    """
    check_cost(bucket, cost, "rate_limit")

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            clock = pick_scheduler(scheduler, scheduler_)
            shared = bucket.shared
            if shared is None:
                return _take_here(bucket, cost, source, observer, clock, scheduler_)
            if not shared.ask(now_s(clock)):
                shared.fell_back("rate_limit")
                return _take_here(bucket, cost, source, observer, clock, scheduler_)
            return _take_shared(bucket, shared, cost, source, observer, clock, scheduler_)

        return Step(subscribe)

    return apply


def _take_here(
    bucket: TokenBucket,
    cost: float,
    source: Observable[T],
    observer: abc.ObserverBase[T],
    clock: abc.SchedulerBase,
    scheduler_: abc.SchedulerBase | None,
) -> abc.DisposableBase:
    """Take the tokens from this process's bucket, wait for them, then subscribe ``source``."""
    try:
        wait = bucket.reserve(now_s(clock), cost)
    except RateLimitedError as exc:
        observer.on_error(exc)
        return NOTHING
    if wait <= 0.0:
        return subscribe_inner(source, observer.on_next, observer.on_error, observer.on_completed, scheduler_)
    started = False
    serial = Slot()

    def start() -> None:
        nonlocal started
        started = True
        serial.set(subscribe_inner(source, observer.on_next, observer.on_error, observer.on_completed, scheduler_))

    serial.set(schedule_after(clock, wait, start))

    def dispose() -> None:
        if not started:
            bucket.refund(now_s(clock), cost)
        serial.dispose()

    return Once(dispose)


def _take_shared(
    bucket: TokenBucket,
    shared: SharedLimits,
    cost: float,
    source: Observable[T],
    observer: abc.ObserverBase[T],
    clock: abc.SchedulerBase,
    scheduler_: abc.SchedulerBase | None,
) -> abc.DisposableBase:
    """Ask the shared store for the tokens; wait as it says, then subscribe ``source``.

    A failed request decides the call on this process's bucket at once. A call disposed while it
    waits gives its tokens back to the store; one disposed while it asks cancels the request
    (tokens the store took for it then are not given back: they refill).
    """
    serial = Slot()
    answers: list[TokenGrant] = []
    phase = "asking"  # then "local", "waiting" or "running"

    def start() -> None:
        nonlocal phase
        phase = "running"
        serial.set(subscribe_inner(source, observer.on_next, observer.on_error, observer.on_completed, scheduler_))

    def on_error(error: Exception) -> None:
        nonlocal phase
        phase = "local"
        shared.failed(now_s(clock), "take_tokens", error)
        shared.fell_back("rate_limit")
        serial.set(_take_here(bucket, cost, source, observer, clock, scheduler_))

    def on_completed() -> None:
        nonlocal phase
        if not answers or not isinstance(answers[0], TokenGrant):
            on_error(TypeError(f"the limit store answered take_tokens with {answers!r}, not a TokenGrant"))
            return
        shared.answered()
        try:
            wait = bucket.granted(answers[0], cost)
        except RateLimitedError as exc:
            phase = "refused"
            observer.on_error(exc)
            return
        if wait <= 0.0:
            start()
            return
        phase = "waiting"
        serial.set(schedule_after(clock, wait, start))

    ask = shared.enter(lambda: shared.store.take_tokens(bucket.name, bucket.policy, cost))
    request = subscribe_inner(ask, answers.append, on_error, on_completed, scheduler_)
    if phase == "asking":  # a request answered at once has already moved on
        serial.set(request)

    def dispose() -> None:
        if phase == "asking":
            shared.abandoned()
        elif phase == "waiting":
            give_back(bucket, cost, clock, scheduler_, shared_tokens=True)
        serial.dispose()

    return Once(dispose)


def give_back(
    bucket: TokenBucket,
    cost: float,
    clock: abc.SchedulerBase,
    scheduler_: abc.SchedulerBase | None,
    *,
    shared_tokens: bool,
) -> None:
    """Return ``cost`` tokens of a call that never reached the backend to where they were taken.

    ``shared_tokens``: they came from the shared store (while it answers, they are returned there;
    the request runs on its own, and its failure counts as the store's).
    """
    shared = bucket.shared
    if shared is None or not shared_tokens or not shared.shared:
        bucket.refund(now_s(clock), cost)
        return

    def failed(error: Exception) -> None:
        shared.failed(now_s(clock), "give_tokens", error)

    refund = shared.enter(lambda: shared.store.give_tokens(bucket.name, bucket.policy, cost))
    subscribe_inner(refund, bucket.told, failed, _nothing, scheduler_)


def _nothing() -> None:
    return None
