"""cache_first in virtual time: a hit in memory is served without building the call, a miss subscribes it."""

from __future__ import annotations

from typing import Any

from reactivex import Observable
from reactivex.testing import ReactiveTest, TestScheduler

from operators import CachePolicy, RecordingListener, ResponseCache, cache, cache_first

on_next, on_completed, subscribe = ReactiveTest.on_next, ReactiveTest.on_completed, ReactiveTest.subscribe


def test_a_hit_is_served_without_building_and_a_miss_subscribes_what_is_built() -> None:
    scheduler = TestScheduler()
    listener = RecordingListener()
    store = ResponseCache(name="llm", listener=listener)
    store.put("k", ("stored", "items"), 100.0)
    built: list[str] = []
    hits: list[tuple[tuple[Any, ...], float]] = []
    call = scheduler.create_cold_observable(on_next(2, "fresh"), on_completed(2))

    def build(key: str) -> Observable[str]:
        built.append(key)
        return call.pipe(cache(store, key))

    def one(key: str) -> Observable[str]:
        return cache_first(store, key, lambda: build(key), on_hit=lambda v, now: hits.append((v, now)))

    hit = scheduler.start(lambda: one("k"), created=150, subscribed=210, disposed=300)
    assert hit.messages == [on_next(210, "stored"), on_next(210, "items"), on_completed(210)]
    assert built == [] and hits == [(("stored", "items"), 210.0)]
    assert [m for m, _ in listener.reports] == ["cache_size", "cache_hit"]

    miss = scheduler.start(lambda: one("other"), created=350, subscribed=400, disposed=500)
    assert miss.messages == [on_next(402, "fresh"), on_completed(402)]
    assert built == ["other"] and call.subscriptions == [subscribe(400, 402)]
    assert len(hits) == 1 and [m for m, _ in listener.reports][2:] == ["cache_miss", "cache_size"]


def test_a_miss_disposed_before_it_ends_disposes_the_built_call_and_a_hit_needs_no_on_hit() -> None:
    scheduler = TestScheduler()
    store = ResponseCache(name="llm")
    store.put("k", ("stored",), 100.0)
    slow = scheduler.create_cold_observable(on_next(100, "late"), on_completed(100))
    miss = scheduler.start(lambda: cache_first(store, "other", lambda: slow), created=150, subscribed=200, disposed=220)
    assert miss.messages == [] and slow.subscriptions == [subscribe(200, 220)]
    hit = scheduler.start(lambda: cache_first(store, "k", lambda: slow), created=250, subscribed=300, disposed=400)
    assert hit.messages == [on_next(300, "stored"), on_completed(300)]


def test_an_entry_past_its_ttl_on_the_given_clock_is_a_miss() -> None:
    scheduler = TestScheduler()
    store = ResponseCache(CachePolicy(ttl_s=50.0), name="llm")
    store.put("k", ("stored",), 100.0)
    later = TestScheduler()
    later.advance_to(150.0)  # 50 s after the write: expired there, though not at 120 on the subscription's clock
    call = scheduler.create_cold_observable(on_next(1, "fresh"), on_completed(1))
    results = scheduler.start(lambda: cache_first(store, "k", lambda: call, scheduler=later), subscribed=120)
    assert results.messages == [on_next(121, "fresh"), on_completed(121)]
