"""``POST /backup?path=OUT``: a consistent backup made by the writer thread of the running service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from aiohttp import web

from service.errors import ServiceError, UsageError
from service.http._local_peer import refused_unless_local
from sinks import SinkError

__all__ = ["BACKUP_NOW", "BackupNow", "backup_route"]

BackupNow = Callable[[Path], "Future[dict[str, Any]]"]
BACKUP_NOW: web.AppKey[BackupNow | None] = web.AppKey("backup_now")
_MAX_PATH_CHARS = 4096


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def backup_route(request: web.Request) -> web.Response:
    """Back up into the new folder ``path`` (absolute, on the service's machine); answers with the manifest."""
    # it writes a copy of every memory to a path the caller names: never for the network
    if (refused := refused_unless_local(request, "POST /backup", "backup")) is not None:
        return refused
    backup_now = request.app[BACKUP_NOW]
    if backup_now is None:
        return _error(503, "backups are not available on this service")
    text = request.query.get("path", "")
    if not text or len(text) > _MAX_PATH_CHARS or "\x00" in text:
        return _error(400, f"path: expected an absolute folder path of 1 to {_MAX_PATH_CHARS} characters")
    out = Path(text)
    if not out.is_absolute():
        return _error(400, f"path: expected an absolute folder path, got {text!r}")
    try:
        manifest = await asyncio.wrap_future(backup_now(out))
    except UsageError as exc:
        return _error(400, str(exc))
    except (ServiceError, SinkError) as exc:
        return _error(500, str(exc))
    return web.json_response({**manifest, "path": str(out)})
