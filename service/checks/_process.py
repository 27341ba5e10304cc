"""Checks of what the process gets from the machine: the HTTP port, file descriptors, memory."""

from __future__ import annotations

import resource
import socket
from pathlib import Path

from service.checks._check import Check, CheckFailed, Probe, Severity
from service.errors import PortInUseError

__all__ = ["FD_RESERVE", "PROCESS_CHECKS", "PROCESS_MEMORY_MB", "memory_cap_bytes"]

FD_RESERVE = 64
"""Descriptors the service needs besides connections: DuckDB's files, inbox claims, logs, the loop."""

PROCESS_MEMORY_MB = 256
"""What the process needs besides DuckDB's memory limit: Python, the vector index's overhead, buffers."""

_NO_LIMIT = 1 << 60  # cgroup v1 writes "no limit" as a huge page-aligned number
_MB = 1024 * 1024


def _port(probe: Probe) -> str:
    host, port = probe.settings.http.host, probe.settings.http.port
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:  # the same error `being run` stops with
            raise PortInUseError(host, port, exc.strerror or str(exc)) from exc
    if port == 0:
        return f"{shown}: a free port is picked at start"
    return f"{shown} is free"


def _fd_limit(probe: Probe) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    http, llm = probe.settings.http.max_connections, probe.settings.llm.max_connections
    need = http + llm + FD_RESERVE
    shown = "unlimited" if soft == resource.RLIM_INFINITY else str(soft)
    if soft != resource.RLIM_INFINITY and soft < need:
        raise CheckFailed(
            f"open files limited to {shown} (hard {hard}), below http.max_connections {http} + llm.max_connections "
            f"{llm} + {FD_RESERVE} for files: raise it (ulimit -n, systemd LimitNOFILE=, docker --ulimit nofile=)"
        )
    return f"open files limit {shown}, at least {need} needed (http {http} + llm {llm} + {FD_RESERVE})"


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if text == "max" or not text.isdigit():
        return None
    value = int(text)
    return None if value >= _NO_LIMIT else value


def _own_cgroups(proc: Path) -> dict[str, str]:
    """Controller → this process's cgroup path (``""`` is cgroup v2's); empty where there is no such file."""
    own: dict[str, str] = {}
    try:
        lines = (proc / "self" / "cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return own  # not Linux, or no /proc: the mount roots are all there is to read
    for line in lines:
        _, _, rest = line.partition(":")
        controllers, _, where = rest.partition(":")
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = where.lstrip("/")
    return own


def memory_cap_bytes(proc: Path, cgroup: Path) -> tuple[int, str] | None:
    """The process's cgroup memory limit and the file it was read from (v2 ``memory.max``, v1
    ``memory.limit_in_bytes``), or ``None`` when there is none."""
    own = _own_cgroups(proc)
    candidates = [
        cgroup / own.get("", "") / "memory.max",
        cgroup / "memory.max",
        cgroup / "memory" / own.get("memory", "") / "memory.limit_in_bytes",
        cgroup / "memory" / "memory.limit_in_bytes",
    ]
    for path in candidates:
        value = _read_int(path)
        if value is not None:
            return value, str(path)
    return None


def _meminfo(proc: Path) -> dict[str, int]:
    """``/proc/meminfo`` in bytes (empty when it cannot be read)."""
    values: dict[str, int] = {}
    try:
        lines = (proc / "meminfo").read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return values
    for line in lines:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name.strip()] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return values


def _needed_mb(probe: Probe) -> tuple[int, int]:
    duck = probe.settings.storage.duckdb_memory_limit_mb
    return duck, duck + PROCESS_MEMORY_MB


def _memory_limit(probe: Probe) -> str:
    duck, need = _needed_mb(probe)
    caps: list[tuple[int, str]] = []
    total = _meminfo(probe.proc).get("MemTotal")
    if total is not None:
        caps.append((total, "the machine's memory (MemTotal)"))
    cap = memory_cap_bytes(probe.proc, probe.cgroup)
    if cap is not None:
        caps.append((cap[0], f"the cgroup's limit ({cap[1]})"))
    if not caps:
        return "no memory limit or total could be read; not compared"
    size, what = min(caps)
    if size // _MB < need:
        raise CheckFailed(
            f"{what} is {size // _MB} MiB, below storage.duckdb_memory_limit_mb {duck} + {PROCESS_MEMORY_MB} for "
            "the process: lower duckdb_memory_limit_mb or give the service more memory"
        )
    return f"{what} is {size // _MB} MiB, room for DuckDB's {duck} MiB + {PROCESS_MEMORY_MB}"


def _memory_available(probe: Probe) -> str:
    duck, need = _needed_mb(probe)
    available = _meminfo(probe.proc).get("MemAvailable")
    if available is None:
        return "MemAvailable could not be read; not compared"
    if available // _MB < need:
        raise CheckFailed(
            f"{available // _MB} MiB available now (MemAvailable), below storage.duckdb_memory_limit_mb {duck} + "
            f"{PROCESS_MEMORY_MB}: DuckDB may fail or the kernel kill the service under load"
        )
    return f"{available // _MB} MiB available now, room for DuckDB's {duck} MiB + {PROCESS_MEMORY_MB}"


PROCESS_CHECKS = (
    Check(name="http port", severity=Severity.CRITICAL, run=_port),
    Check(name="open files limit", severity=Severity.CRITICAL, run=_fd_limit),
    Check(name="memory limit", severity=Severity.CRITICAL, run=_memory_limit),
    Check(name="memory available", severity=Severity.WARNING, run=_memory_available),
)
