"""cache with a shared store, in virtual time: the second tier is asked on a memory miss, written after a success,
and its failures are reported and survived."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import Disposable
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.coldobservable import ColdObservable
from reactivex.testing.recorded import Recorded

from operators import CachePolicy, CacheStoreError, Enter, Fallback, RecordingListener, ResponseCache, cache
from tests.operators.test_cache import answer, timed_values
from tests.support import hang_until_cancelled, until

on_next, on_error, on_completed, subscribe = (
    ReactiveTest.on_next,
    ReactiveTest.on_error,
    ReactiveTest.on_completed,
    ReactiveTest.subscribe,
)


class FakeStore:
    """A shared store in a dict; each method may be told to fail."""

    def __init__(self, entries: dict[str, tuple[Any, ...]] | None = None) -> None:
        self.entries = dict(entries or {})
        self.gets: list[str] = []
        self.sets: list[tuple[str, tuple[Any, ...], float]] = []
        self.get_error: Exception | None = None
        self.set_error: Exception | None = None

    async def get(self, key: str) -> tuple[Any, ...] | None:
        self.gets.append(key)
        if self.get_error is not None:
            raise self.get_error
        return self.entries.get(key)

    async def set(self, key: str, values: tuple[Any, ...], ttl_s: float) -> None:
        if self.set_error is not None:
            raise self.set_error
        self.sets.append((key, values, ttl_s))
        self.entries[key] = values


def on_virtual_time(scheduler: TestScheduler, latency: int) -> Enter:
    """Run a store's coroutine ``latency`` ticks after subscription (the fake never suspends)."""

    def enter(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Observable[Any]:
        def subscribe_(observer: abc.ObserverBase[Any], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            def run(_scheduler: abc.SchedulerBase, _state: Any) -> None:
                coro = factory()
                try:
                    coro.send(None)
                except StopIteration as stop:
                    observer.on_next(stop.value)
                    observer.on_completed()
                except Exception as exc:  # noqa: BLE001 - the store's failure goes down the stream
                    observer.on_error(exc)
                else:
                    coro.close()
                    raise AssertionError("the fake store suspended")

            return scheduler.schedule_relative(latency, run)

        return reactivex.create(subscribe_)

    return enter


class Run:
    def __init__(
        self,
        shared: FakeStore,
        plan: list[tuple[int, str, list[Recorded[Any]]]],
        *,
        latency: int = 2,
        disposed: int = 1000,
        policy: CachePolicy | None = None,
    ) -> None:
        scheduler = TestScheduler()
        self.listener = RecordingListener()
        self.store = ResponseCache(
            policy, name="llm", listener=self.listener, shared=shared, enter=on_virtual_time(scheduler, latency)
        )
        self.calls: list[ColdObservable[Any]] = [scheduler.create_cold_observable(*msgs) for _, _, msgs in plan]
        triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, (t, _, _) in enumerate(plan)])

        def one(i: int) -> Observable[Any]:
            return self.calls[i].pipe(
                cache(self.store, plan[i][1]),
                ops.map(lambda v: (i, v)),
                ops.catch(lambda e, _: reactivex.of((i, f"!{type(e).__name__}"))),
            )

        results = scheduler.start(lambda: triggers.pipe(ops.flat_map(one)), disposed=disposed)
        self.seen = timed_values(results.messages)
        self.subs = [c.subscriptions for c in self.calls]

    def reports(self) -> list[str]:
        return [method for method, _ in self.listener.reports if method != "cache_size"]


def test_a_hit_in_the_shared_store_is_served_without_calling_upstream() -> None:
    shared = FakeStore({"k": ("stored",)})
    run = Run(shared, [(210, "k", answer(5))])
    assert run.seen == [(212, (0, "stored"))]
    assert run.subs == [[]]
    assert run.reports() == ["cache_hit"]
    assert shared.sets == []  # a shared hit is not written back


def test_a_shared_hit_is_promoted_to_memory() -> None:
    shared = FakeStore({"k": ("stored",)})
    run = Run(shared, [(210, "k", answer(5)), (220, "k", answer(5))])
    assert run.seen == [(212, (0, "stored")), (220, (1, "stored"))]
    assert shared.gets == ["k"] and len(run.store) == 1
    assert run.subs == [[], []]


def test_a_miss_in_both_tiers_calls_upstream_and_writes_both() -> None:
    shared = FakeStore()
    run = Run(shared, [(210, "k", answer(3)), (220, "k", answer(3, "other"))])
    # lookup 210 → 212, call 212 → 215; the second call is served from memory
    assert run.seen == [(215, (0, "answer")), (220, (1, "answer"))]
    assert run.subs == [[subscribe(212, 215)], []]
    assert shared.sets == [("k", ("answer",), 600.0)]
    assert run.reports() == ["cache_miss", "cache_hit"]


def test_the_shared_write_uses_the_cache_ttl() -> None:
    shared = FakeStore()
    Run(shared, [(210, "k", answer(1))], policy=CachePolicy(ttl_s=42.5))
    assert shared.sets == [("k", ("answer",), 42.5)]


def test_identical_calls_during_the_lookup_join_it() -> None:
    shared = FakeStore()
    run = Run(shared, [(210, "k", answer(3)), (211, "k", answer(1, "never"))], latency=4)
    assert run.seen == [(217, (0, "answer")), (217, (1, "answer"))]
    assert run.subs == [[subscribe(214, 217)], []]
    assert shared.gets == ["k"] and len(shared.sets) == 1


def test_errors_are_never_stored_in_either_tier() -> None:
    shared = FakeStore()
    run = Run(shared, [(210, "k", [on_error(1, ConnectionError())]), (220, "k", answer(1))])
    assert run.seen == [(213, (0, "!ConnectionError")), (223, (1, "answer"))]
    assert shared.gets == ["k", "k"] and shared.sets == [("k", ("answer",), 600.0)]


def test_fallbacks_are_never_stored_in_either_tier() -> None:
    shared = FakeStore()
    stand_in = Fallback("sorry", "value", "timeout", TimeoutError())
    run = Run(shared, [(210, "k", [on_next(1, stand_in), on_completed(1)])])
    assert run.seen == [(213, (0, stand_in))]
    assert shared.sets == [] and len(run.store) == 0


def test_a_failed_lookup_is_a_miss_and_is_reported() -> None:
    shared = FakeStore({"k": ("stored",)})
    failure = CacheStoreError("llm", "get", "k", "connection refused")
    shared.get_error = failure
    run = Run(shared, [(210, "k", answer(3))])
    assert run.seen == [(215, (0, "answer"))]
    assert run.subs == [[subscribe(212, 215)]]
    assert run.listener.of("cache_store_failed") == [("llm", "get", failure)]
    assert run.reports() == ["cache_store_failed", "cache_miss"]


def test_a_failed_write_does_not_fail_the_call_and_is_reported() -> None:
    shared = FakeStore()
    failure = TimeoutError("store too slow")
    shared.set_error = failure
    run = Run(shared, [(210, "k", answer(3)), (220, "k", answer(3))])
    assert run.seen == [(215, (0, "answer")), (220, (1, "answer"))]  # memory still has it
    assert run.listener.of("cache_store_failed") == [("llm", "set", failure)]
    assert run.store.writes_pending == 0


def test_disposal_during_the_lookup_cancels_it_and_never_calls_upstream() -> None:
    shared = FakeStore({"k": ("stored",)})
    run = Run(shared, [(210, "k", answer(3))], latency=10, disposed=215)
    assert run.seen == [] and run.subs == [[]]
    assert shared.gets == []  # the lookup never ran
    assert run.store.flights == {}


def test_disposal_after_the_lookup_disposes_the_call() -> None:
    shared = FakeStore()
    run = Run(shared, [(210, "k", answer(30))], disposed=220)
    assert run.subs == [[subscribe(212, 220)]]
    assert shared.sets == []


async def test_on_asyncio_disposal_cancels_a_lookup_in_progress() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    class Hanging(FakeStore):
        async def get(self, key: str) -> tuple[Any, ...] | None:
            started.set()
            await hang_until_cancelled(cancelled)
            return None

    store = ResponseCache(name="llm", shared=Hanging())
    upstream: list[str] = []
    call = reactivex.defer(lambda _: reactivex.of(upstream.append("called") or "answer"))
    subscription = call.pipe(cache(store, "k")).subscribe(lambda _: None)
    await asyncio.wait_for(started.wait(), timeout=5.0)
    subscription.dispose()
    await asyncio.wait_for(cancelled.wait(), timeout=5.0)
    assert upstream == [] and store.flights == {}


async def test_on_asyncio_a_shared_hit_and_a_write_through() -> None:
    shared = FakeStore({"hit": ("stored",)})
    store = ResponseCache(name="llm", shared=shared)
    hit = await reactivex.of("fresh").pipe(cache(store, "hit"), ops.to_list())
    miss = await reactivex.of("fresh").pipe(cache(store, "miss"), ops.to_list())
    assert hit == ["stored"] and miss == ["fresh"]
    await until(lambda: store.writes_pending == 0, what="the write to the shared store")
    assert shared.sets == [("miss", ("fresh",), 600.0)]


def test_a_write_to_the_shared_store_is_pending_until_it_ends() -> None:
    scheduler = TestScheduler()
    shared = FakeStore()
    store = ResponseCache(name="llm", shared=shared, enter=on_virtual_time(scheduler, 3))
    call = scheduler.create_cold_observable(on_next(1, "answer"), on_completed(1))
    pending: list[tuple[float, int]] = []
    for t in (205, 206, 208):
        scheduler.schedule_absolute(t, lambda *_: pending.append((scheduler.clock, store.writes_pending)))
    results = scheduler.start(lambda: call.pipe(cache(store, "k")))
    # lookup 200 → 203, call 203 → 204 (the caller has its answer), write 204 → 207
    assert results.messages == [on_next(204, "answer"), on_completed(204)]
    assert pending == [(205.0, 1), (206.0, 1), (208.0, 0)]
    assert shared.sets == [("k", ("answer",), 600.0)]


def test_a_write_that_ends_at_once_is_not_held() -> None:
    def at_once(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Observable[Any]:
        coro = factory()
        try:
            coro.send(None)
        except StopIteration as stop:
            return reactivex.of(stop.value)
        raise AssertionError("the fake store suspended")

    shared = FakeStore()
    store = ResponseCache(name="llm", shared=shared, enter=at_once)
    store.share("k", ("answer",))
    assert store.writes_pending == 0 and shared.sets == [("k", ("answer",), 600.0)]
    ResponseCache().share("k", ("answer",))  # no shared store: nothing to write


def test_a_write_that_fails_at_once_is_reported_and_not_held() -> None:
    listener = RecordingListener()
    failure = ConnectionError("refused")
    store = ResponseCache(name="llm", listener=listener, shared=FakeStore(), enter=lambda _: reactivex.throw(failure))
    store.share("k", ("answer",))
    assert store.writes_pending == 0
    assert listener.reports == [("cache_store_failed", ("llm", "set", failure))]


def test_disposing_a_call_whose_lookup_missed_at_once_disposes_the_call() -> None:
    def at_once(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Observable[Any]:
        factory().close()

        def miss(observer: abc.ObserverBase[Any], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            observer.on_next(None)  # a miss, known while the lookup is subscribed
            observer.on_completed()
            return Disposable()

        return reactivex.create(miss)

    store = ResponseCache(name="llm", shared=FakeStore(), enter=at_once)
    scheduler = TestScheduler()
    call = scheduler.create_cold_observable(on_next(50, "late"), on_completed(50))
    results = scheduler.start(lambda: call.pipe(cache(store, "k")), disposed=220)
    assert results.messages == [] and call.subscriptions == [subscribe(200, 220)]
    assert store.flights == {}
