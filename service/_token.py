"""The service's token: where it comes from, the file it is written to, where a client finds it.

In order, the first that is set (``docs/http.md``, "Authentication"):

1. the environment variable named by ``http.token_env`` (never a ``BEING_*`` name, so the token
   is never a setting and never sits in ``config.toml``);
2. the file named by ``http.token_file`` (its first line);
3. otherwise a random token made at start and written to ``<database>.token``, mode 0600,
   beside the address file ``<database>.service.json``, and removed at a graceful stop.

The CLI looks in the same order, so it finds the token of the service that holds the database.
A :class:`ServiceToken` never shows its value in ``repr`` or ``str``: it cannot reach a log by
accident.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from service.errors import StartupError
from service.settings import HttpSettings, Settings

__all__ = [
    "TOKEN_MAX_CHARS",
    "TOKEN_MIN_CHARS",
    "ServiceToken",
    "client_token",
    "forget_token",
    "given_token",
    "publish_token",
    "service_token",
    "token_path",
]

TOKEN_MIN_CHARS = 16
TOKEN_MAX_CHARS = 512
_GENERATED_BYTES = 32
_FILE_MAX_BYTES = 4096

Source = Literal["environment", "file", "generated"]


@dataclass(frozen=True, slots=True)
class ServiceToken:
    """The token and where it came from.

    Attributes:
        value: the token (never shown by ``repr``).
        source: ``environment``, ``file`` or ``generated``.
        where: the variable's name or the file's path (for the log; never the token).
    """

    value: str = field(repr=False)
    source: Source
    where: str

    def matches(self, candidate: str) -> bool:
        """True when ``candidate`` is the token, compared in constant time."""
        return hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"), self.value.encode("utf-8"))


def token_path(database_path: str | Path) -> Path:
    """``<database>.token``: where a generated token is written."""
    return Path(f"{database_path}.token")


def _checked(text: str, where: str) -> str:
    token = text.strip()
    if not TOKEN_MIN_CHARS <= len(token) <= TOKEN_MAX_CHARS:
        raise StartupError(
            f"the token in {where} has {len(token)} characters; expected {TOKEN_MIN_CHARS} to {TOKEN_MAX_CHARS}"
        )
    if not all("!" <= c <= "~" for c in token):
        raise StartupError(f"the token in {where}: expected printable ASCII without spaces")
    return token


def _first_line(path: Path, where: str) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(_FILE_MAX_BYTES + 1)
    except OSError as exc:
        raise StartupError(f"cannot read the token from {where}: {exc.strerror or exc}") from exc
    if len(raw) > _FILE_MAX_BYTES:
        raise StartupError(f"{where} is larger than {_FILE_MAX_BYTES} bytes: not a token file")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise StartupError(f"the token in {where}: expected printable ASCII without spaces") from None
    lines = text.splitlines()
    return lines[0] if lines else ""


def given_token(http: HttpSettings, env: Mapping[str, str]) -> ServiceToken | None:
    """The token given by the variable ``http.token_env`` or the file ``http.token_file``, or ``None``.

    Raises:
        StartupError: the variable or the file holds no usable token, or the file cannot be read.
    """
    text = env.get(http.token_env)
    if text:
        where = f"the environment variable {http.token_env}"
        return ServiceToken(_checked(text, where), "environment", http.token_env)
    if http.token_file:
        where = f"http.token_file ({http.token_file})"
        return ServiceToken(_checked(_first_line(Path(http.token_file), where), where), "file", http.token_file)
    return None


def service_token(settings: Settings, env: Mapping[str, str]) -> ServiceToken:
    """The token the service starts with: the given one, else a fresh random one (not yet written).

    Raises:
        StartupError: a given token is unusable (see :func:`given_token`).
    """
    given = given_token(settings.http, env)
    if given is not None:
        return given
    where = str(token_path(settings.storage.database_path))
    return ServiceToken(secrets.token_urlsafe(_GENERATED_BYTES), "generated", where)


def publish_token(database_path: str | Path, token: ServiceToken) -> Path:
    """Write a generated token to ``<database>.token``, mode 0600, whole (a temporary renamed over it).

    Raises:
        StartupError: the file cannot be written.
    """
    target = token_path(database_path)
    temporary = target.with_name(target.name + ".tmp")
    try:
        temporary.unlink(missing_ok=True)  # O_EXCL below: never reuse a file someone else made
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
            os.write(fd, (token.value + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        temporary.replace(target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise StartupError(f"cannot write the token file {target}: {exc.strerror or exc}") from exc
    return target


def forget_token(database_path: str | Path) -> None:
    """Remove ``<database>.token`` (at a graceful stop)."""
    token_path(database_path).unlink(missing_ok=True)


def client_token(settings: Settings, env: Mapping[str, str] | None = None) -> str | None:
    """The token a command sends to the service of these settings, or ``None`` when none is found.

    Raises:
        StartupError: a given token is unusable, or ``<database>.token`` exists but cannot be read.
    """
    given = given_token(settings.http, os.environ if env is None else env)
    if given is not None:
        return given.value
    path = token_path(settings.storage.database_path)
    if not path.exists():
        return None
    text = _first_line(path, str(path)).strip()
    return text or None
