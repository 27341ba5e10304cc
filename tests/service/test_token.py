"""Where the token comes from, the file a generated one is written to, and where a client finds it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from service._service_access import console_url, forget_token, publish_token
from service._token import client_token, given_token, service_token, token_path
from service.errors import StartupError
from service.settings import HttpSettings, Settings, SettingsError, StorageSettings, load_settings

GIVEN = "a-given-token-of-enough-length"


def _settings(tmp_path: Path, **http: object) -> Settings:
    return Settings(
        storage=StorageSettings(database_path=str(tmp_path / "being.duckdb")),
        http=HttpSettings(**http),  # type: ignore[arg-type]
    )


def test_the_variable_comes_first_then_the_file_then_a_generated_one(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-the-file-0123456789\nignored second line\n")
    settings = _settings(tmp_path, token_file=str(secret))
    from_env = service_token(settings, {"DIGITAL_BEING_TOKEN": GIVEN})
    assert (from_env.value, from_env.source, from_env.where) == (GIVEN, "environment", "DIGITAL_BEING_TOKEN")
    from_file = service_token(settings, {})
    assert (from_file.value, from_file.source) == ("from-the-file-0123456789", "file")
    made = service_token(_settings(tmp_path), {})
    again = service_token(_settings(tmp_path), {})
    assert made.source == "generated" and made.where == str(tmp_path / "being.duckdb.token")
    assert len(made.value) >= 40 and made.value != again.value  # random at each start


def test_the_variable_can_be_renamed(tmp_path: Path) -> None:
    settings = _settings(tmp_path, token_env="MY_TOKEN")
    assert service_token(settings, {"MY_TOKEN": GIVEN, "DIGITAL_BEING_TOKEN": "other-token-0123456789"}).value == GIVEN


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("short\n", "16 to 512"),
        ("", "16 to 512"),
        ("has a space in the middle\n", "printable ASCII"),
        ("x" * 600, "16 to 512"),
        ("\u00e9" * 20, "printable ASCII"),
    ],
)
def test_an_unusable_token_file_stops_the_start_with_one_line(tmp_path: Path, content: str, expected: str) -> None:
    secret = tmp_path / "secret"
    secret.write_text(content, encoding="utf-8")
    with pytest.raises(StartupError, match=expected):
        service_token(_settings(tmp_path, token_file=str(secret)), {})


def test_a_missing_token_file_or_a_bad_variable_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="cannot read the token"):
        service_token(_settings(tmp_path, token_file=str(tmp_path / "nope")), {})
    with pytest.raises(StartupError, match="DIGITAL_BEING_TOKEN"):
        service_token(_settings(tmp_path), {"DIGITAL_BEING_TOKEN": "too short"})
    with pytest.raises(StartupError, match="larger than"):
        big = tmp_path / "big"
        big.write_bytes(b"x" * 10_000)
        service_token(_settings(tmp_path, token_file=str(big)), {})


def test_the_token_is_never_a_being_setting() -> None:
    with pytest.raises(SettingsError, match="BEING_"):
        load_settings(env={"BEING_HTTP_TOKEN_ENV": "BEING_SECRET"})
    with pytest.raises(SettingsError, match="no such setting"):
        load_settings(env={"BEING_HTTP_TOKEN": "abc"})
    with pytest.raises(ValueError, match="environment variable name"):
        HttpSettings(token_env="has space")


def test_a_generated_token_is_written_0600_and_removed_at_stop(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    token = service_token(settings, {})
    old_umask = os.umask(0)  # a careless umask must not make the file readable by others
    try:
        publish_token(settings.storage.database_path, token)
    finally:
        os.umask(old_umask)
    path = token_path(settings.storage.database_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == token.value + "\n"
    assert not (tmp_path / "being.duckdb.token.tmp").exists()
    assert client_token(settings, {}) == token.value
    forget_token(settings.storage.database_path, token)
    assert not path.exists()
    assert client_token(settings, {}) is None


def test_a_given_token_is_not_written_beside_the_database(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    token = service_token(settings, {"DIGITAL_BEING_TOKEN": GIVEN})
    publish_token(settings.storage.database_path, token)
    assert not token_path(settings.storage.database_path).exists()
    forget_token(settings.storage.database_path, token)  # and a stop removes nothing it did not write


def test_a_stale_temporary_of_someone_else_is_not_reused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    stale = tmp_path / "being.duckdb.token.tmp"
    stale.write_text("planted")
    stale.chmod(0o644)
    token = service_token(settings, {})
    publish_token(settings.storage.database_path, token)
    path = token_path(settings.storage.database_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text().strip() == token.value


def test_the_client_looks_in_the_service_order(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-the-file-0123456789\n")
    token_path(tmp_path / "being.duckdb").write_text("from-the-database-file-0123\n")
    assert client_token(_settings(tmp_path), {"DIGITAL_BEING_TOKEN": GIVEN}) == GIVEN
    assert client_token(_settings(tmp_path, token_file=str(secret)), {}) == "from-the-file-0123456789"
    assert client_token(_settings(tmp_path), {}) == "from-the-database-file-0123"
    assert given_token(HttpSettings(), {}) is None


def test_the_console_link_keeps_the_token_in_the_fragment() -> None:
    assert console_url("127.0.0.1", 8766, "abc") == "http://127.0.0.1:8766/#token=abc"
    assert console_url("0.0.0.0", 1, "abc") == "http://127.0.0.1:1/#token=abc"
    assert console_url("::1", 2, "abc") == "http://[::1]:2/#token=abc"
