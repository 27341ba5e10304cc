"""Startup checks of the token: what `being run` would start with, read the same way, never shown."""

from __future__ import annotations

from pathlib import Path

from service.checks import CheckResult, Probe, Severity, check_named, run_checks
from service.settings import HttpSettings, Settings, StorageSettings

TOKEN = "a-long-enough-token-for-the-service-0123456789"


def result(name: str, settings: Settings, env: dict[str, str]) -> CheckResult:
    [found] = run_checks(Probe(settings=settings, env=env), (check_named(name),))
    return found


def settings(tmp_path: Path, **http: object) -> Settings:
    storage = StorageSettings(database_path=str(tmp_path / "being.duckdb"))
    return Settings(http=HttpSettings(**http), storage=storage)  # type: ignore[arg-type]


def test_no_token_given_passes_and_says_where_one_is_written(tmp_path: Path) -> None:
    found = result("token", settings(tmp_path), {})
    assert found.ok and found.severity is Severity.CRITICAL
    assert str(tmp_path / "being.duckdb.token") in found.detail


def test_a_token_from_the_environment_passes_and_is_never_shown(tmp_path: Path) -> None:
    found = result("token", settings(tmp_path, token_env="MY_TOKEN"), {"MY_TOKEN": TOKEN})
    assert found.ok and "MY_TOKEN" in found.detail and f"{len(TOKEN)} characters" in found.detail
    assert TOKEN not in found.detail


def test_an_unusable_token_fails_with_the_line_being_run_stops_with(tmp_path: Path) -> None:
    short = result("token", settings(tmp_path, token_env="MY_TOKEN"), {"MY_TOKEN": "short"})
    assert not short.ok and "has 5 characters" in short.detail
    spaced = result("token", settings(tmp_path, token_env="MY_TOKEN"), {"MY_TOKEN": "with a space " * 4})
    assert not spaced.ok and "printable ASCII" in spaced.detail
    missing = result("token", settings(tmp_path, token_file=str(tmp_path / "nowhere")), {})
    assert not missing.ok and "cannot read the token" in missing.detail
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" * 40)
    assert not result("token", settings(tmp_path, token_file=str(binary)), {}).ok


def test_a_token_file_open_to_others_is_a_warning_and_an_owner_only_one_passes(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o644)
    wide = result("token file mode", settings(tmp_path, token_file=str(path)), {})
    assert not wide.ok and wide.severity is Severity.WARNING and "0644" in wide.detail and "chmod 600" in wide.detail
    assert result("token", settings(tmp_path, token_file=str(path)), {}).ok  # usable all the same
    path.chmod(0o600)
    assert result("token file mode", settings(tmp_path, token_file=str(path)), {}).ok
