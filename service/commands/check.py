"""``being check``: load the settings and check the machine can run the service, one line per check."""

from __future__ import annotations

import argparse
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import RedisError

from service.commands._common import EXIT_FAILED, EXIT_OK, add_config_option, load_or_exit
from service.commands._mind_checks import intentions_file, notes_folder
from service.errors import PortInUseError
from service.settings import Settings
from sinks import open_database
from streams.errors import BeingError

__all__ = ["register", "run_checks"]

Check = tuple[str, Callable[[Settings], str]]


def _data_folder(settings: Settings) -> str:
    folder = Path(settings.storage.database_path).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".being-check-"):
        pass
    return f"{folder} is writable"


def _inbox_folder(settings: Settings) -> str:
    folder = Path(settings.inbox.path).resolve().parent
    if not folder.is_dir():
        raise OSError(f"{folder} does not exist")
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".being-check-"):
        pass
    return f"{folder} is writable (inbox files are renamed there)"


def _port(settings: Settings) -> str:
    host, port = settings.http.host, settings.http.port
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:  # the same error `being run` stops with
            raise PortInUseError(host, port, exc.strerror or str(exc)) from exc
    return f"{host}:{port} is free"


def _database(settings: Settings) -> str:
    path = Path(settings.storage.database_path)
    if not path.exists():
        return f"{path} does not exist yet; `being run` creates it"
    con = open_database(path, threads=1, memory_limit_mb=settings.storage.duckdb_memory_limit_mb, read_only=True)
    con.close()
    return f"{path} opens and is not held by another process"


def _cache_store(settings: Settings) -> str:
    cache = settings.resilience.cache
    if not cache.enabled or cache.backend != "redis":
        return f"backend {cache.backend if cache.enabled else 'off'}: nothing to reach"
    address = cache.redis_address()
    client = redis.Redis(
        host=address.host,
        port=address.port,
        db=address.db,
        username=address.username,
        password=address.password,
        ssl=address.tls,
        socket_timeout=max(cache.store_timeout_s, 1.0),
    )
    try:
        client.ping()
    except RedisError as exc:
        # the service would run (every lookup a miss), but not as configured
        raise OSError(f"{cache.shown_redis_url()} does not answer: {exc}") from exc
    finally:
        client.close()
    return f"{cache.shown_redis_url()} answers"


CHECKS: tuple[Check, ...] = (
    ("data folder", _data_folder),
    ("inbox folder", _inbox_folder),
    ("http port", _port),
    ("database", _database),
    ("cache store", _cache_store),
    ("intentions file", intentions_file),
    ("notes folder", notes_folder),
)


def run_checks(settings: Settings, checks: tuple[Check, ...] = CHECKS) -> list[tuple[str, bool, str]]:
    """Run each check; a check fails by raising ``OSError`` or a project error (a ``BeingError``)."""
    results: list[tuple[str, bool, str]] = []
    for name, check in checks:
        try:
            results.append((name, True, check(settings)))
        except (OSError, BeingError) as exc:
            results.append((name, False, str(exc)))
    return results


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    print("ok    settings loaded" + (f" from {args.config}" if args.config else " (embedded defaults)"))
    results = run_checks(settings)
    for name, ok, detail in results:
        print(f"{'ok' if ok else 'FAIL':<5} {name}: {detail}")
    return EXIT_OK if all(ok for _, ok, _ in results) else EXIT_FAILED


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("check", help="check settings, data folder, port and database")
    add_config_option(parser)
    parser.set_defaults(handler=handle)
