"""A settings error never shows the password of a URL: not the value, not its section, not the check's own words.

Run as an operator meets it: ``being check`` on a config.toml (or a ``BEING_*`` variable) whose
section holds a URL with credentials and one bad value.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from service.settings._errors import without_credentials
from tests.e2e.service_process import being_command

SECRET = "s3cr@t-pw"

CASES = [
    # a bad port: the check's message quotes the URL
    ("[resilience.shared_limits]", f'backend = "redis"\nredis_url = "redis://:{SECRET}@10.0.0.5:99999/0"'),
    # a good URL, another key of its section bad: the section is shown whole
    (
        "[resilience.shared_limits]",
        f'backend = "redis"\nredis_url = "redis://ana:{SECRET}@10.0.0.5:6379/0"\nkey_prefix = "no spaces allowed"',
    ),
    ("[tracing]", f'enabled = true\nendpoint = "ftp://key:{SECRET}@collector/v1/traces"'),
    ("[nats]", f'enabled = true\nurl = "nats://ana:{SECRET}@h:4222,nats://bo:{SECRET}@h2:4222/path"'),
]


@pytest.mark.parametrize(("header", "body"), CASES)
def test_being_check_names_the_setting_and_never_shows_the_password(tmp_path: Path, header: str, body: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"{header}\n{body}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEING_")}
    done = subprocess.run(
        [*being_command(), "check", "--config", str(path)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode != 0
    assert "being: setting " in done.stderr and "***@" in done.stderr, done.stderr
    assert SECRET not in done.stderr + done.stdout and "s3cr" not in done.stderr


def test_a_variable_with_a_bad_url_is_shown_without_its_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEING_")}
    env["BEING_RESILIENCE_SHARED_LIMITS_BACKEND"] = "redis"
    env["BEING_RESILIENCE_SHARED_LIMITS_REDIS_URL"] = f"redis://:{SECRET}@h:0x1/0"
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    done = subprocess.run(
        [*being_command(), "check", "--config", str(tmp_path / "config.toml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode != 0 and "redis_url" in done.stderr, done.stderr
    assert "s3cr" not in done.stderr


def test_without_credentials_keeps_the_rest_of_the_text() -> None:
    assert (
        without_credentials("got 'redis://:a@b@host:1/0' and http://h/x@y")
        == "got 'redis://***@host:1/0' and http://h/x@y"
    )
    assert without_credentials("nats://u:p@h1:4222, tls://h2") == "nats://***@h1:4222, tls://h2"
