"""The body of a message sent to the being (``POST /messages``, a JetStream message): JSON, checked strictly.

``{"text": str, "urgent"?: bool, "sender"?: str | null}``. Each refusal is a :class:`BodyRefused`
with a message naming the field or setting and the status HTTP answers it with (see docs/http.md,
"Messages"): 400 a body that is not UTF-8 JSON holding one object; 422 a field missing, of the
wrong type, empty, too long, or unknown. A JetStream message refused here becomes a dead letter.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any

from streams._inbox_decoding import blank

__all__ = ["FIELDS", "BodyRefused", "MessageBody", "MessageLimits", "parse_body", "shown"]

FIELDS = frozenset({"text", "urgent", "sender"})


class BodyRefused(Exception):
    """A message body refused, with the HTTP status ``POST /messages`` answers it with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageLimits:
    """How big a message may be.

    Args:
        max_text_bytes: the most UTF-8 bytes of ``text``.
        max_sender_chars: the most characters of ``sender``.
    """

    max_text_bytes: int = 65536
    max_sender_chars: int = 100

    def __post_init__(self) -> None:
        for name in ("max_text_bytes", "max_sender_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"MessageLimits.{name}: expected >= 1, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageBody:
    """A body that passed every check."""

    text: str
    urgent: bool
    sender: str | None


def shown(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise BodyRefused(400, f"body: the field {shown(key)} appears twice")
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise BodyRefused(400, f"body: {name} is not JSON")


def _unicode_problem(value: str) -> str | None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone surrogate (\\ud800-\\udfff), which is not text"
    return None


def _text(value: Any, limits: MessageLimits) -> str:
    if not isinstance(value, str):
        raise BodyRefused(422, f"text: expected a string, got {_kind(value)}")
    problem = _unicode_problem(value)
    if problem is not None:
        raise BodyRefused(422, f"text: {problem}")
    if "\x00" in value:
        raise BodyRefused(422, "text: holds a NUL character")
    if blank(value):
        raise BodyRefused(422, "text: expected a message, got only white space" if value else "text: is empty")
    size = len(value.encode("utf-8"))
    if size > limits.max_text_bytes:
        raise BodyRefused(422, f"text: {size} UTF-8 bytes is more than ingest.max_text_bytes ({limits.max_text_bytes})")
    return value


def _sender(value: Any, limits: MessageLimits) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BodyRefused(422, f"sender: expected a string or null, got {_kind(value)}")
    problem = _unicode_problem(value)
    if problem is not None:
        raise BodyRefused(422, f"sender: {problem}")
    if not value or blank(value):
        raise BodyRefused(422, "sender: expected a name, got an empty string (send null or leave it out)")
    if len(value) > limits.max_sender_chars:
        raise BodyRefused(
            422, f"sender: {len(value)} characters is more than ingest.max_sender_chars ({limits.max_sender_chars})"
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        raise BodyRefused(422, f"sender: holds a control or format character: {value.encode('unicode_escape')!r}")
    return value


def parse_body(raw: bytes, limits: MessageLimits) -> MessageBody:
    """The message a body holds, or :class:`BodyRefused` saying why not."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyRefused(400, f"body: not UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 1]!r})") from None
    text = text.removeprefix("\ufeff")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BodyRefused(400, f"body: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BodyRefused(400, "body: not JSON this service reads: nested too deeply") from None
    except ValueError:  # json.loads's one ValueError beyond JSONDecodeError: an integer too long to convert
        digits = sys.get_int_max_str_digits()
        raise BodyRefused(400, f"body: not JSON this service reads: a number of more than {digits} digits") from None
    if not isinstance(data, dict):
        raise BodyRefused(400, f"body: expected a JSON object, got {_kind(data)}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise BodyRefused(422, f"body: unknown field {shown(unknown[0])} (expected only {', '.join(sorted(FIELDS))})")
    if "text" not in data:
        raise BodyRefused(422, "text: missing (the message to send)")
    urgent = data.get("urgent", False)
    if not isinstance(urgent, bool):
        raise BodyRefused(422, f"urgent: expected true or false, got {_kind(urgent)}")
    return MessageBody(text=_text(data["text"], limits), urgent=urgent, sender=_sender(data.get("sender"), limits))
