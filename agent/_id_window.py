"""IdWindow: the last N ids seen, exactly, the oldest forgotten first, in little memory.

An ``OrderedDict`` of 65,536 ids took 13 MiB in a service (about 200 bytes an id, its string
included); a set of the ids with a ring of them in the order they came takes about 130 bytes
an id: the set answers ``in``, the ring says which id is the oldest.
"""

from __future__ import annotations

from collections import deque

__all__ = ["IdWindow"]


class IdWindow:
    """A bounded set of ids; past ``max_ids``, the oldest added is forgotten.

    Raises:
        ValueError: ``max_ids`` below 1.
    """

    __slots__ = ("_ids", "_max", "_order")

    def __init__(self, max_ids: int) -> None:
        if max_ids < 1:
            raise ValueError(f"IdWindow.max_ids: expected >= 1, got {max_ids}")
        self._ids: set[str] = set()
        self._order: deque[str] = deque()
        self._max = max_ids

    def add(self, key: str) -> bool:
        """``True`` the first time ``key`` is added (while it is remembered), else ``False``."""
        if key in self._ids:
            return False
        self._ids.add(key)
        self._order.append(key)
        if len(self._order) > self._max:
            self._ids.discard(self._order.popleft())
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)
