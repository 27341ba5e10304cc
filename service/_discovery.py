"""Where a running service can be reached: a small file beside the database, written at start.

The CLI (``being episodes``, ``being search``...) reads it to talk to the service that holds
the database, even when the port was chosen by the system (``port = 0``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServiceAddress", "discovery_path", "forget_address", "publish_address", "read_address"]


@dataclass(frozen=True, slots=True)
class ServiceAddress:
    """Host, port and pid of a running service."""

    host: str
    port: int
    pid: int

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else "[::1]" if self.host == "::" else self.host
        return f"http://{host}:{self.port}"


def discovery_path(database_path: str | Path) -> Path:
    """``<database>.service.json``."""
    return Path(f"{database_path}.service.json")


def publish_address(database_path: str | Path, address: ServiceAddress) -> None:
    """Write the address atomically (rename over the old file)."""
    target = discovery_path(database_path)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps({"host": address.host, "port": address.port, "pid": address.pid}))
    temporary.replace(target)


def forget_address(database_path: str | Path) -> None:
    """Remove the address file (at shutdown)."""
    discovery_path(database_path).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_address(database_path: str | Path) -> ServiceAddress | None:
    """The published address of a live service, or ``None`` (no file, a stale file, or garbage)."""
    try:
        data = json.loads(discovery_path(database_path).read_text())
        address = ServiceAddress(host=str(data["host"]), port=int(data["port"]), pid=int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return address if _alive(address.pid) else None
