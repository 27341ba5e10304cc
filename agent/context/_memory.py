"""What the being knows right now: state the event loop owns, fed with every event and every row.

The memory is told of each event and each row in the order the pipeline sees them (and, at
start, of what the database holds: :meth:`BeingMemory.seed`), so the same stream always leaves
the same memory: a replay builds the same prompts as the live run did. What it keeps:

- the intentions (the text of the last ``mind.intentions`` event);
- the open goals (:class:`sinks.GoalRow`, the last version of each id; a goal done or dropped
  leaves), the memory blocks (``self``, and one ``user:<sender>`` per sender, at most ``max_senders``,
  the least recently written forgotten first), the principles learnt (each text once);
- the last ``max_recent`` episodes, and the times of the ``being.message`` episodes (the
  ``message`` tool's hourly limit);
- per sender, the last ``max_exchanges`` exchanges: a user's message paired with the being's
  reply to it (the reply's ``data.event_id`` names the message). A reply that is a fallback pairs
  with an empty answer, which a later ``deferred`` reply fills in. At most ``max_senders``
  senders are kept, the least recently heard from forgotten first.

Everything is bounded (hostile input: huge texts, control characters, thousands of senders),
and a row or event seen twice (a recovered inbox file read again) counts once: ids are
remembered in a bounded window. A goal's later version (same id, new status) is not a repeat:
it replaces the earlier one, as in the ``goals`` table.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from agent._id_window import IdWindow
from agent._routes import REPLY, USER_TYPES
from agent.mind.tools import ToolContext
from sinks import USER_BLOCK_PREFIX, EpisodeRow, GoalRow, MemoryBlockRow, PrincipleRow, Row, user_block
from streams import Event

__all__ = ["INTENTIONS", "MESSAGE", "BeingMemory", "ObservingRecall", "SenderRecall", "sender_of"]

INTENTIONS = "mind.intentions"
"""The event type that carries the intentions file's text."""
MESSAGE = "being.message"
"""The episode type of something the being said unprompted (the ``message`` tool)."""

_SEEN_IDS = 65_536  # ids of rows and events already taken (a recovered file is read again from the top)
_WAITING = 4_096  # user messages whose reply has not come yet, and answered ones a deferred reply may fill
_MESSAGE_TIMES = 1_024  # being.message times kept for the hourly count (the limit is a handful)
_SENDER_KEY_CHARS = 200
_SENDER_KEY_MAX = _SENDER_KEY_CHARS + 17  # a cut name, "…" and 16 hex digits: a key is its own key
_INTENTIONS_MAX_CHARS = 65_536
_BLOCK_MAX_CHARS = 16_384
_PRINCIPLE_MAX_CHARS = 2_000
_MAX_PRINCIPLES = 500
_MAX_GOALS = 1_000
_HOUR = timedelta(hours=1)
_ANSWERED = frozenset({"success", "deferred"})


@runtime_checkable
class ObservingRecall(Protocol):
    """A recall that also learns from the stream: the memory feeds it every item it observes."""

    def __call__(self, query: str, k: int) -> Sequence[str]: ...

    def observe(self, item: Event | Row) -> None: ...


@runtime_checkable
class SenderRecall(Protocol):
    """A recall that knows whose each text is: ``sender=`` keeps it to that sender's texts and nobody's.

    Only such a recall is asked for a reply (:meth:`BeingMemory.recall` with ``sender``); one that
    cannot tell senders apart recalls nothing for a reply, so no user's words reach another's.
    """

    def __call__(self, query: str, k: int, *, sender: str | None = None) -> Sequence[str]: ...

    def senders(self) -> int: ...


def sender_of(event: Event) -> str:
    """Who sent a user message: its ``sender`` field, or else the source it came from."""
    return str(event.payload.get("sender") or event.source)


def _sender_key(sender: str) -> str:
    """``sender`` as a bounded key: a huge name is cut and told apart by its digest."""
    if len(sender) <= _SENDER_KEY_MAX:
        return sender
    digest = hashlib.blake2b(sender.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return f"{sender[:_SENDER_KEY_CHARS]}…{digest}"


def _cut(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


@dataclass(slots=True)
class _Exchange:
    event_id: str
    message: str
    reply: str


class BeingMemory:
    """Event-loop-owned: what the being knows right now. Fed with every event and every row.

    Args:
        recall: searches memory by meaning, ``(query, k)`` → texts, best first (``None``: recall
            finds nothing). A recall with an ``observe`` method (:class:`ObservingRecall`) is fed
            every item this memory observes, in the same order.
        max_recent: episodes kept for :meth:`recent`.
        max_exchanges: exchanges kept per sender.
        max_senders: senders whose exchanges are kept (the least recently heard from go first).
        max_text_chars: the longest message, reply or episode text kept (longer ones are cut, with
            an ellipsis).

    Raises:
        ValueError: a bound below 1 (``max_text_chars`` below 16).
    """

    def __init__(
        self,
        *,
        recall: Callable[[str, int], Sequence[str]] | None = None,
        max_recent: int = 200,
        max_exchanges: int = 20,
        max_senders: int = 1_000,
        max_text_chars: int = 4_000,
    ) -> None:
        for name, value, least in (
            ("max_recent", max_recent, 1),
            ("max_exchanges", max_exchanges, 1),
            ("max_senders", max_senders, 1),
            ("max_text_chars", max_text_chars, 16),
        ):
            if value < least:
                raise ValueError(f"BeingMemory.{name}: expected >= {least}, got {value}")
        self._recall = recall
        self._feed_recall = recall.observe if isinstance(recall, ObservingRecall) else None
        # asked once: a protocol's isinstance walks its members on every call
        self._sender_recall = recall if isinstance(recall, SenderRecall) else None
        self._max_exchanges = max_exchanges
        self._max_senders = max_senders
        self._max_text = max_text_chars
        self._max_recent = max_recent
        self._empty()

    def _empty(self) -> None:
        self._seen = IdWindow(_SEEN_IDS)
        self._recent: deque[EpisodeRow] = deque(maxlen=self._max_recent)
        self._message_times: deque[datetime] = deque(maxlen=_MESSAGE_TIMES)
        self._goals: dict[str, GoalRow] = {}
        self._blocks: OrderedDict[str, str] = OrderedDict()
        self._principles: dict[str, None] = {}
        self._intentions = ""
        self._exchanges: OrderedDict[str, deque[_Exchange]] = OrderedDict()
        # a user message waiting for its reply: event id → (sender key, text)
        self._waiting: OrderedDict[str, tuple[str, str]] = OrderedDict()
        # an exchange a deferred reply may still fill in: event id → sender key
        self._fillable: OrderedDict[str, str] = OrderedDict()
        # senders of user message events, for their episodes: event id → sender
        self._senders: OrderedDict[str, str] = OrderedDict()

    def forget(self) -> None:
        """Forget everything taken so far, as a new process starts: a replay does it where a recorded run began.

        The recall is not forgotten here; its owner forgets it (``MemoryRecall.forget``).
        """
        self._empty()

    # -- feeding ---------------------------------------------------------------------------------

    def seed(
        self,
        *,
        goals: Sequence[GoalRow] = (),
        blocks: Mapping[str, str] = MappingProxyType({}),
        principles: Sequence[str] = (),
        recent: Sequence[EpisodeRow] = (),
    ) -> None:
        """Take what the database holds (at start, before the stream): goals, blocks, principles, episodes.

        ``recent`` is taken in time order (then by id), whatever order it comes in, and its user
        messages and replies pair into exchanges as if they had been observed.
        """
        for goal in goals:
            self._take_goal(goal)
        for name in sorted(blocks):
            self._take_block(name, str(blocks[name]))
        for text in principles:
            self._take_principle(text)
        for row in sorted(recent, key=lambda r: (r.time, r.id)):
            self.observe(row)

    def observe(self, item: Event | Row) -> None:
        """Take one event or row (every one the pipeline sees; those the memory has no use for are ignored)."""
        if isinstance(item, Event):
            self._take_event(item)
        elif isinstance(item, EpisodeRow):
            if self._seen.add("row:" + item.id):
                self._take_episode(item)
        elif isinstance(item, GoalRow):
            self._take_goal(item)
        elif isinstance(item, MemoryBlockRow):
            self._take_block(item.name, item.text)
        elif isinstance(item, PrincipleRow):
            self._take_principle(item.text)
        if self._feed_recall is not None:
            self._feed_recall(item)

    def _take_event(self, event: Event) -> None:
        if event.type == INTENTIONS:
            if self._seen.add("event:" + event.id):
                self._intentions = _cut(str(event.payload.get("text", "")), _INTENTIONS_MAX_CHARS)
        elif event.type in USER_TYPES:
            _put(self._senders, event.id, sender_of(event), _WAITING)

    def _take_block(self, name: str, text: str) -> None:
        self._blocks.pop(name, None)  # the newest last: the sender least recently written of goes first
        self._blocks[name] = _cut(text, _BLOCK_MAX_CHARS)
        users = [n for n in self._blocks if n.startswith(USER_BLOCK_PREFIX)]
        for forgotten in users[: max(0, len(users) - self._max_senders)]:
            del self._blocks[forgotten]

    def _take_goal(self, goal: GoalRow) -> None:
        if goal.status == "open":
            self._goals.pop(goal.id, None)  # a new version goes to the end: the newest last
            self._goals[goal.id] = goal
            while len(self._goals) > _MAX_GOALS:
                del self._goals[next(iter(self._goals))]
        else:
            self._goals.pop(goal.id, None)

    def _take_principle(self, text: str) -> None:
        text = _cut(text.strip(), _PRINCIPLE_MAX_CHARS)
        if not text or text in self._principles:
            return
        self._principles[text] = None
        while len(self._principles) > _MAX_PRINCIPLES:
            del self._principles[next(iter(self._principles))]

    def _take_episode(self, row: EpisodeRow) -> None:
        self._recent.append(self._trimmed(row))
        if row.type == MESSAGE:
            self._message_times.append(row.time)
        elif row.type in USER_TYPES:
            self._take_message(row)
        elif row.type == REPLY:
            self._take_reply(row)

    def _trimmed(self, row: EpisodeRow) -> EpisodeRow:
        """``row``, or a copy whose long texts (description, top-level strings of data) are cut."""
        limit = self._max_text
        long_data = [k for k, v in row.data.items() if isinstance(v, str) and len(v) > limit]
        if not long_data and len(row.description) <= limit:
            return row
        data: dict[str, Any] = dict(row.data)
        for key in long_data:
            data[key] = _cut(data[key], limit)
        return dataclasses.replace(row, description=_cut(row.description, limit), data=data)

    def _take_message(self, row: EpisodeRow) -> None:
        event_id = str(row.data.get("event_id") or row.event_id or "")
        if not event_id:
            return
        sender = self._senders.pop(event_id, None)
        if sender is None:  # seeded from the database, or fed without its event
            sender = str(row.data.get("sender") or row.data.get("source") or "")
        text = _cut(str(row.data.get("text", row.description)), self._max_text)
        _put(self._waiting, event_id, (_sender_key(sender), text), _WAITING)

    def _take_reply(self, row: EpisodeRow) -> None:
        event_id = str(row.data.get("event_id") or "")
        answer = _cut(str(row.data.get("reply", "")), self._max_text) if row.outcome in _ANSWERED else ""
        waiting = self._waiting.pop(event_id, None)
        if waiting is not None:
            key, message = waiting
            exchanges = self._exchanges.pop(key, None)
            if exchanges is None:
                exchanges = deque(maxlen=self._max_exchanges)
            exchanges.append(_Exchange(event_id, message, answer))
            self._exchanges[key] = exchanges  # the sender heard from most recently goes last
            while len(self._exchanges) > self._max_senders:
                self._exchanges.popitem(last=False)
            if not answer:
                _put(self._fillable, event_id, key, _WAITING)
            return
        key_of_fillable = self._fillable.get(event_id)
        if key_of_fillable is None or not answer:
            return
        del self._fillable[event_id]
        for exchange in self._exchanges.get(key_of_fillable, ()):
            if exchange.event_id == event_id:
                exchange.reply = answer

    # -- reading ---------------------------------------------------------------------------------

    @property
    def goals(self) -> Mapping[str, GoalRow]:
        """The open goals by id (oldest version first, the newest last)."""
        return MappingProxyType(self._goals)

    @property
    def blocks(self) -> Mapping[str, str]:
        """The memory blocks' text by name (``self``, ``user:<sender>``, ``user`` from earlier versions)."""
        return MappingProxyType(self._blocks)

    def user_block_of(self, sender: str) -> str:
        """What the being knows of ``sender`` (its ``user:<sender>`` block; ``""``: nothing yet)."""
        return self._blocks.get(user_block(sender), "")

    def user_blocks(self) -> Sequence[tuple[str, str]]:
        """Every sender's block as ``(sender, text)``, by sender; the one block of earlier versions as sender ``""``."""
        found = [(n[len(USER_BLOCK_PREFIX) :], t) for n, t in self._blocks.items() if n.startswith(USER_BLOCK_PREFIX)]
        shared = self._blocks.get("user", "")
        return ([("", shared)] if shared else []) + sorted(found)

    @property
    def principles(self) -> Sequence[str]:
        """The principles learnt, each once, oldest first."""
        return tuple(self._principles)

    @property
    def intentions(self) -> str:
        """The intentions file's text as last read (``""``: none yet)."""
        return self._intentions

    def recent(self, n: int) -> Sequence[EpisodeRow]:
        """The last ``n`` episodes, newest last."""
        if n <= 0:
            return ()
        return tuple(self._recent)[-n:]

    def exchanges_with(self, sender: str, n: int, *, leave_out: str | None = None) -> Sequence[tuple[str, str]]:
        """The last ``n`` exchanges ``(message, reply)`` with ``sender``, newest last.

        Args:
            leave_out: the event id of a message not to show (the one being answered again).
        """
        if n <= 0:
            return ()
        exchanges = self._exchanges.get(_sender_key(sender), ())
        kept = [(e.message, e.reply) for e in exchanges if e.event_id != leave_out]
        return tuple(kept[-n:])

    def sender_of_message(self, event_id: str) -> str | None:
        """The sender key of a user message not yet answered for real (``None``: not known)."""
        waiting = self._waiting.get(event_id)
        if waiting is not None:
            return waiting[0]
        return self._fillable.get(event_id)

    def recall(self, query: str, k: int, *, sender: str | None = None) -> Sequence[str]:
        """Texts remembered by meaning for ``query``, best first (``()`` when no recall was given).

        Args:
            sender: a reply's sender: only that sender's texts and those of nobody are searched,
                and only by a :class:`SenderRecall` (any other recall finds nothing then).
                ``None`` (the mind): every text.
        """
        if self._recall is None or k <= 0:
            return ()
        if sender is None:
            return tuple(self._recall(query, k))
        if self._sender_recall is None:
            return ()
        return tuple(self._sender_recall(query, k, sender=sender))

    def messages_in_hour_before(self, now: datetime) -> int:
        """``being.message`` episodes with a time in ``(now - 1 hour, now]``."""
        since = now - _HOUR
        return sum(1 for t in self._message_times if since < t <= now)

    def tool_context(self, now: datetime, thought_id: str) -> ToolContext:
        """A snapshot of the memory for a tool of the thought ``thought_id``."""
        return ToolContext(
            now=now,
            thought_id=thought_id,
            goals=dict(self._goals),
            blocks=dict(self._blocks),
            principles=tuple(self._principles),
            recent=tuple(self._recent),
            recall=self.recall,
            messages_last_hour=self.messages_in_hour_before(now),
        )


def _put(table: OrderedDict[str, Any], key: str, value: Any, bound: int) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > bound:
        table.popitem(last=False)
