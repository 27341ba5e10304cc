"""The events of JetStream messages: a message's ``user.message``/``user.urgent``, or the dead letter of a bad one.

Pure functions of the message's bytes, headers and metadata, so the same message gives the
same event on every instance and after every redelivery:

- id: ``stable_id("nats", <Nats-Msg-Id>)`` when the publisher set the header (its de-duplication
  key, kept as the message's ``msg_id``, so the database tells these ids from the others), else
  ``stable_id("nats", <stream>, <stream instance>, <stream sequence>)``: the instance
  (:func:`stream_instance`, the stream's creation time) tells a stream deleted and made again,
  whose sequences start at 1 again, from the one before, so a new message never takes the id of
  an old one answered already;
- a body refused by the message rules (:func:`parse_body`: not UTF-8, not JSON, a wrong field, a
  text over ``ingest.max_text_bytes``) becomes an ``input.invalid`` event: a dead letter that keeps
  the body (its first ``RAW_HEAD_BYTES``, escaped) and names the stream sequence the whole body
  stays at;
- a message at its last delivery (``nats.max_deliver``) that is still not answered becomes one too
  (:func:`undelivered_event`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from streams._event import Event
from streams._ids import stable_id
from streams._inbox_decoding import RAW_HEAD_BYTES, escape
from streams._inbox_events import INVALID_INPUT
from streams._message_body import BodyRefused, MessageLimits, parse_body

__all__ = ["MSG_ID_HEADER", "NATS_SOURCE", "delivery_event", "delivery_id", "stream_instance", "undelivered_event"]

NATS_SOURCE = "nats"
"""The ``source`` of every event the JetStream source emits."""

MSG_ID_HEADER = "Nats-Msg-Id"
"""The header JetStream de-duplicates published messages by."""
MSG_ID_KEPT_CHARS = 256
"""A longer ``Nats-Msg-Id`` is kept in the message's payload cut to this many characters (with an ellipsis)."""


def stream_instance(created: datetime) -> str:
    """The text of a stream's instance: its creation time (JetStream's ``StreamInfo.created``) in UTC, to the µs.

    The server keeps that time with the stream (across its restarts and the stream's updates), so
    every instance of the service reads the same one; a stream deleted and made again has another.
    """
    if created.tzinfo is None:
        raise ValueError(f"stream_instance: expected a time with its zone, got {created!r}")
    return created.astimezone(UTC).isoformat(timespec="microseconds")


def delivery_id(headers: Mapping[str, str] | None, *, stream: str, instance: str, sequence: int) -> str:
    """The event id of a message: from its ``Nats-Msg-Id`` when set, else from its place in this stream's instance."""
    msg_id = (headers or {}).get(MSG_ID_HEADER)
    if msg_id:
        return stable_id(NATS_SOURCE, msg_id)
    if not instance:
        raise ValueError("delivery_id: expected the stream's instance, got ''")
    return stable_id(NATS_SOURCE, stream, instance, str(sequence))


def _raw(data: bytes) -> str:
    head = escape(data[:RAW_HEAD_BYTES], "utf-8")
    return head if len(data) <= RAW_HEAD_BYTES else f"{head}... ({len(data)} bytes in all)"


def delivery_event(
    data: bytes,
    headers: Mapping[str, str] | None,
    *,
    stream: str,
    instance: str,
    sequence: int,
    time: datetime,
    limits: MessageLimits,
    recovered: bool,
) -> Event:
    """The event of one delivered message: its user message, or the dead letter of a body the rules refuse."""
    event_id = delivery_id(headers, stream=stream, instance=instance, sequence=sequence)
    where: dict[str, object] = {"stream": stream, "sequence": sequence, "recovered": recovered}
    try:
        body = parse_body(data, limits)
    except BodyRefused as exc:
        payload = {**where, "reason": f"refused: {exc}", "raw": _raw(data)}
        return Event(id=event_id, type=INVALID_INPUT, time=time, source=NATS_SOURCE, payload=payload)
    message: dict[str, object] = {"text": body.text, **where}
    if body.sender is not None:
        message["sender"] = body.sender
    msg_id = (headers or {}).get(MSG_ID_HEADER)
    if msg_id:  # the id is made from all of it; the episode keeps its beginning (a header is up to 1 MB)
        message["msg_id"] = msg_id if len(msg_id) <= MSG_ID_KEPT_CHARS else msg_id[: MSG_ID_KEPT_CHARS - 1] + "…"
    kind = "user.urgent" if body.urgent else "user.message"
    return Event(id=event_id, type=kind, time=time, source=NATS_SOURCE, payload=message)


def undelivered_event(event: Event, *, deliveries: int, max_deliver: int) -> Event:
    """The dead letter of a message delivered ``deliveries`` times (``nats.max_deliver``) and still not answered."""
    reason = (
        f"undelivered: delivered {deliveries} times (nats.max_deliver = {max_deliver}) and still not answered; "
        "terminated, it is not delivered again"
    )
    kept = {k: v for k, v in event.payload.items() if k in ("stream", "sequence", "sender")}
    text = str(event.payload.get("text", ""))
    payload = {**kept, "type": event.type, "reason": reason, "raw": text, "recovered": True}
    return Event(id=event.id, type=INVALID_INPUT, time=event.time, source=event.source, payload=payload)
