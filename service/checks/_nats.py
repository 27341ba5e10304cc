"""The check of ``[nats]``: with it enabled, a NATS server with JetStream answers at ``nats.url``.

Critical: a being told to take its messages from NATS that cannot reach it would start deaf to
them. One connection, no reconnects, within ``checks.remote_timeout_s``; then JetStream's account
info (a server started without ``-js`` answers the connection but not that).
"""

from __future__ import annotations

import asyncio

import nats
import nats.errors
import nats.js.errors

from service.checks._check import Check, CheckFailed, Probe, Severity

__all__ = ["NATS_CHECKS"]


async def _ask(url: str, limit: float) -> str:
    errors: list[str] = []

    async def kept(exc: Exception) -> None:
        errors.append(str(exc) or type(exc).__name__)

    servers = [part.strip() for part in url.split(",")]
    try:
        nc = await asyncio.wait_for(
            nats.connect(
                servers, connect_timeout=limit, allow_reconnect=False, max_reconnect_attempts=0, error_cb=kept
            ),
            timeout=limit * 2,
        )
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        why = errors[-1] if errors else str(exc) or type(exc).__name__
        raise CheckFailed(f"no answer within {limit:g} s ({why})") from exc
    try:
        info = await nc.jetstream(timeout=limit).account_info()
    except (TimeoutError, nats.errors.Error) as exc:
        why = str(exc) or type(exc).__name__
        raise CheckFailed(f"the server answers but JetStream does not ({why}): start it with -js") from exc
    finally:
        await nc.close()
    return f"{info.streams} streams, {info.consumers} consumers"


def _nats(probe: Probe) -> str:
    settings = probe.settings.nats
    if not settings.enabled:
        return "nats.enabled is false: nothing to reach"
    where = settings.shown_url()
    try:
        found = asyncio.run(_ask(settings.url, probe.settings.checks.remote_timeout_s))
    except CheckFailed as exc:
        raise CheckFailed(f"{where}: {exc}; start nats-server -js there, or set nats.enabled = false") from exc
    return f"{where} answers with JetStream ({found})"


NATS_CHECKS = (Check(name="nats server", severity=Severity.CRITICAL, run=_nats),)
