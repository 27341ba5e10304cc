"""The graceful stop's wait: in-flight work finishes until ``shutdown.drain_timeout_s``, then it is cut off."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from reactivex.abc import DisposableBase

__all__ = ["drain", "pipeline_failure"]

log = logging.getLogger("runtime")


def pipeline_failure(finished: asyncio.Future[None]) -> Exception | None:
    """The pipeline's own failure, when it ended with one (``None``: still running, or completed)."""
    if not finished.done():
        return None
    exc = finished.exception()
    if exc is None:
        return None
    log.error("pipeline.failed", extra={"error": str(exc)})
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


async def drain(
    finished: asyncio.Future[None], subscription: DisposableBase, *, timeout_s: float, pending_jobs: Callable[[], int]
) -> tuple[Exception | None, bool]:
    """Wait for in-flight work until the deadline; returns (the pipeline's failure, whether it was cut off).

    Cut off: the subscription is disposed (what was in flight is recorded by the caller's ``system.stop``).
    """
    try:
        await asyncio.wait_for(asyncio.shield(finished), timeout=timeout_s)
    except TimeoutError:
        log.error(
            "shutdown.drain_timeout",
            extra={"timeout_s": timeout_s, "pending_jobs": pending_jobs(), "note": "unacknowledged inbox files kept"},
        )
        subscription.dispose()
        return None, True
    except Exception as exc:  # noqa: BLE001 - the pipeline's own failure, reported in system.stop
        log.error("pipeline.failed", extra={"error": str(exc)})
        return exc, False
    log.info("shutdown.drained")
    return None, False
