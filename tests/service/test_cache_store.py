"""The cache's shared tier without Redis: which store the settings build, aiocache's memory store, the codec,
the Redis URL, and the metric of store failures."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import CollectorRegistry

from agent import Protection, ProtectPolicies
from llm import ChatResult, GenerateResult, Usage
from operators import CacheStoreError
from service._assembly import settings_snapshot
from service._cache_store import ResponseCodec, shared_store
from service.metrics import ResilienceMetrics
from service.settings import CacheSettings, RedisAddress, Settings, SettingsError, load_settings
from tests.support import REPO

ANSWER = ChatResult(model="m", content="hello", done_reason="stop", usage=Usage(prompt_tokens=3, output_tokens=1))


def test_no_shared_store_unless_the_settings_name_one() -> None:
    assert shared_store(CacheSettings()) is None
    assert shared_store(CacheSettings(backend="memory", enabled=False)) is None
    assert shared_store(CacheSettings(backend="memory")) is not None


async def test_the_memory_store_round_trips_and_namespaces() -> None:
    store = shared_store(CacheSettings(backend="memory"), name="mind")
    assert store is not None
    try:
        await store.set("k", (ANSWER,), 60.0)
        assert await store.get("k") == (ANSWER,)
        assert await store.get("other") is None
        assert store.full_key("k") == "being:mind:k"
    finally:
        await store.aclose()


async def test_an_item_with_no_json_form_is_a_failed_write() -> None:
    store = shared_store(CacheSettings(backend="memory"))
    assert store is not None
    with pytest.raises(CacheStoreError, match="llm: cache store set of k: cannot record a response of type object"):
        await store.set("k", (object(),), 60.0)


def test_the_codec_round_trips_every_item_and_nothing() -> None:
    codec = ResponseCodec()
    assert codec.decode(codec.encode((ANSWER, ANSWER))) == (ANSWER, ANSWER)
    assert codec.decode(codec.encode(())) == ()
    generate = ResponseCodec("generate")
    result = GenerateResult(model="m", text="t")
    assert generate.decode(generate.encode((result,))) == (result,)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{", "JSONDecodeError"),
        ("null", "format 1"),
        ('{"format": 1}', "KeyError"),
        ('{"format": 1, "items": "x"}', "a list of items"),
        ('{"format": 1, "items": [{"model": "m", "content": "c", "usage": {}, "extra": 1}]}', "TypeError"),
        ('{"format": 1, "items": [{"model": "m", "content": ["c"], "usage": {}}]}', "must be text"),
    ],
)
def test_the_codec_refuses_what_it_did_not_write(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        ResponseCodec().decode(text)


def test_redis_urls() -> None:
    address = RedisAddress.parse("rediss://being:s%40cret@cache.local:6380/3")
    assert address == RedisAddress(host="cache.local", port=6380, db=3, username="being", password="s@cret", tls=True)
    assert RedisAddress.parse("redis://127.0.0.1") == RedisAddress(
        host="127.0.0.1", port=6379, db=0, username=None, password=None, tls=False
    )
    for bad, why in [
        ("http://127.0.0.1:6379", "redis:// or rediss://"),
        ("redis://127.0.0.1:99999/0", "a port"),
        ("redis://127.0.0.1:6379/zero", "a database number"),
        ("redis:///0", "a host"),
    ]:
        with pytest.raises(ValueError, match=why):
            RedisAddress.parse(bad)


def test_a_bad_redis_url_is_a_settings_error_only_when_redis_is_used() -> None:
    env = {"BEING_RESILIENCE_CACHE_BACKEND": "redis", "BEING_RESILIENCE_CACHE_REDIS_URL": "http://x"}
    with pytest.raises(SettingsError, match="redis:// or rediss://"):
        load_settings(REPO / "config.toml", env=env)
    settings = load_settings(REPO / "config.toml", env={"BEING_RESILIENCE_CACHE_REDIS_URL": "http://x"})
    assert settings.resilience.cache.backend == "none"


def test_the_settings_snapshot_hides_the_redis_password() -> None:
    cache = CacheSettings(backend="redis", redis_url="redis://being:secret@10.0.0.5:6379/1")
    assert cache.shown_redis_url() == "redis://being:***@10.0.0.5:6379/1"
    snapshot = settings_snapshot(Settings())
    assert snapshot["resilience"]["cache"]["redis_url"] == "redis://127.0.0.1:6379/0"
    with_password = dataclasses.replace(Settings(), resilience=dataclasses.replace(Settings().resilience, cache=cache))
    assert "secret" not in str(settings_snapshot(with_password))


def test_store_failures_are_counted_by_operation(registry: CollectorRegistry) -> None:
    metrics = ResilienceMetrics(registry)
    store = shared_store(CacheSettings(backend="memory"))
    metrics.watch(Protection(ProtectPolicies(), name="llm", dead_letter=lambda letter: None, shared=store))
    labels = {"name": "llm", "operation": "get"}
    assert registry.get_sample_value("being_cache_store_errors_total", labels) == 0
    metrics.cache_store_failed("llm", "get", CacheStoreError("llm", "get", "k", "refused"))
    assert registry.get_sample_value("being_cache_store_errors_total", labels) == 1
    assert registry.get_sample_value("being_cache_store_errors_total", {**labels, "operation": "set"}) == 0
