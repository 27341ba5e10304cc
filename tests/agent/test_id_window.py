"""IdWindow: exactly the last N ids, the oldest forgotten first."""

from __future__ import annotations

import pytest

from agent._id_window import IdWindow


def test_an_id_is_new_once_while_it_is_remembered() -> None:
    window = IdWindow(3)
    assert [window.add(key) for key in ("a", "b", "a", "c", "b")] == [True, True, False, True, False]
    assert "a" in window and "z" not in window and len(window) == 3


def test_past_its_bound_the_oldest_added_is_forgotten_and_new_again() -> None:
    window = IdWindow(2)
    window.add("a")
    window.add("b")
    window.add("a")  # seen again: it stays the oldest, by when it was first added
    assert window.add("c") is True
    assert "a" not in window and "b" in window and "c" in window and len(window) == 2
    assert window.add("a") is True  # forgotten, so new
    assert "b" not in window


def test_a_long_run_keeps_exactly_the_last_n() -> None:
    window = IdWindow(1000)
    for n in range(10_000):
        window.add(f"id-{n}")
    assert len(window) == 1000
    assert all(f"id-{n}" in window for n in range(9000, 10_000))
    assert not any(f"id-{n}" in window for n in range(9000))


@pytest.mark.parametrize("bound", [0, -1])
def test_a_bound_below_one_is_refused(bound: int) -> None:
    with pytest.raises(ValueError, match="max_ids"):
        IdWindow(bound)
