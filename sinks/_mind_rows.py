"""The rows the mind leaves besides episodes: goals, memory blocks, notes and principles.

Each is a value that travels down the stream that made it (a tool's result) to the batch sink,
like an episode; the sink writes each kind to its own table in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = [
    "USER_BLOCK_PREFIX",
    "GoalRow",
    "GoalStatus",
    "MemoryBlockRow",
    "NoteRow",
    "PrincipleRow",
    "principle_key",
    "user_block",
]

USER_BLOCK_PREFIX = "user:"
"""The name of a sender's user block is this prefix and the sender (``user:alice``)."""

GoalStatus = Literal["open", "done", "dropped"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GoalRow:
    """One goal as it stands now; a later row with the same ``id`` replaces it (upsert).

    Args:
        id: stable id (``streams.stable_id`` of what made it).
        text: what the goal is, in the being's or the user's words.
        status: ``open``, ``done`` or ``dropped``.
        due: when it falls due (``None``: no date); an open goal past ``due`` wakes the mind.
        created: when it was first added.
        done: when it was completed or dropped (``None`` while open).
        time: when this version was written.
        source: who set it (``mind``, ``intentions``...).
    """

    id: str
    text: str
    status: GoalStatus
    due: datetime | None
    created: datetime
    done: datetime | None
    time: datetime
    source: str = "mind"


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryBlockRow:
    """The new text of one of the being's small memory blocks; replaces the old.

    ``name`` is ``self`` (the being's self-model), ``user:<sender>`` (what it knows of one sender:
    :func:`user_block`), or ``user`` (one block for every sender, as earlier versions wrote it).
    The old text is kept in the episode the ``remember`` tool writes beside this row.
    """

    name: str
    text: str
    time: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteRow:
    """Text to append to a notes file inside the notes folder (``path`` is relative and already checked)."""

    id: str
    path: str
    text: str
    time: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PrincipleRow:
    """A principle the being drew from what went well or badly (stored once per text)."""

    text: str
    time: datetime
    source: str = "reflect"


def principle_key(text: str) -> str:
    """What makes two principles the same: the text lower-cased, with every run of white space one space.

    The sink compares with the same rule in SQL, and ``reflect`` with this one.
    """
    return " ".join(text.split()).lower()


def user_block(sender: str) -> str:
    """The name of the memory block of what the being knows of ``sender``."""
    return USER_BLOCK_PREFIX + sender
