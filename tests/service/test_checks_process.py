"""Startup checks of the port, the open-files limit and memory: real sockets, real limits, real cgroup files."""

from __future__ import annotations

import errno
import os
import resource
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.checks import Severity
from service.settings import HttpSettings, Settings, StorageSettings
from tests.service.checks_support import result_of

GIB_DUCKDB = Settings(storage=StorageSettings(duckdb_memory_limit_mb=1024))
"""Settings with a 1 GiB DuckDB limit, which the machines below are measured against."""


def test_an_occupied_port_fails_naming_the_address_and_a_free_one_passes() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        failed = result_of("http port", Settings(http=HttpSettings(host="127.0.0.1", port=port)))
    assert not failed.ok and failed.severity is Severity.CRITICAL
    assert failed.detail == (
        f"cannot serve HTTP on 127.0.0.1:{port}: {os.strerror(errno.EADDRINUSE)} (see http.host and http.port)"
    )
    passed = result_of("http port", Settings(http=HttpSettings(host="127.0.0.1", port=port)))
    assert (passed.ok, passed.detail) == (True, f"127.0.0.1:{port} is free")


@pytest.fixture
def low_fd_limit() -> Iterator[int]:
    """This process's soft open-files limit lowered to 200 (raised back after: it stays under the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (200, hard))
    try:
        yield 200
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_an_open_files_limit_below_the_connections_fails(low_fd_limit: int) -> None:
    many = Settings(http=HttpSettings(max_connections=500))
    failed = result_of("open files limit", many)
    assert not failed.ok
    assert failed.detail.startswith(f"open files limited to {low_fd_limit} (hard ")
    assert "below http.max_connections 500 + llm.max_connections 8 + 64" in failed.detail
    few = result_of("open files limit", Settings(http=HttpSettings(max_connections=100)))
    assert few.ok and few.detail == f"open files limit {low_fd_limit}, at least 172 needed (http 100 + llm 8 + 64)"


def _machine(
    tmp_path: Path, *, cgroup_line: str, files: dict[str, str], total_kb: int, available_kb: int
) -> dict[str, Path]:
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text(cgroup_line + "\n", encoding="ascii")
    (proc / "meminfo").write_text(f"MemTotal: {total_kb} kB\nMemAvailable: {available_kb} kB\n", encoding="ascii")
    for name, text in files.items():
        (cgroup / name).parent.mkdir(parents=True, exist_ok=True)
        (cgroup / name).write_text(text + "\n", encoding="ascii")
    return {"proc": proc, "cgroup": cgroup}


def test_a_cgroup_v2_memory_max_below_duckdbs_limit_fails(tmp_path: Path) -> None:
    seams = _machine(
        tmp_path,
        cgroup_line="0::/system.slice/being.service",
        files={"system.slice/being.service/memory.max": str(512 * 1024 * 1024)},
        total_kb=16 * 1024 * 1024,
        available_kb=8 * 1024 * 1024,
    )
    failed = result_of("memory limit", GIB_DUCKDB, **seams)
    assert not failed.ok and failed.detail.startswith("the cgroup's limit (")
    assert "memory.max) is 512 MiB, below storage.duckdb_memory_limit_mb 1024 + 256" in failed.detail
    small = Settings(storage=StorageSettings(duckdb_memory_limit_mb=128))
    assert result_of("memory limit", small, **seams).ok


def test_a_cgroup_v1_limit_and_no_limit(tmp_path: Path) -> None:
    unlimited = _machine(
        tmp_path / "a",
        cgroup_line="4:memory:/docker/abc",
        files={"memory/docker/abc/memory.limit_in_bytes": "9223372036854771712"},
        total_kb=16 * 1024 * 1024,
        available_kb=8 * 1024 * 1024,
    )
    passed = result_of("memory limit", GIB_DUCKDB, **unlimited)
    assert passed.ok and passed.detail.startswith("the machine's memory (MemTotal) is 16384 MiB")
    limited = _machine(
        tmp_path / "b",
        cgroup_line="4:memory:/docker/abc",
        files={"memory/docker/abc/memory.limit_in_bytes": str(1024 * 1024 * 1024)},
        total_kb=16 * 1024 * 1024,
        available_kb=8 * 1024 * 1024,
    )
    assert "memory.limit_in_bytes) is 1024 MiB, below" in result_of("memory limit", GIB_DUCKDB, **limited).detail


def test_memory_available_is_a_warning(tmp_path: Path) -> None:
    seams = _machine(tmp_path, cgroup_line="0::/", files={}, total_kb=4 * 1024 * 1024, available_kb=600 * 1024)
    warned = result_of("memory available", GIB_DUCKDB, **seams)
    assert not warned.ok and warned.mark == "WARN" and warned.detail.startswith("600 MiB available now (MemAvailable)")


def test_this_machines_real_memory_is_read_and_an_impossible_limit_fails() -> None:
    huge = Settings(storage=StorageSettings(duckdb_memory_limit_mb=1 << 30))
    failed = result_of("memory limit", huge)
    assert not failed.ok and "below storage.duckdb_memory_limit_mb 1073741824 + 256" in failed.detail
