"""Checks of who may use the service: the bearer token it will start with (never shown)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from service._token import given_token, token_path
from service.checks._check import Check, CheckFailed, Probe, Severity
from service.errors import StartupError

__all__ = ["ACCESS_CHECKS"]


def _token(probe: Probe) -> str:
    http = probe.settings.http
    try:
        given = given_token(http, probe.env)  # what `being run` would start with, read the same way
    except StartupError as exc:  # the same line `being run` would stop with
        raise CheckFailed(str(exc)) from exc
    if given is None:
        where = token_path(probe.settings.storage.database_path)
        return f"no token given ({http.token_env} unset, no http.token_file): a new one is written to {where} at start"
    if given.source == "environment":
        return f"a token of {len(given.value)} characters from the environment variable {http.token_env}"
    return f"a token of {len(given.value)} characters from http.token_file ({given.where})"


def _token_file_mode(probe: Probe) -> str:
    http = probe.settings.http
    if not http.token_file or probe.env.get(http.token_env):
        return "no http.token_file in use"
    try:
        mode = stat.S_IMODE(os.stat(Path(http.token_file)).st_mode)
    except OSError as exc:  # the token check says why it cannot be read
        return f"http.token_file ({http.token_file}) cannot be looked at: {exc.strerror or exc}"
    if mode & 0o077:
        raise CheckFailed(
            f"http.token_file ({http.token_file}) is open to other users (mode {mode:04o}): chmod 600 it, or pass "
            f"the token in {http.token_env}"
        )
    return f"http.token_file ({http.token_file}) is for its owner only (mode {mode:04o})"


ACCESS_CHECKS = (
    Check(name="token", severity=Severity.CRITICAL, run=_token),
    Check(name="token file mode", severity=Severity.WARNING, run=_token_file_mode),
)
