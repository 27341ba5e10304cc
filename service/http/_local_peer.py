"""Whether a request comes from this machine: the routes that write or copy memory take no other."""

from __future__ import annotations

import ipaddress

from aiohttp import web

__all__ = ["from_this_machine", "refused_unless_local"]


def from_this_machine(request: web.Request) -> bool:
    """True when the peer is a loopback address (the CLI on the same machine or in the same container)."""
    peer = request.remote or ""
    try:
        return ipaddress.ip_address(peer.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def refused_unless_local(request: web.Request, route: str, command: str) -> web.Response | None:
    """A 403 saying ``ROUTE`` is for this machine and ``being COMMAND`` the way, for a request from elsewhere.

    Returns:
        ``None`` when the request comes from this machine and may go on.
    """
    if from_this_machine(request):
        return None
    message = f"{route} is accepted only from this machine; run `being {command}` here"
    return web.json_response({"error": message}, status=403)
