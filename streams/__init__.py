"""Sources: functions returning ``Observable[Event]``, the Event type and its JSON-lines codec.

Also the cheap observable of per-call streams, :class:`Step`, and what operators build
steps with: ``subscribe_inner``, ``subscribe_observer``, ``lazy`` and the lock-free disposables
``Once``, ``Slot``, ``NOTHING``.
"""

from streams._codec import (
    MAX_LINE_BYTES,
    MAX_PAYLOAD_DEPTH,
    DecodeError,
    decode_event,
    encode_event,
    json_problem,
    plain_event,
)
from streams._completion import subscribe_to_completion
from streams._event import Event, JsonValue, new_event_id
from streams._from_coroutine import from_coroutine
from streams._ids import stable_id
from streams._inbox import INVALID_INPUT, InboxPolicy, InboxState, inbox
from streams._inbox_decoding import BadLine, GoodLine, decode_inbox, sniff_encoding
from streams._ingest import HTTP_SOURCE, IngestState, ingest, message_event
from streams._intentions import MIND_INTENTIONS, IntentionsPolicy, IntentionsText, intentions, read_intentions
from streams._jetstream import (
    JETSTREAM_RECENT_IDS,
    NULL_JETSTREAM_LISTENER,
    Delivery,
    Fetcher,
    JetStreamListener,
    JetStreamPolicy,
    JetStreamState,
    jetstream,
)
from streams._jetstream_events import (
    MSG_ID_HEADER,
    NATS_SOURCE,
    delivery_event,
    delivery_id,
    stream_instance,
    undelivered_event,
)
from streams._message_body import FIELDS, BodyRefused, MessageBody, MessageLimits, parse_body
from streams._open_files import InboxFiles, LocalFiles, NotRegularFileError
from streams._replay import REPLAYABLE_FROM, REPLAYABLE_UNTIL, replay_events, unreplayable_time
from streams._step import NOTHING, Once, Slot, Step, lazy, subscribe_inner, subscribe_observer
from streams._ticks import HEAVY_TICK, LIGHT_TICK, ticks
from streams.errors import BeingError, JetStreamError

__all__ = [
    "FIELDS",
    "HEAVY_TICK",
    "HTTP_SOURCE",
    "INVALID_INPUT",
    "JETSTREAM_RECENT_IDS",
    "LIGHT_TICK",
    "MAX_LINE_BYTES",
    "MAX_PAYLOAD_DEPTH",
    "MIND_INTENTIONS",
    "MSG_ID_HEADER",
    "NATS_SOURCE",
    "NOTHING",
    "NULL_JETSTREAM_LISTENER",
    "REPLAYABLE_FROM",
    "REPLAYABLE_UNTIL",
    "BadLine",
    "BeingError",
    "BodyRefused",
    "DecodeError",
    "Delivery",
    "Event",
    "Fetcher",
    "GoodLine",
    "InboxFiles",
    "InboxPolicy",
    "InboxState",
    "IngestState",
    "IntentionsPolicy",
    "IntentionsText",
    "JetStreamError",
    "JetStreamListener",
    "JetStreamPolicy",
    "JetStreamState",
    "JsonValue",
    "LocalFiles",
    "MessageBody",
    "MessageLimits",
    "NotRegularFileError",
    "Once",
    "Slot",
    "Step",
    "decode_event",
    "decode_inbox",
    "delivery_event",
    "delivery_id",
    "encode_event",
    "from_coroutine",
    "inbox",
    "ingest",
    "intentions",
    "jetstream",
    "json_problem",
    "lazy",
    "message_event",
    "new_event_id",
    "parse_body",
    "plain_event",
    "read_intentions",
    "replay_events",
    "sniff_encoding",
    "stable_id",
    "stream_instance",
    "subscribe_inner",
    "subscribe_observer",
    "subscribe_to_completion",
    "ticks",
    "undelivered_event",
    "unreplayable_time",
]
