"""What ``POST /messages`` accepts: the headers and the JSON body, checked strictly before anything is stored.

Each refusal is a :class:`BodyRefused` with the status and a message naming the header, field or
setting (see docs/http.md, "Messages"): 415 not JSON by its ``Content-Type``; 400 a body that is
not UTF-8 JSON holding one object, or a bad ``Idempotency-Key``; 422 a field missing, of the
wrong type, empty, too long, or unknown. The body's rules live in ``streams`` (the JetStream
source reads the same bodies); the headers are HTTP's own.
"""

from __future__ import annotations

from aiohttp import web

from streams import FIELDS, BodyRefused, MessageBody, MessageLimits, parse_body
from streams._message_body import shown

__all__ = [
    "FIELDS",
    "KEY_MAX_CHARS",
    "BodyRefused",
    "MessageBody",
    "MessageLimits",
    "check_content_type",
    "idempotency_key",
    "parse_body",
]

KEY_MAX_CHARS = 200


def check_content_type(request: web.Request) -> None:
    """Refuse (415) a body that does not say it is JSON in UTF-8."""
    if request.content_type != "application/json":
        given = request.headers.get("Content-Type", "")
        raise BodyRefused(415, f"Content-Type: expected application/json, got {shown(given) if given else 'none'}")
    charset = request.charset
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        raise BodyRefused(415, f"Content-Type: expected charset utf-8, got {shown(charset)}")


def idempotency_key(request: web.Request) -> str | None:
    """The ``Idempotency-Key`` header: 1 to 200 visible ASCII characters, once (``None``: not sent)."""
    values = request.headers.getall("Idempotency-Key", [])
    if not values:
        return None
    if len(values) > 1:
        raise BodyRefused(400, "Idempotency-Key: expected one header, got several")
    key = values[0]
    if not 1 <= len(key) <= KEY_MAX_CHARS or not all("!" <= c <= "~" for c in key):
        raise BodyRefused(
            400, f"Idempotency-Key: expected 1 to {KEY_MAX_CHARS} visible ASCII characters, got {shown(key)}"
        )
    return key
