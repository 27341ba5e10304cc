"""The JetStream out sink: what the being says, published to ``being.<name>.out`` after it is committed.

Replies and being messages (:data:`sinks.OUTBOX_TYPES`, the same lines as ``outbox.jsonl``) and,
with ``publish_episodes``, every other episode, go to the stream ``BEING_<NAME>_OUT``, one message
per episode::

    Nats-Msg-Id: <episode id>         Being-Type: user.reply         Being-In-Reply-To: <message id>
    {"id": "<episode id>", "time": "...", "type": "user.reply", "outcome": "success", "text": "...", ...}

Commit → publish → record, never lost across kills:

- An episode is published only once its batch is committed (it is read back from the database).
- It is recorded in ``out_published`` only once the stream acknowledged it (its PubAck), so an
  episode committed and not recorded is published by the next :meth:`JetStreamOut.flush`, and
  :meth:`JetStreamOut.start` publishes what a kill left.
- A kill between the PubAck and the record publishes the episode again at the next start. With the
  same ``Nats-Msg-Id`` inside the stream's duplicate window (``duplicate_window_s``) JetStream drops
  the copy (the PubAck says ``duplicate``) and the stream holds the episode once. Past the window
  the stream takes it again: a consumer that must see each episode once de-duplicates on the id
  (header or body), or the window is made longer than any outage.
- A flush that fails (NATS down, no PubAck within ``ack_timeout_s``) raises :class:`OutStreamError`
  after recording what was acknowledged; the rest is tried again by the next flush, in commit
  order. A publish the client had buffered while disconnected may still reach the stream on
  reconnect: the next flush's copy is then a duplicate, dropped by the window.
- A message bigger than ``max_payload_bytes`` (the server's ``max_payload``: a bigger one would
  make the server drop the connection) is published shortened (its long texts cut, its data left
  out, ``"truncated": true`` and the header ``Being-Truncated: <whole size>``) and recorded as
  ``truncated``; the whole episode stays in the database. It never blocks the cursor.

Publishing runs on the event loop; every database read and record is a job of the writer thread
(decision 10). A flush publishes at most ``max_per_pass`` messages at a time, sent in commit
order, their PubAcks awaited together, and runs passes until nothing is left.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import duckdb
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import PubAck, StreamConfig

from sinks._jetstream_out_rows import OutMessage, pending_after, record_published, shortened, start_cursor
from sinks._out_floor import Floor, advanced
from sinks._writer import DuckWriter
from sinks.errors import OutStreamError

__all__ = ["JetStreamOut", "JetStreamOutPolicy"]

log = logging.getLogger("sinks")

R = TypeVar("R")

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HEADER_KEY = re.compile(r"[!-9;-~]+")  # printable ASCII without ':' (what the NATS header format allows)
_OWN_HEADERS = frozenset({"nats-msg-id", "nats-expected-stream", "being-type", "being-in-reply-to", "being-truncated"})


@dataclass(frozen=True, slots=True, kw_only=True)
class JetStreamOutPolicy:
    """Where the out sink publishes and how much at a time.

    Args:
        name: the being's name: subject ``being.<name>.out``, stream ``BEING_<NAME>_OUT``
            (letters, digits, ``_`` and ``-``; ``-`` becomes ``_`` in the stream's name).
        publish_episodes: also every other episode, not only replies and being messages.
        duplicate_window_s: the stream's de-duplication window (set when the stream is made or updated).
        max_per_pass: messages in flight in one pass of a flush (their PubAcks awaited together).
        ack_timeout_s: how long a pass waits for its PubAcks before the flush fails.
        max_payload_bytes: the server's ``max_payload`` (``nc.max_payload``); a bigger message is shortened.
    """

    name: str = "being"
    publish_episodes: bool = False
    duplicate_window_s: float = 120.0
    max_per_pass: int = 64
    ack_timeout_s: float = 5.0
    max_payload_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"JetStreamOutPolicy.name: expected 1-64 of A-Z a-z 0-9 _ -, got {self.name!r}")
        if not self.duplicate_window_s > 0:
            raise ValueError(f"JetStreamOutPolicy.duplicate_window_s: expected > 0, got {self.duplicate_window_s}")
        if self.max_per_pass < 1:
            raise ValueError(f"JetStreamOutPolicy.max_per_pass: expected >= 1, got {self.max_per_pass}")
        if not self.ack_timeout_s > 0:
            raise ValueError(f"JetStreamOutPolicy.ack_timeout_s: expected > 0, got {self.ack_timeout_s}")
        if self.max_payload_bytes < 1024:
            raise ValueError(f"JetStreamOutPolicy.max_payload_bytes: expected >= 1024, got {self.max_payload_bytes}")

    @property
    def subject(self) -> str:
        """``being.<name>.out``."""
        return f"being.{self.name}.out"

    @property
    def stream(self) -> str:
        """``BEING_<NAME>_OUT``."""
        return f"BEING_{self.name.upper().replace('-', '_')}_OUT"


def _no_headers(_event_id: str) -> Mapping[str, str]:
    return {}


def _header_bytes(headers: Mapping[str, str]) -> int:
    return len(b"NATS/1.0\r\n\r\n") + sum(len(k.encode()) + len(v.encode()) + 4 for k, v in headers.items())


class JetStreamOut:
    """Publishes committed episodes to the out stream, once each, in commit order (module docstring).

    Args:
        writer: the database's writer (reads and records run as its jobs).
        js: the JetStream context of the runtime's one NATS connection.
        policy: subject, stream and bounds.
        headers_for: extra headers (a trace context) for the event an episode answers (its
            ``in_reply_to``), or for the episode's own id; called on the event loop. Keys that
            NATS cannot carry and the sink's own headers are left out.
    """

    def __init__(
        self,
        writer: DuckWriter,
        js: JetStreamContext,
        policy: JetStreamOutPolicy,
        *,
        headers_for: Callable[[str], Mapping[str, str]] = _no_headers,
    ) -> None:
        self.policy = policy
        self._writer = writer
        self._js = js
        self._headers_for = headers_for
        self._lock = asyncio.Lock()
        self._ready = False
        self.published = 0  # acknowledged as new by the stream
        self.duplicates = 0  # acknowledged as already held (a re-publish after a kill)
        self.truncated = 0
        self.failed = 0  # flushes that raised
        self.derived = 0  # reads that derived the floor from out_published (the start, a compacted table)
        self._floor: Floor | None = None  # None: derived by the next read (sinks/_out_floor.py)

    async def start(self) -> None:
        """Make or update the stream, mark what came before it, and publish what a kill left.

        Raises:
            OutStreamError: NATS did not answer or refused the stream.
            SinkError: the database refused.
        """
        await self.flush()

    async def flush(self) -> None:
        """Publish every committed, unrecorded episode in commit order, and record each acknowledged one.

        Raises:
            OutStreamError: a publish was not acknowledged (NATS down, a timeout, a refusal); what
                was acknowledged is recorded, the rest waits for the next flush.
            SinkError: the database refused a read or a record.
        """
        async with self._lock:
            try:
                if not self._ready:
                    await self._ensure_stream()
                    policy = self.policy
                    marked = await self._job(
                        "out.start", lambda con: start_cursor(con, policy.stream, policy.publish_episodes)
                    )
                    self._ready = True
                    if marked:
                        log.info("sink.out_marked_before", extra={"stream": self.policy.stream, "episodes": marked})
                while await self._pass():
                    pass
            except OutStreamError:
                self.failed += 1
                raise

    async def _job(self, name: str, job: Callable[[duckdb.DuckDBPyConnection], R]) -> R:
        return await asyncio.wrap_future(self._writer.submit(name, job))

    async def _ensure_stream(self) -> None:
        policy = self.policy
        config = StreamConfig(name=policy.stream, subjects=[policy.subject], duplicate_window=policy.duplicate_window_s)
        try:
            try:
                info = await self._js.stream_info(policy.stream)
            except nats.js.errors.NotFoundError:
                try:
                    await self._js.add_stream(config)
                    return
                except nats.js.errors.BadRequestError:  # another instance made it first
                    info = await self._js.stream_info(policy.stream)
            held = info.config
            if held.duplicate_window != policy.duplicate_window_s or policy.subject not in (held.subjects or []):
                held.duplicate_window = policy.duplicate_window_s
                held.subjects = sorted({*(held.subjects or []), policy.subject})
                await self._js.update_stream(held)
        except (nats.errors.Error, TimeoutError) as exc:
            raise OutStreamError(f"stream {policy.stream}: cannot make or update it: {exc!r}") from exc

    async def _pass(self) -> bool:
        """One pass: at most ``max_per_pass`` messages; returns True when a full pass was published."""
        policy = self.policy
        floor = self._floor
        messages, tail = await self._job(
            "out.pending",
            lambda con: pending_after(con, floor, publish_episodes=policy.publish_episodes, limit=policy.max_per_pass),
        )
        self._floor = tail.floor
        self.derived += tail.derived
        if not messages:
            self._floor = advanced(tail, [], limit=policy.max_per_pass)
            return False
        acks, error = await self._publish(messages)
        states = [state for state, _ in acks] + [None] * (len(messages) - len(acks))
        done = [(m.episode_id, state, seq) for m, (state, seq) in zip(messages, acks, strict=False) if state]
        await self._job("out.record", lambda con: record_published(con, done))
        self._floor = advanced(tail, [state is not None for state in states], limit=policy.max_per_pass)
        if error is not None:
            raise error
        return len(messages) == policy.max_per_pass

    def _headers(self, message: OutMessage) -> dict[str, str]:
        headers: dict[str, str] = {}
        for key, value in self._headers_for(message.in_reply_to or message.episode_id).items():
            if isinstance(value, str) and _HEADER_KEY.fullmatch(key) and key.lower() not in _OWN_HEADERS:
                headers[key] = value
            else:
                log.warning("sink.out_header_dropped", extra={"episode": message.episode_id, "header": key[:64]})
        headers["Nats-Msg-Id"] = message.episode_id
        headers["Being-Type"] = message.kind
        if message.in_reply_to is not None:
            headers["Being-In-Reply-To"] = message.in_reply_to
        return headers

    def _fitted(self, message: OutMessage, headers: dict[str, str]) -> tuple[bytes, bool]:
        """The body to publish, shortened when body and headers together pass ``max_payload_bytes``."""
        expected = {"Nats-Expected-Stream": self.policy.stream}
        limit = self.policy.max_payload_bytes
        if len(message.body) + _header_bytes({**headers, **expected}) <= limit:
            return message.body, False
        headers["Being-Truncated"] = str(len(message.body))
        room = limit - _header_bytes({**headers, **expected})
        log.warning("sink.out_shortened", extra={"episode": message.episode_id, "bytes": len(message.body)})
        return shortened(message, room), True

    async def _publish(
        self, messages: list[OutMessage]
    ) -> tuple[list[tuple[str | None, int | None]], OutStreamError | None]:
        """Send the messages in order, then await their PubAcks together; returns (state, seq) per message."""
        policy = self.policy
        sent: list[asyncio.Future[PubAck]] = []
        shortened_ones: set[int] = set()
        error: OutStreamError | None = None
        for index, message in enumerate(messages):
            headers = self._headers(message)
            body, cut = self._fitted(message, headers)
            if cut:
                shortened_ones.add(index)
            try:
                sent.append(await self._js.publish_async(policy.subject, body, stream=policy.stream, headers=headers))
            except (nats.errors.Error, TimeoutError) as exc:  # closed, reconnecting with a full buffer...
                error = OutStreamError(f"{policy.stream}: cannot send {message.episode_id}: {exc!r}")
                error.__cause__ = exc
                break
        results: list[PubAck | BaseException] = []
        if sent:
            done, waiting = await asyncio.wait(sent, timeout=policy.ack_timeout_s)
            for future in waiting:
                future.cancel()
            if waiting and error is None:
                unacked = f"{len(waiting)} of {len(sent)} publishes not acknowledged"
                error = OutStreamError(f"{policy.stream}: {unacked} in {policy.ack_timeout_s}s")
            results = [f.exception() or f.result() if f in done else TimeoutError() for f in sent]
        outcome: list[tuple[str | None, int | None]] = []
        for index, result in enumerate(results):
            if isinstance(result, PubAck):
                state = "duplicate" if result.duplicate else "truncated" if index in shortened_ones else "published"
                self.duplicates += state == "duplicate"
                self.truncated += state == "truncated"
                self.published += state != "duplicate"
                outcome.append((state, result.seq))
            else:
                outcome.append((None, None))
                if error is None:
                    error = OutStreamError(f"{policy.stream}: {messages[index].episode_id} refused: {result!r}")
                    error.__cause__ = result
        if error is not None:
            log.error("sink.out_failed", extra={"stream": policy.stream, "error": str(error)})
        return outcome, error
