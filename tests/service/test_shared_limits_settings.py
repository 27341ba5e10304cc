"""``[resilience.shared_limits]``: defaults, the environment, and every malformed value refused with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from reactivex.testing import TestScheduler

from operators import NULL_LISTENER, SharedLimitsPolicy
from service._assembly import reply_protection, settings_snapshot
from service.settings import ResilienceSettings, Settings, SettingsError, SharedLimitsSettings, load_settings
from tests.operators.shared_limits_support import FakeLimitStore


def load(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text("[resilience.shared_limits]\n" + body, encoding="utf-8")
    return load_settings(path, env=env or {})


def test_the_defaults_keep_the_limits_in_this_process() -> None:
    shared = Settings().resilience.shared_limits
    assert (shared.backend, shared.instances, shared.timeout_s, shared.key_prefix) == ("process", 1, 0.1, "being")
    assert shared.policy() is None


def test_a_redis_backend_gives_the_fallbacks_policy(tmp_path: Path) -> None:
    settings = load(tmp_path, 'backend = "redis"\nredis_url = "redis://10.0.0.5:6380/2"\ninstances = 3\n')
    shared = settings.resilience.shared_limits
    assert shared.policy() == SharedLimitsPolicy(instances=3, retry_interval_s=5.0)
    assert (shared.redis_address().host, shared.redis_address().port, shared.redis_address().db) == (
        "10.0.0.5",
        6380,
        2,
    )


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {"BEING_RESILIENCE_SHARED_LIMITS_INSTANCES": "4", "BEING_RESILIENCE_SHARED_LIMITS_BACKEND": "redis"}
    shared = load(tmp_path, "instances = 2\n", env).resilience.shared_limits
    assert (shared.backend, shared.instances) == ("redis", 4)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('backend = "memcached"', r"resilience\.shared_limits\.backend.*one of 'process', 'redis'"),
        ('backend = "redis"\nredis_url = "http://host"', r"redis_url: expected a redis:// or rediss:// URL"),
        ('backend = "redis"\nredis_url = "redis://host:99999"', r"redis_url: expected a port from 1 to 65535"),
        ('backend = "redis"\nredis_url = "redis://host/zero"', r"redis_url: expected a database number"),
        ('key_prefix = ""', r"key_prefix: expected 1 to 100 letters"),
        ('key_prefix = "two words"', r"key_prefix: expected 1 to 100 letters"),
        ('key_prefix = "' + "x" * 101 + '"', r"key_prefix: expected 1 to 100 letters"),
        ('key_prefix = "a\\u0000b"', r"key_prefix: expected 1 to 100 letters"),
        ("instances = 0", r"resilience\.shared_limits\.instances.*an integer >= 1"),
        ('instances = "two"', r"resilience\.shared_limits\.instances"),
        ("instances = true", r"resilience\.shared_limits\.instances"),
        ("timeout_s = 0", r"resilience\.shared_limits\.timeout_s.*> 0"),
        ("timeout_s = 30", r"resilience\.shared_limits\.timeout_s.*<= 5"),
        ("timeout_s = nan", r"resilience\.shared_limits\.timeout_s"),
        ("retry_interval_s = -1", r"resilience\.shared_limits\.retry_interval_s.*seconds > 0"),
        ("idle_ttl_s = 0.5", r"resilience\.shared_limits\.idle_ttl_s"),
        ("colour = 1", r"resilience\.shared_limits\.colour.*no such setting"),
    ],
)
def test_malformed_values_are_refused_with_the_key_named(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load(tmp_path, body + "\n")


def test_a_malformed_url_is_accepted_while_the_backend_is_process() -> None:
    assert SharedLimitsSettings(redis_url="nonsense").backend == "process"


def test_the_snapshot_hides_the_password() -> None:
    shared = SharedLimitsSettings(backend="redis", redis_url="redis://user:s3cret@host:6379/0")
    snapshot = settings_snapshot(Settings(resilience=ResilienceSettings(shared_limits=shared)))
    assert snapshot["resilience"]["shared_limits"]["redis_url"] == "redis://***@host:6379/0"


def test_the_protection_shares_its_limits_only_with_a_redis_backend() -> None:
    store = FakeLimitStore(TestScheduler())
    process = reply_protection(Settings(), listener=NULL_LISTENER, limits=store)
    assert process.limits is None
    redis = Settings(resilience=ResilienceSettings(shared_limits=SharedLimitsSettings(backend="redis")))
    shared = reply_protection(redis, listener=NULL_LISTENER, limits=store)
    assert shared.limits is not None and shared.limits.store is store and shared.limits.name == "llm"
