"""A started service's objects are frozen out of full collections (its garbage collected first), thawed at the stop."""

from __future__ import annotations

import gc
import weakref

from service._gc import freeze_started, thaw


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_start_s_garbage_is_collected_what_is_alive_is_frozen_and_the_stop_gives_it_back() -> None:
    kept = _Node()
    dropped, partner = _Node(), _Node()
    dropped.other, partner.other = partner, dropped  # a cycle nothing else refers to
    gone = weakref.ref(dropped)
    del dropped, partner
    try:
        frozen = freeze_started()
        assert gone() is None  # collected before the freeze: a frozen cycle would never be
        assert frozen == gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # no generation holds it: full passes skip it
    finally:
        thaw()
    assert gc.get_freeze_count() == 0
    assert any(o is kept for o in gc.get_objects())  # back in the oldest generation
