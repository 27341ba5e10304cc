"""Settings: defaults, the file, the environment, and one clear line for each kind of mistake."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Literal

import pytest

from agent import ProtectPolicies
from service.cli import main
from service.settings import Settings, SettingsError, load_settings, source_of


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file() -> None:
    settings = load_settings(None, env={})
    assert settings == Settings()
    assert settings.http.port == 8766
    assert settings.storage.database_path == "data/being.duckdb"
    assert settings.inbox.path == "inbox.txt"


def test_file_values_override_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[http]\nport = 9001\nhost = "0.0.0.0"\n[ticks]\nheavy_interval_s = 5\n')
    settings = load_settings(path, env={})
    assert settings.http.port == 9001
    assert settings.http.host == "0.0.0.0"
    assert settings.ticks.heavy_interval_s == 5.0
    assert isinstance(settings.ticks.heavy_interval_s, float)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[http]\nport = 9001\n")
    settings = load_settings(path, env={"BEING_HTTP_PORT": "9002", "BEING_LOG_LEVEL": "debug", "OTHER": "x"})
    assert settings.http.port == 9002
    assert settings.log.level == "debug"


def test_unknown_key_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[http]\nprot = 9001\n")
    with pytest.raises(SettingsError) as info:
        load_settings(path, env={})
    assert info.value.key == "http.prot"
    assert "no such setting" in str(info.value)
    assert "port" in str(info.value)


def test_unknown_section(tmp_path: Path) -> None:
    path = write(tmp_path, "[htp]\nport = 1\n")
    with pytest.raises(SettingsError, match="htp"):
        load_settings(path, env={})


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    path = write(tmp_path, '[http]\nport = "eighty"\n')
    with pytest.raises(SettingsError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert "http.port" in message and "'eighty'" in message and "integer" in message


def test_bool_is_not_an_integer(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="http.port"):
        load_settings(write(tmp_path, "[http]\nport = true\n"), env={})


def test_out_of_range(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, "[http]\nport = 70000\n"), env={})
    assert "from 0 to 65535" in str(info.value)


def test_zero_interval_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ticks.light_interval_s"):
        load_settings(write(tmp_path, "[ticks]\nlight_interval_s = 0\n"), env={})


def test_choice_outside_the_list(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="one of 'debug', 'info'"):
        load_settings(write(tmp_path, '[log]\nlevel = "loud"\n'), env={})


def test_section_that_is_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="a table"):
        load_settings(write(tmp_path, "http = 5\n"), env={})


def test_unknown_environment_variable() -> None:
    with pytest.raises(SettingsError, match="BEING_HTTP_PROT"):
        load_settings(None, env={"BEING_HTTP_PROT": "1"})


def test_environment_value_of_wrong_type() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(None, env={"BEING_HTTP_PORT": "many"})
    assert info.value.key == "BEING_HTTP_PORT"
    assert info.value.origin == "environment"


def test_environment_value_out_of_range() -> None:
    with pytest.raises(SettingsError, match="BEING_SHUTDOWN_DRAIN_TIMEOUT_S"):
        load_settings(None, env={"BEING_SHUTDOWN_DRAIN_TIMEOUT_S": "-1"})


def test_environment_nan_is_refused() -> None:
    with pytest.raises(SettingsError):
        load_settings(None, env={"BEING_TICKS_HEAVY_INTERVAL_S": "nan"})


def test_malformed_toml(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="valid TOML"):
        load_settings(write(tmp_path, "[http\nport = 1\n"), env={})


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[http]\nhost = "\xff"\n')
    with pytest.raises(SettingsError, match="UTF-8"):
        load_settings(path, env={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="readable file"):
        load_settings(tmp_path / "nope.toml", env={})


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# " + "x" * (2 << 20) + "\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="under"):
        load_settings(path, env={})


def test_settings_are_frozen() -> None:
    settings = load_settings(None, env={})
    with pytest.raises(AttributeError):
        settings.http.port = 1  # type: ignore[misc]


# -- [resilience.*]: every default and every bound once, in the policies -----------------------------


def _sections() -> list[object]:
    resilience = Settings().resilience
    return [getattr(resilience, f.name) for f in dataclasses.fields(resilience)]


def _settable(policy: type[Any]) -> set[str]:
    """The policy's fields a config file can set: numbers, switches, names (not callables)."""
    hints = typing.get_type_hints(policy)
    simple = (int, float, bool, str, float | None, int | None)
    names = set()
    for f in dataclasses.fields(policy):
        hint = hints[f.name]
        if hint in simple or typing.get_origin(hint) is Literal:
            names.add(f.name)
    return names


def test_the_default_settings_make_the_default_policies() -> None:
    assert Settings().resilience.policies() == ProtectPolicies()


def test_each_resilience_key_takes_its_default_and_its_type_from_its_policy() -> None:
    covered: dict[type[Any], set[str]] = {}
    for section in _sections():
        hints = typing.get_type_hints(type(section))
        for f in dataclasses.fields(section):  # type: ignore[arg-type]
            source = source_of(f)
            if source is None:
                continue
            covered.setdefault(source.policy, set()).add(source.name)
            default = next(p for p in dataclasses.fields(source.policy) if p.name == source.name)
            expected = default.default if default.default is not None else source.none_as
            assert f.default == expected, f"{type(section).__name__}.{f.name}"
            hint = typing.get_type_hints(source.policy)[source.name]
            base = str if typing.get_origin(hint) is Literal else next(t for t in typing.get_args(hint) or (hint,))
            assert hints[f.name] is base, f"{type(section).__name__}.{f.name}: {hints[f.name]} is not {base}"
    # a policy field added later must get its key (and a line in config.toml) or this fails
    for policy, names in covered.items():
        if policy is not ProtectPolicies:
            assert _settable(policy) == names, policy.__name__
    assert {"timeout_s", "deadline_s", "stale_for_s", "remember"} <= covered[ProtectPolicies]


@pytest.mark.parametrize(
    ("text", "key", "given", "expected"),
    [
        ("[resilience.breaker]\nminimum_calls = 50\n", "resilience.breaker.minimum_calls", 50, "at most window_calls"),
        (
            "[resilience.breaker]\nwindow_calls = 3\n",
            "resilience.breaker.minimum_calls",
            4,
            "at most window_calls (3)",
        ),
        ("[resilience.retry]\nmax_attempts = 0\n", "resilience.retry.max_attempts", 0, "an integer >= 1"),
        ("[resilience.retry]\nbudget_ratio = -1\n", "resilience.retry.budget_ratio", -1.0, "a number >= 0"),
        ("[resilience.timeout]\ndeadline_s = -1\n", "resilience.timeout.deadline_s", -1.0, "None is written 0"),
        (
            '[resilience.breaker]\nsliding_window = "sliding"\n',
            "resilience.breaker.sliding_window",
            "sliding",
            "'count'",
        ),
    ],
)
def test_a_value_a_policy_refuses_names_the_key_the_value_and_what_is_expected(
    tmp_path: Path, text: str, key: str, given: object, expected: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, text), env={})
    assert (info.value.key, info.value.given) == (key, given)
    assert expected in info.value.expected
    assert info.value.origin == str(tmp_path / "config.toml")


def test_a_refused_environment_value_names_the_variable() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(None, env={"BEING_RESILIENCE_BULKHEAD_MAX_CONCURRENT": "0"})
    assert info.value.key == "BEING_RESILIENCE_BULKHEAD_MAX_CONCURRENT"
    assert (info.value.given, info.value.expected, info.value.origin) == (0, "an integer >= 1", "environment")


def test_a_zero_window_or_deadline_means_none() -> None:
    env = {"BEING_RESILIENCE_BUDGET_ENABLED": "true", "BEING_RESILIENCE_BUDGET_WINDOW_S": "0"}
    env["BEING_RESILIENCE_TIMEOUT_DEADLINE_S"] = "0"
    policies = load_settings(None, env=env).resilience.policies()
    assert policies.budget is not None and policies.budget.window_s is None
    assert policies.deadline_s is None and policies.timeout_s is not None


def test_a_bad_resilience_setting_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[resilience.rate_limit]\nburst = 0.5\n")
    with pytest.raises(SystemExit) as info:
        main(["check", "--config", str(path)])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"being: setting resilience.rate_limit.burst = 0.5 ({path}): expected a number >= 1"]
