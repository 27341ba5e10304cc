"""What the runtime says about its token at start: where it is (never what it is), and the console's link."""

from __future__ import annotations

import io
import logging

import pytest

from service._service_access import announce_token
from service._token import ServiceToken

SECRET = "never-in-a-log-0123456789abcdef"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_log_says_where_the_token_is_and_never_the_token(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with caplog.at_level(logging.INFO, logger="service.http"):
        announce_token(ServiceToken(SECRET, "generated", "/srv/being.duckdb.token"), "127.0.0.1", 8766)
    (record,) = caplog.records
    assert record.getMessage() == "http.auth"
    assert (record.token_source, record.token_where) == ("generated", "/srv/being.duckdb.token")  # type: ignore[attr-defined]
    assert SECRET not in caplog.text and all(SECRET not in str(r.__dict__) for r in caplog.records)
    assert terminal.getvalue() == f"console: http://127.0.0.1:8766/#token={SECRET}\n"  # to a person only


def test_no_link_is_printed_when_stderr_is_collected(monkeypatch: pytest.MonkeyPatch) -> None:
    collected = io.StringIO()
    monkeypatch.setattr("sys.stderr", collected)
    announce_token(ServiceToken(SECRET, "generated", "/srv/being.duckdb.token"), "127.0.0.1", 8766)
    assert SECRET not in collected.getvalue()


def test_a_generated_token_on_the_network_is_allowed_and_said_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="service.http"):
        announce_token(ServiceToken(SECRET, "generated", "/data/being.duckdb.token"), "0.0.0.0", 8766)
        announce_token(ServiceToken(SECRET, "environment", "DIGITAL_BEING_TOKEN"), "0.0.0.0", 8766)
        announce_token(ServiceToken(SECRET, "generated", "/data/being.duckdb.token"), "::1", 8766)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["http.auth.generated_on_network"]
    assert warnings[0].token_file == "/data/being.duckdb.token"  # type: ignore[attr-defined]
    assert SECRET not in caplog.text
