"""Sources: functions returning ``Observable[Event]``, the Event type and its JSON-lines codec."""

from streams._codec import MAX_LINE_BYTES, DecodeError, decode_event, encode_event
from streams._event import Event, JsonValue, new_event_id
from streams._from_coroutine import from_coroutine
from streams.errors import BeingError

__all__ = [
    "MAX_LINE_BYTES",
    "BeingError",
    "DecodeError",
    "Event",
    "JsonValue",
    "decode_event",
    "encode_event",
    "from_coroutine",
    "new_event_id",
]
