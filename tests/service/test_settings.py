"""Settings: defaults, the file, the environment, and one clear line for each kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings, SettingsError, load_settings


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
