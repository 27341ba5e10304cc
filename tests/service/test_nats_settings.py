"""``[nats]``: the spec's defaults, names that make valid subjects and streams, and a clear error for each bad value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service._assembly import settings_snapshot
from service.settings import (
    LLMSettings,
    NatsSettings,
    ResilienceSettings,
    Settings,
    SettingsError,
    SharedLimitsSettings,
    load_settings,
)


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> NatsSettings:
    path = tmp_path / "config.toml"
    path.write_text("[nats]\n" + text, encoding="utf-8")
    return load_settings(path, env=env or {}).nats


def test_the_defaults_and_the_names_they_make() -> None:
    nats = NatsSettings()
    assert (nats.enabled, nats.url, nats.name, nats.durable) == (False, "nats://127.0.0.1:4222", "being", "being")
    assert (nats.ack_wait_s, nats.max_deliver, nats.max_ack_pending, nats.fetch_batch) == (30.0, 5, 64, 16)
    assert (nats.duplicate_window_s, nats.connect_timeout_s) == (120.0, 5.0)
    assert (nats.publish_replies, nats.publish_episodes) == (True, False)
    named = NatsSettings(name="front-desk_2")
    assert (named.subject_in, named.subject_out) == ("being.front-desk_2.in", "being.front-desk_2.out")
    assert (named.stream_in, named.stream_out) == ("BEING_FRONT_DESK_2_IN", "BEING_FRONT_DESK_2_OUT")


def test_settings_come_from_the_file_and_the_environment(tmp_path: Path) -> None:
    nats = load(tmp_path, 'enabled = true\nurl = "nats://a:4222, tls://b:4443"\n', {"BEING_NATS_MAX_DELIVER": "3"})
    assert nats.enabled and nats.max_deliver == 3 and nats.url == "nats://a:4222, tls://b:4443"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('name = "Being"', "nats.name"),
        ('name = "a.b"', "nats.name"),
        ('name = ""', "nats.name"),
        ('durable = "a b"', "nats.durable"),
        ('durable = "x.y"', "nats.durable"),
        ('url = "http://127.0.0.1:4222"', "nats://host:port"),
        ('url = "nats://127.0.0.1:4222/path"', "no path"),
        ('url = "nats://127.0.0.1:99999"', "not a URL"),
        ("max_deliver = 1", "nats.max_deliver"),
        ("ack_wait_s = 0.5", "nats.ack_wait_s"),
        ("max_ack_pending = 0", "nats.max_ack_pending"),
        ("fetch_batch = 0", "nats.fetch_batch"),
        ("duplicate_window_s = 0", "nats.duplicate_window_s"),
        ('enabled = "yes"', "nats.enabled"),
        ("colour = 1", "no such setting"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key(tmp_path: Path, text: str, names: str) -> None:
    with pytest.raises(SettingsError, match=names.replace(".", r"\.")):
        load(tmp_path, text + "\n")


def test_a_password_or_a_token_in_the_url_is_never_shown() -> None:
    nats = NatsSettings(url="nats://ana:secret@127.0.0.1:4222,nats://127.0.0.1:4223")
    assert nats.shown_url() == "nats://***@127.0.0.1:4222,nats://127.0.0.1:4223"
    token = NatsSettings(url="nats://s3cr3t-token@127.0.0.1:4222")  # NATS's token form: the user part is the secret
    assert token.shown_url() == "nats://***@127.0.0.1:4222"


def test_no_url_credential_reaches_the_settings_snapshot_of_the_runs_table_and_recordings() -> None:
    settings = Settings(
        nats=NatsSettings(url="nats://s3cr3t-token@127.0.0.1:4222"),
        llm=LLMSettings(base_url="http://admin:hunter2@127.0.0.1:11434"),
        resilience=ResilienceSettings(
            shared_limits=SharedLimitsSettings(redis_url="redis://lonetoken@127.0.0.1:6379/0")
        ),
    )
    text = json.dumps(settings_snapshot(settings))
    assert "s3cr3t-token" not in text and "hunter2" not in text and "lonetoken" not in text
    assert settings_snapshot(settings)["nats"]["url"] == "nats://***@127.0.0.1:4222"
