"""cache in virtual time: hits skip upstream, identical calls share one, errors never stored, TTL, LRU."""

from __future__ import annotations

import hashlib
import json
from types import MappingProxyType
from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import TestScheduler
from reactivex.testing.coldobservable import ColdObservable
from reactivex.testing.recorded import Recorded

from operators import CachePolicy, Fallback, RecordingListener, ResponseCache, cache, canonical_key
from tests.operators.operator_support import on_completed, on_error, on_next, subscribe, timed_values
from tests.operators.policy_shape import assert_policy_rejects, assert_policy_shape


class Run:
    def __init__(
        self, store: ResponseCache, plan: list[tuple[int, str, list[Recorded[Any]]]], disposed: int = 1000
    ) -> None:
        scheduler = TestScheduler()
        self.calls: list[ColdObservable[Any]] = [scheduler.create_cold_observable(*msgs) for _, _, msgs in plan]
        triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, (t, _, _) in enumerate(plan)])

        def one(i: int) -> Observable[Any]:
            return self.calls[i].pipe(
                cache(store, plan[i][1]),
                ops.map(lambda v: (i, v)),
                ops.catch(lambda e, _: reactivex.of((i, f"!{type(e).__name__}"))),
            )

        results = scheduler.start(lambda: triggers.pipe(ops.flat_map(one)), disposed=disposed)
        self.seen = timed_values(results.messages)
        self.subs = [c.subscriptions for c in self.calls]


def answer(at: int, value: str = "answer") -> list[Recorded[Any]]:
    return [on_next(at, value), on_completed(at)]


def test_serves_a_second_identical_call_without_subscribing_upstream() -> None:
    listener = RecordingListener()
    store = ResponseCache(name="llm", listener=listener)
    run = Run(store, [(210, "k", answer(2)), (220, "k", answer(2, "other"))])
    assert run.seen == [(212, (0, "answer")), (220, (1, "answer"))]
    assert run.subs == [[subscribe(210, 212)], []]
    assert [m for m, _ in listener.reports] == ["cache_miss", "cache_size", "cache_hit"]


def test_different_keys_do_not_share() -> None:
    run = Run(ResponseCache(), [(210, "a", answer(2)), (220, "b", answer(2, "b"))])
    assert run.seen == [(212, (0, "answer")), (222, (1, "b"))]


def test_concurrent_identical_calls_share_one_upstream_subscription() -> None:
    listener = RecordingListener()
    store = ResponseCache(name="llm", listener=listener)
    run = Run(store, [(210, "k", answer(5)), (212, "k", answer(1, "never")), (213, "k", answer(1, "never"))])
    assert run.seen == [(215, (0, "answer")), (215, (1, "answer")), (215, (2, "answer"))]
    assert run.subs == [[subscribe(210, 215)], [], []]
    assert len(listener.of("cache_miss")) == 1 and len(listener.of("cache_hit")) == 2
    assert store.flights == {}


def test_never_caches_errors_and_every_joined_call_sees_the_error() -> None:
    store = ResponseCache()
    plan = [(210, "k", [on_error(3, ConnectionError())]), (211, "k", answer(1, "x")), (220, "k", answer(1))]
    run = Run(store, plan)
    assert run.seen == [(213, (0, "!ConnectionError")), (213, (1, "!ConnectionError")), (221, (2, "answer"))]
    assert run.subs == [[subscribe(210, 213)], [], [subscribe(220, 221)]]


def test_expires_at_the_ttl_tick() -> None:
    store = ResponseCache(CachePolicy(ttl_s=10.0))
    plan = [(210, "k", answer(1)), (220, "k", answer(1, "second")), (221, "k", answer(1, "third"))]
    run = Run(store, plan)
    # stored at 211: served at 220, gone at 221
    assert run.seen == [(211, (0, "answer")), (220, (1, "answer")), (222, (2, "third"))]
    assert run.subs == [[subscribe(210, 211)], [], [subscribe(221, 222)]]


def test_evicts_the_least_recently_used_beyond_max_entries() -> None:
    listener = RecordingListener()
    store = ResponseCache(CachePolicy(max_entries=2), name="llm", listener=listener)
    plan = [(210, "a", answer(1, "a")), (220, "b", answer(1, "b")), (230, "a", answer(1, "x"))]
    plan += [(240, "c", answer(1, "c")), (250, "b", answer(1, "b2")), (260, "c", answer(1, "y"))]
    run = Run(store, plan)
    # a was used at 230, so c evicts b; b coming back evicts a; c is still there
    assert run.subs[2] == [] and run.subs[4] == [subscribe(250, 251)] and run.subs[5] == []
    assert listener.of("cache_evicted") == [("llm", 1), ("llm", 1)]
    assert len(store) == 2


def test_fallbacks_are_not_stored() -> None:
    store = ResponseCache()
    stand_in = Fallback("sorry", "value", "timeout", TimeoutError())
    run = Run(store, [(210, "k", [on_next(1, stand_in), on_completed(1)]), (220, "k", answer(1))])
    assert run.subs[1] == [subscribe(220, 221)]


def test_upstream_is_disposed_when_every_joined_call_is() -> None:
    store = ResponseCache()
    run = Run(store, [(210, "k", answer(50)), (220, "k", answer(50))], disposed=230)
    assert run.seen == []
    assert run.subs == [[subscribe(210, 230)], []]
    assert store.flights == {}


def test_canonical_key_ignores_dict_order_and_sees_every_field() -> None:
    a = canonical_key({"model": "m", "options": {"temperature": 0.2, "seed": 1}, "prompt": "привет"})
    b = canonical_key({"prompt": "привет", "options": {"seed": 1, "temperature": 0.2}, "model": "m"})
    c = canonical_key({"prompt": "привет", "options": {"seed": 2, "temperature": 0.2}, "model": "m"})
    assert a == b != c and len(a) == 64
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        canonical_key({"x": float("nan")})


def test_canonical_key_is_the_sha256_of_the_encoders_canonical_json() -> None:
    """The key's text is what json gives with sorted keys and no spaces, for every kind of value and mapping."""
    request = {"b": [1, 2.5, None, True, (1, 2)], "a": {"z": "é\u2028\x00", "y": -0.0}, "c": "x" * 3000}
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert canonical_key(request) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    with pytest.raises(TypeError, match="'<' not supported"):
        canonical_key({1: "a", "b": 2})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="not JSON serializable"):
        canonical_key({"x": {1, 2}})
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(ValueError, match="Circular reference detected"):
        canonical_key(loop)
    with pytest.raises(TypeError, match="not JSON serializable"):  # what the encoder does with any non-dict
        canonical_key(MappingProxyType({"a": 1}))
    assert canonical_key({"prompt": "p"}) == canonical_key({"prompt": "p"})  # nothing kept between calls


def test_checks() -> None:
    with pytest.raises(ValueError, match="CachePolicy.max_entries: expected an integer >= 1, got 0"):
        CachePolicy(max_entries=0)


def test_clear_forgets_stored_results_and_says_the_cache_is_empty() -> None:
    listener = RecordingListener()
    store = ResponseCache(name="llm", listener=listener)
    store.put("a", ("x",), 0.0)
    store.put("b", ("y",), 0.0)
    assert len(store) == 2 and store.get("a", 1.0) == ("x",)
    store.clear()
    assert len(store) == 0 and store.get("a", 1.0) is None and store.get("b", 1.0) is None
    assert listener.of("cache_size") == [("llm", 1), ("llm", 2), ("llm", 0)]


def test_a_call_in_flight_during_clear_goes_on_and_is_stored() -> None:
    store = ResponseCache()
    scheduler = TestScheduler()
    call = scheduler.create_cold_observable(on_next(5, "answer"), on_completed(5))
    scheduler.schedule_absolute(202, lambda *_: store.clear())
    results = scheduler.start(lambda: call.pipe(cache(store, "k")))
    assert results.messages == [on_next(205, "answer"), on_completed(205)]
    assert store.get("k", 206.0) == ("answer",)


def test_get_serves_an_entry_until_its_ttl_and_not_from_then_on() -> None:
    store = ResponseCache(CachePolicy(ttl_s=10.0))
    store.put("k", ("x",), 100.0)
    assert store.get("k", 109.999) == ("x",)
    assert store.get("k", 110.0) is None
    assert len(store) == 0  # dropped when looked at


def test_an_expired_entry_pushed_out_by_the_bound_is_not_an_eviction() -> None:
    listener = RecordingListener()
    store = ResponseCache(CachePolicy(ttl_s=10.0, max_entries=1), name="llm", listener=listener)
    store.put("a", ("x",), 0.0)
    store.put("b", ("y",), 10.0)  # "a" had expired
    store.put("c", ("z",), 11.0)  # "b" was live
    assert listener.of("cache_evicted") == [("llm", 1)]
    assert listener.of("cache_size") == [("llm", 1)] * 3


def test_cache_policy_defaults_and_bounds() -> None:
    assert CachePolicy() == CachePolicy(ttl_s=600.0, max_entries=1024)
    assert ResponseCache().name == "cache" and ResponseCache().shared is None
    CachePolicy(ttl_s=1e-9, max_entries=1)  # the bounds themselves
    bad: list[tuple[dict[str, Any], str]] = [
        ({"ttl_s": 0.0}, "CachePolicy.ttl_s: expected seconds > 0, got 0.0"),
        ({"ttl_s": float("inf")}, "CachePolicy.ttl_s: expected seconds > 0, got inf"),
        ({"max_entries": 0}, "CachePolicy.max_entries: expected an integer >= 1, got 0"),
        ({"max_entries": 2.0}, "CachePolicy.max_entries: expected an integer >= 1, got 2.0"),
    ]
    assert_policy_rejects(CachePolicy, bad)


def test_the_cache_policy_is_a_frozen_slotted_keyword_only_value() -> None:
    assert_policy_shape(CachePolicy)


def test_a_hit_replays_every_stored_item_and_completes() -> None:
    store = ResponseCache()
    store.put("k", ("a", "b"), 0.0)
    scheduler = TestScheduler()
    call = scheduler.create_cold_observable(on_next(1, "fresh"), on_completed(1))
    results = scheduler.start(lambda: call.pipe(cache(store, "k")))
    assert results.messages == [on_next(200, "a"), on_next(200, "b"), on_completed(200)]
    assert call.subscriptions == []


def test_a_call_joining_late_gets_the_items_already_emitted_then_the_rest() -> None:
    store = ResponseCache()
    run = Run(store, [(210, "k", [on_next(1, "a"), on_next(5, "b"), on_completed(5)]), (213, "k", answer(1, "never"))])
    assert run.seen == [(211, (0, "a")), (213, (1, "a")), (215, (0, "b")), (215, (1, "b"))]
    assert run.subs == [[subscribe(210, 215)], []]


def test_one_joined_call_leaving_does_not_end_the_call_for_the_others() -> None:
    store = ResponseCache()
    scheduler = TestScheduler()
    upstream = scheduler.create_cold_observable(on_next(20, "answer"), on_completed(20))
    shared = upstream.pipe(cache(store, "k"))
    first, second = scheduler.create_observer(), scheduler.create_observer()
    subscriptions: list[Any] = []
    scheduler.schedule_absolute(200, lambda *_: subscriptions.append(shared.subscribe(first)))
    scheduler.schedule_absolute(205, lambda *_: subscriptions.append(shared.subscribe(second)))
    scheduler.schedule_absolute(210, lambda *_: subscriptions[0].dispose())
    scheduler.start()
    assert first.messages == []
    assert second.messages == [on_next(220, "answer"), on_completed(220)]
    assert upstream.subscriptions == [subscribe(200, 220)]


def test_an_entry_is_gone_exactly_ttl_s_after_it_was_written_in_decimal_times() -> None:
    from operators._lru import LruTtl

    entries: LruTtl[str, str] = LruTtl(max_entries=4, ttl_s=0.2)
    entries.put("k", "v", 0.1)
    assert entries.get("k", 0.29999) == (0.1, "v")
    assert entries.get("k", 0.3) is None  # 0.1 + 0.2 is 0.30000000000000004 in floats


def test_canonical_key_is_the_sha256_of_compact_sorted_utf8_json() -> None:
    # keys outlive the process in a shared store: their form must not drift
    expected = hashlib.sha256('{"a":[1,2],"prompt":"привет"}'.encode()).hexdigest()
    assert canonical_key({"prompt": "привет", "a": (1, 2)}) == expected
