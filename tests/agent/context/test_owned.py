"""OwnedVectors: one matrix, an owner code per row, an exact top-k over all rows or one owner's."""

from __future__ import annotations

import numpy as np
import pytest

from agent.context._owned import OwnedVectors, Whose


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_an_owners_search_ranks_only_its_rows_and_nobodys() -> None:
    vectors = OwnedVectors(2)
    vectors.add("a1", unit(1, 0), "ann")
    vectors.add("b1", unit(1, 0.01), "bob")
    vectors.add("b2", unit(1, 0.02), "bob")
    vectors.add("n1", unit(0, 1), Whose.NOBODY)
    vectors.add("u1", unit(1, 0.001), Whose.UNKNOWN)
    q = unit(1, 0)
    assert vectors.search(q, 1, owner="ann") == ["a1"]
    assert vectors.search(q, 5, owner="ann") == ["a1", "n1"]
    assert vectors.search(q, 5, owner="bob") == ["b1", "b2", "n1"]
    assert vectors.search(q, 5, owner="carol") == ["n1"]
    assert vectors.search(q, 2) == ["a1", "u1"]
    assert vectors.senders() == 2 and len(vectors) == 5


def test_a_removed_row_leaves_and_a_gone_senders_code_serves_another_without_its_rows() -> None:
    vectors = OwnedVectors(2)
    vectors.add("a1", unit(1, 0), "ann")
    vectors.add("b1", unit(1, 1), "bob")
    vectors.add("c1", unit(0, 1), "carol")
    assert vectors.remove("a1") and not vectors.remove("a1")
    assert "a1" not in vectors and "c1" in vectors  # the last row moved into the hole
    assert vectors.senders() == 2
    vectors.add("d1", unit(1, 0), "dan")  # given ann's code again
    assert vectors.search(unit(1, 0), 5, owner="dan") == ["d1"]
    assert vectors.search(unit(1, 0), 5, owner="ann") == []
    assert vectors.search(unit(0, 1), 5, owner="carol") == ["c1"]
    assert vectors.search(unit(1, 1), 5, owner="bob") == ["b1"]


def test_ties_are_ordered_by_id_and_k_zero_finds_nothing() -> None:
    vectors = OwnedVectors(2)
    for vid in ("z", "m", "a"):
        vectors.add(vid, unit(1, 0), "ann")
    assert vectors.search(unit(1, 0), 3, owner="ann") == ["a", "m", "z"]
    assert vectors.search(unit(1, 0), 0) == []
    assert OwnedVectors(2).search(unit(1, 0), 3) == []


def test_a_row_held_twice_or_of_another_length_is_refused() -> None:
    vectors = OwnedVectors(2)
    vectors.add("a1", unit(1, 0), "ann")
    with pytest.raises(ValueError, match="'a1' is held already"):
        vectors.add("a1", unit(1, 0), "ann")
    with pytest.raises(ValueError, match="expected 2 values, got 3"):
        vectors.add("a2", unit(1, 0, 0), "ann")
    assert len(vectors) == 1 and vectors.nbytes() == 256 * (2 * 4 + 4)
