"""Whether a request comes from this machine: the routes that write or copy memory take no other."""

from __future__ import annotations

import ipaddress

from aiohttp import web

__all__ = ["from_this_machine"]


def from_this_machine(request: web.Request) -> bool:
    """True when the peer is a loopback address (the CLI on the same machine or in the same container)."""
    peer = request.remote or ""
    try:
        return ipaddress.ip_address(peer.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
