"""The C heap of a long-running service: fewer glibc arenas, and free pages handed back to the system.

glibc's ``malloc`` gives each thread that contends for it an arena of its own, up to eight per
core, and keeps the pages freed in each arena for later; the service's threads (the writer,
DuckDB's, the HTTP server's, the embedder's) each touch one. Measured with
``python -m benchmarks e2e --memory`` style runs of 30,000 messages (default settings but a DuckDB
limit of 64 MB), the resident size at the end was 303 MB with glibc's defaults and 289 MB with
two arenas, and ``malloc_trim(0)`` then took it to 278 to 282 MB. So ``being run`` asks for two
arenas (unless ``MALLOC_ARENA_MAX`` is set: then glibc already read the operator's choice) and
trims the heap once a minute on the event loop.

Elsewhere (musl, macOS) neither call exists and both are skipped: nothing here is needed for
correctness.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import os
import platform
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ARENAS", "TRIM_INTERVAL_S", "limit_arenas", "trim_heap", "trim_heap_every"]

log = logging.getLogger("service")

ARENAS = 2
"""glibc arenas ``being run`` asks for (``M_ARENA_MAX``)."""
TRIM_INTERVAL_S = 60.0
"""How often the running service hands its C heap's free pages back (``malloc_trim``)."""
_M_ARENA_MAX = -8  # from glibc's malloc.h


@functools.cache
def _glibc() -> Any | None:
    """The process's own C library when it is glibc (its symbols, loaded already: no lookup of a file)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    return ctypes.CDLL(None)


def limit_arenas(environ: Mapping[str, str] = os.environ) -> int | None:
    """Ask glibc for at most :data:`ARENAS` arenas; returns the number set, ``None`` when left alone."""
    if "MALLOC_ARENA_MAX" in environ:
        return None  # the operator's own choice, read by glibc at start
    libc = _glibc()
    if libc is None:
        return None
    if libc.mallopt(ctypes.c_int(_M_ARENA_MAX), ctypes.c_int(ARENAS)) != 1:
        log.warning("heap.arenas_refused", extra={"arenas": ARENAS})
        return None
    return ARENAS


def trim_heap() -> bool:
    """Hand the C heap's free pages back to the system; ``True`` when glibc released some."""
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(ctypes.c_size_t(0)))


async def trim_heap_every(interval_s: float = TRIM_INTERVAL_S, trim: Callable[[], object] = trim_heap) -> None:
    """``trim`` (:func:`trim_heap`) every ``interval_s`` until cancelled (a task of the running service).

    On the event loop: measured at 2.5 to 10 ms a call on a heap of a few hundred MB, once a minute.
    """
    while True:
        await asyncio.sleep(interval_s)
        trim()
