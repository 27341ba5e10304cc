"""Which names the service answers to in Host and Origin, and what allowed_hosts accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.http import HostRules
from service.http._hosts import host_of
from service.settings import HttpSettings, SettingsError, load_settings


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("localhost", "localhost"),
        ("LocalHost:8766", "localhost"),
        ("localhost.:80", "localhost"),
        ("[::1]:8766", "::1"),
        ("[::1]", "::1"),
        ("[::1]:", "::1"),
        ("::1", "::1"),
        ("192.0.2.7:1", "192.0.2.7"),
        ("host:", "host"),
        ("host:port", None),
        ("[::1", None),
        ("[::1]x", None),
        ("a b", None),
        ("user@localhost", None),
        ("", None),
        (":80", None),
    ],
)
def test_host_of_a_header_value(value: str, host: str | None) -> None:
    assert host_of(value) == host


def test_the_bound_address_is_allowed_unless_it_is_a_wildcard() -> None:
    assert HostRules.for_service("192.0.2.7").allows_host("192.0.2.7:8766")
    assert HostRules.for_service("[fe80::1]").allows_host("[fe80::1]:8766")
    assert HostRules.for_service("being.lan").allows_host("Being.LAN")
    for wildcard in ("0.0.0.0", "::", ""):
        assert HostRules.for_service(wildcard).names == HostRules.for_service().names
    assert not HostRules.for_service("0.0.0.0").allows_host("0.0.0.0")


def test_allowed_hosts_are_added_to_the_loopback_names() -> None:
    rules = HostRules.for_service("127.0.0.1", ("being.lan", "[2001:db8::5]"))
    assert rules.names == {"localhost", "127.0.0.1", "::1", "being.lan", "2001:db8::5"}
    assert rules.allows_origin("https://being.lan:8443")
    assert rules.allows_origin("http://[2001:db8::5]:8766")


@pytest.mark.parametrize(
    "origin",
    ["null", "", "http://evil.example", "http://localhost/path", "http://localhost?x", "ws://localhost", "localhost"],
)
def test_origins_refused(origin: str) -> None:
    assert not HostRules.for_service().allows_origin(origin)


def test_allowed_hosts_from_config_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[http]\nallowed_hosts = ["being.lan", "::1"]\n')
    assert load_settings(path, env={}).http.allowed_hosts == ("being.lan", "::1")
    env = {"BEING_HTTP_ALLOWED_HOSTS": "a.lan, b.lan"}
    assert load_settings(None, env=env).http.allowed_hosts == ("a.lan", "b.lan")


@pytest.mark.parametrize("entry", ["http://being.lan", "being.lan:8766", "being.lan/", "", "a b"])
def test_an_allowed_host_with_scheme_port_or_path_is_a_settings_error(tmp_path: Path, entry: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[http]\nallowed_hosts = ["{entry}"]\n')
    with pytest.raises(SettingsError, match="allowed_hosts"):
        load_settings(path, env={})
    with pytest.raises(ValueError, match="without scheme, port or path"):
        HttpSettings(allowed_hosts=(entry,))
