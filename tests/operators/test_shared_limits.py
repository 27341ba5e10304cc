"""rate_limit and budget with a shared limit store, in virtual time: one limit for two processes, the store's
answers reported like local ones, and an outage decided at once on this process's share, then shared again."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import TestScheduler
from reactivex.testing.coldobservable import ColdObservable

from operators import (
    BudgetExceededError,
    BudgetPolicy,
    CallBudget,
    RateLimitedError,
    RateLimitPolicy,
    RecordingListener,
    SharedLimits,
    SharedLimitsPolicy,
    TokenBucket,
    budget,
    rate_limit,
    refund_tokens,
)
from tests.operators.operator_support import on_completed, on_next, subscribe, timed_values
from tests.operators.policy_shape import assert_policy_rejects, assert_policy_shape
from tests.operators.shared_limits_support import FakeLimitStore, on_virtual_time

RATE = RateLimitPolicy(rate_per_s=1.0, burst=2.0)


class World:
    """One store and ``processes`` SharedLimits (each its own outage state, as separate processes have)."""

    def __init__(
        self, processes: int = 1, *, latency: int = 0, instances: int = 2, retry_interval_s: float = 10.0
    ) -> None:
        self.scheduler = TestScheduler()
        self.store = FakeLimitStore(self.scheduler)
        self.listener = RecordingListener()
        policy = SharedLimitsPolicy(instances=instances, retry_interval_s=retry_interval_s)
        enter = on_virtual_time(self.scheduler, latency)
        self.limits = [
            SharedLimits(self.store, policy, name="llm", listener=self.listener, enter=enter) for _ in range(processes)
        ]

    def bucket(self, i: int = 0, policy: RateLimitPolicy = RATE) -> TokenBucket:
        return TokenBucket(policy, name="llm", listener=self.listener, shared=self.limits[i])

    def budget(self, i: int = 0, policy: BudgetPolicy | None = None) -> CallBudget:
        chosen = policy if policy is not None else BudgetPolicy(max_calls=3, window_s=100.0)
        return CallBudget(chosen, name="llm", listener=self.listener, shared=self.limits[i])

    def run(
        self, arrivals: list[tuple[int, Any]], disposed: int = 1000
    ) -> tuple[list[tuple[float, Any]], list[ColdObservable[str]]]:
        """Each arrival ``(tick, layer)`` subscribes one call through ``layer``; errors become ``!Name``."""
        calls = [
            self.scheduler.create_cold_observable(on_next(0, f"r{i}"), on_completed(0)) for i in range(len(arrivals))
        ]
        triggers = self.scheduler.create_hot_observable(*[on_next(t, i) for i, (t, _) in enumerate(arrivals)])

        def one(i: int) -> Observable[Any]:
            return calls[i].pipe(arrivals[i][1], ops.catch(lambda e, _: reactivex.of(f"!{type(e).__name__}")))

        results = self.scheduler.start(lambda: triggers.pipe(ops.flat_map(one)), disposed=disposed)
        return timed_values(results.messages), calls


def test_two_processes_share_one_bucket() -> None:
    world = World(processes=2)
    first, second = world.bucket(0), world.bucket(1)
    layers = [rate_limit(first), rate_limit(second)]
    seen, calls = world.run([(210, layers[i % 2]) for i in range(6)])
    # one bucket of 2 and 1 token/s for both: 2 at once, then one a second, whoever asks
    assert [c.subscriptions for c in calls] == [[subscribe(t, t)] for t in (210, 210, 211, 212, 213, 214)]
    assert seen == [(t, f"r{i}") for i, t in enumerate((210, 210, 211, 212, 213, 214))]
    assert world.store.operations() == ["take_tokens"] * 6
    assert world.listener.of("rate_limit_waited") == [("llm", w) for w in (0.0, 0.0, 1.0, 2.0, 3.0, 4.0)]
    assert world.listener.of("limits_fallback") == []


def test_the_stores_refusal_is_a_rate_limited_error_and_never_subscribes() -> None:
    world = World()
    bucket = world.bucket(policy=RateLimitPolicy(rate_per_s=1.0, burst=2.0, mode="reject"))
    seen, calls = world.run([(210, rate_limit(bucket))] * 3)
    assert seen == [(210, "r0"), (210, "r1"), (210, "!RateLimitedError")]
    assert calls[2].subscriptions == []
    assert world.listener.of("rate_limit_rejected") == [("llm",)]


def test_wait_mode_refuses_a_wait_beyond_max_wait_and_takes_nothing() -> None:
    world = World()
    bucket = world.bucket(policy=RateLimitPolicy(rate_per_s=1.0, burst=1.0, max_wait_s=1.5))
    seen, _ = world.run([(210, rate_limit(bucket))] * 3 + [(212, rate_limit(bucket))])
    # r1 waits 1 s; r2 would wait 2 s and is refused without taking; r3 at 212 finds its token
    assert seen == [(210, "r0"), (210, "!RateLimitedError"), (211, "r1"), (212, "r3")]


def test_the_store_is_asked_asynchronously_and_its_latency_is_part_of_the_call() -> None:
    world = World(latency=3)
    seen, calls = world.run([(210, rate_limit(world.bucket()))])
    assert calls[0].subscriptions == [subscribe(213, 213)]
    assert seen == [(213, "r0")]


def test_an_outage_decides_at_once_on_the_divided_limit_and_is_reported_once() -> None:
    world = World(instances=2, retry_interval_s=10.0)
    world.store.error = ConnectionRefusedError("refused")
    bucket = world.bucket(policy=RateLimitPolicy(rate_per_s=1.0, burst=4.0))
    seen, calls = world.run([(210, rate_limit(bucket))] * 4)
    # this process's share: burst 2, 0.5 token/s; the first call found out and went on at once
    assert [c.subscriptions for c in calls] == [[subscribe(t, t)] for t in (210, 210, 212, 214)]
    assert world.store.operations() == ["take_tokens"]  # only the first asked: the others knew
    assert world.listener.of("limits_state") == [("llm", "local")]
    assert [r[:2] for r in world.listener.of("limits_store_failed")] == [("llm", "take_tokens")]
    assert world.listener.of("limits_fallback") == [("llm", "rate_limit")] * 4
    assert world.limits[0].down_since == 210
    assert seen[-1] == (214, "r3")


def test_after_the_retry_interval_one_call_asks_again_and_the_limit_is_shared_again() -> None:
    world = World(retry_interval_s=10.0)
    world.store.error = ConnectionRefusedError("refused")
    bucket = world.bucket(policy=RateLimitPolicy(rate_per_s=10.0, burst=10.0))
    world.scheduler.schedule_absolute(215, lambda *_: setattr(world.store, "error", None))
    arrivals = [(210, rate_limit(bucket)), (215, rate_limit(bucket)), (219, rate_limit(bucket))]
    arrivals += [(220, rate_limit(bucket)), (221, rate_limit(bucket))]
    seen, _ = world.run(arrivals)
    assert len(seen) == 5
    # 210 fails; 215 and 219 stay local (the retry is due at 220); 220 asks and is answered; 221 shared
    assert world.store.requests == [(210, "take_tokens"), (220, "take_tokens"), (221, "take_tokens")]
    assert world.listener.of("limits_state") == [("llm", "local"), ("llm", "shared")]
    assert world.listener.of("limits_fallback") == [("llm", "rate_limit")] * 3
    assert world.limits[0].shared


def test_a_failed_probe_waits_another_interval() -> None:
    world = World(retry_interval_s=10.0)
    world.store.error = TimeoutError("no answer")
    bucket = world.bucket(policy=RateLimitPolicy(rate_per_s=10.0, burst=10.0))
    world.run([(t, rate_limit(bucket)) for t in (210, 220, 225, 230)])
    assert world.store.requests == [(210, "take_tokens"), (220, "take_tokens"), (230, "take_tokens")]
    assert world.listener.of("limits_state") == [("llm", "local")]  # one outage, told once


def test_while_the_probe_is_out_other_calls_stay_local() -> None:
    world = World(latency=5, retry_interval_s=10.0)
    world.store.error = ConnectionRefusedError("refused")
    bucket = world.bucket(policy=RateLimitPolicy(rate_per_s=10.0, burst=10.0))
    world.scheduler.schedule_absolute(216, lambda *_: setattr(world.store, "error", None))
    seen, calls = world.run([(t, rate_limit(bucket)) for t in (210, 221, 228, 230, 234)])
    # 210 asks and fails at 215 (then goes local); 221 is local (the retry is due at 225); 228 is the
    # probe, answered at 233; 230 stays local meanwhile; 234 asks the store again
    assert world.store.requests == [(215, "take_tokens"), (233, "take_tokens"), (239, "take_tokens")]
    assert [c.subscriptions for c in calls] == [[subscribe(t, t)] for t in (215, 221, 233, 230, 239)]
    assert world.listener.of("limits_fallback") == [("llm", "rate_limit")] * 3
    assert world.listener.of("limits_state") == [("llm", "local"), ("llm", "shared")]
    assert len(seen) == 5


def test_disposal_while_waiting_gives_the_tokens_back_to_the_store() -> None:
    world = World()
    bucket = world.bucket(policy=RateLimitPolicy(rate_per_s=0.1, burst=1.0))
    _, calls = world.run([(210, rate_limit(bucket)), (210, rate_limit(bucket))], disposed=212)
    assert calls[1].subscriptions == []
    assert world.store.operations() == ["take_tokens", "take_tokens", "give_tokens"]
    # r1 took the bucket 1 token into debt; its refund at 212 clears that debt (0.2 refilled since)
    assert world.store.buckets["llm"].available(212.0) == pytest.approx(0.2)


def test_disposal_while_asking_cancels_the_request_and_lets_the_next_call_probe() -> None:
    world = World(latency=5, retry_interval_s=1.0)
    limits = world.limits[0]
    limits.failed(200.0, "take_tokens", ConnectionRefusedError("refused"))
    bucket = world.bucket()
    _, calls = world.run([(210, rate_limit(bucket))], disposed=212)
    assert calls[0].subscriptions == []
    assert world.store.requests == []  # the request never ran
    assert limits.ask(213.0)  # the disposed probe does not hold the next one back


def test_a_shared_bucket_holds_this_processes_share_for_an_outage() -> None:
    world = World(instances=4)
    bucket = world.bucket(policy=RateLimitPolicy(rate_per_s=8.0, burst=2.0, mode="reject", max_wait_s=3.0))
    assert bucket.policy == RateLimitPolicy(rate_per_s=8.0, burst=2.0, mode="reject", max_wait_s=3.0)
    assert bucket.local_policy == RateLimitPolicy(rate_per_s=2.0, burst=1.0, mode="reject", max_wait_s=3.0)


def test_two_processes_share_one_budget_exactly() -> None:
    world = World(processes=2)
    first, second = world.budget(0), world.budget(1)
    seen, calls = world.run([(210 + i, budget(first if i % 2 else second)) for i in range(5)])
    assert [v for _, v in seen] == ["r0", "r1", "r2", "!BudgetExceededError", "!BudgetExceededError"]
    assert [bool(c.subscriptions) for c in calls] == [True, True, True, False, False]
    assert world.listener.of("budget_remaining") == [("llm", n) for n in (2, 1, 0, 0, 0)]
    assert len(world.listener.of("budget_rejected")) == 2
    assert first.remaining(215.0) == 0 and second.remaining(215.0) == 0


def test_a_shared_refusal_says_when_a_call_is_free_again() -> None:
    world = World()
    calls_budget = world.budget(policy=BudgetPolicy(max_calls=1, window_s=50.0))
    errors: list[Exception] = []

    def keep(e: Exception, _: Any) -> Observable[str]:
        errors.append(e)
        return reactivex.empty()

    arrivals = [(210, budget(calls_budget)), (230, reactivex.compose(budget(calls_budget), ops.catch(keep)))]
    world.run(arrivals)
    assert isinstance(errors[0], BudgetExceededError)
    assert errors[0].free_in_s == pytest.approx(30.0)
    assert errors[0].max_calls == 1


def test_a_budget_outage_spends_this_processes_share() -> None:
    world = World(instances=2)
    world.store.error = ConnectionResetError("reset")
    calls_budget = world.budget(policy=BudgetPolicy(max_calls=5, window_s=100.0))
    assert calls_budget.local_policy.max_calls == 2
    seen, _ = world.run([(210 + i, budget(calls_budget)) for i in range(4)])
    assert [v for _, v in seen] == ["r0", "r1", "!BudgetExceededError", "!BudgetExceededError"]
    assert world.store.operations() == ["spend_calls"]
    assert world.listener.of("limits_fallback") == [("llm", "budget")] * 4
    assert calls_budget.remaining(220.0) == 0


def test_refund_tokens_returns_a_refused_tries_tokens_to_the_store() -> None:
    world = World(processes=1)
    bucket = world.bucket(policy=RateLimitPolicy(rate_per_s=0.001, burst=2.0))
    spent = world.budget(policy=BudgetPolicy(max_calls=1, window_s=100.0))
    layer = reactivex.compose(budget(spent), refund_tokens(bucket), rate_limit(bucket))
    seen, _ = world.run([(210, layer), (211, layer)])
    assert [v for _, v in seen] == ["r0", "!BudgetExceededError"]
    # the second try's token went back: one of two is left (r0's)
    assert world.store.operations() == ["take_tokens", "spend_calls", "take_tokens", "spend_calls", "give_tokens"]
    assert world.store.buckets["llm"].available(212.0) == pytest.approx(1.0, abs=0.01)


def test_reset_resets_the_shared_budget_too() -> None:
    world = World(processes=2)
    first, second = world.budget(0), world.budget(1)
    world.scheduler.schedule_absolute(250, lambda *_: first.reset())
    seen, _ = world.run([(210, budget(first))] * 3 + [(240, budget(second)), (260, budget(second))])
    assert [v for _, v in seen] == ["r0", "r1", "r2", "!BudgetExceededError", "r4"]
    assert world.store.operations() == ["spend_calls"] * 4 + ["reset_calls", "spend_calls"]
    assert second.remaining(261.0) == 2


def test_a_failed_reset_is_reported() -> None:
    world = World()
    calls_budget = world.budget()
    world.store.error = ConnectionRefusedError("refused")
    calls_budget.reset()
    assert [r[:2] for r in world.listener.of("limits_store_failed")] == [("llm", "reset_calls")]


def test_an_answer_without_a_value_counts_as_a_failure() -> None:
    world = World()

    def empty(_factory: Any) -> Observable[Any]:
        return reactivex.empty()

    world.limits[0].enter = empty
    seen, _ = world.run([(210, rate_limit(world.bucket())), (211, budget(world.budget()))])
    assert [v for _, v in seen] == ["r0", "r1"]
    failures = world.listener.of("limits_store_failed")
    assert [f[1] for f in failures] == ["take_tokens"]  # the budget's call came after: the store was down
    assert isinstance(failures[0][2], TypeError)


def test_an_answer_of_another_type_counts_as_a_failure() -> None:
    world = World()

    def garbage(_factory: Any) -> Observable[Any]:
        return reactivex.of({"granted": True})

    world.limits[0].enter = garbage
    seen, _ = world.run([(210, budget(world.budget())), (211, rate_limit(world.bucket()))])
    assert [v for _, v in seen] == ["r0", "r1"]
    failures = world.listener.of("limits_store_failed")
    assert [f[1] for f in failures] == ["spend_calls"] and "not a CallGrant" in str(failures[0][2])


def test_rejections_keep_their_types() -> None:
    world = World()
    bucket = world.bucket(policy=RateLimitPolicy(rate_per_s=1.0, burst=1.0, mode="reject"))
    errors: list[Exception] = []

    def keep(e: Exception, _: Any) -> Observable[str]:
        errors.append(e)
        return reactivex.empty()

    layer = reactivex.compose(rate_limit(bucket), ops.catch(keep))
    world.run([(210, layer), (210, layer)])
    assert len(errors) == 1 and isinstance(errors[0], RateLimitedError)
    assert errors[0].max_wait_s == 0.0


def test_the_shared_limits_policy_is_checked() -> None:
    assert_policy_shape(SharedLimitsPolicy)
    assert_policy_rejects(
        SharedLimitsPolicy,
        [
            ({"instances": 0}, "SharedLimitsPolicy.instances: expected an integer >= 1, got 0"),
            ({"instances": True}, "SharedLimitsPolicy.instances: expected an integer >= 1, got True"),
            ({"instances": 2.0}, "SharedLimitsPolicy.instances: expected an integer >= 1, got 2.0"),
            ({"retry_interval_s": 0}, "SharedLimitsPolicy.retry_interval_s: expected seconds > 0, got 0"),
            (
                {"retry_interval_s": float("nan")},
                "SharedLimitsPolicy.retry_interval_s: expected seconds > 0, got nan",
            ),
        ],
    )
