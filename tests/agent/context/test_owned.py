"""OwnedVectors: one matrix, an owner code per row, an exact top-k over all rows or one owner's."""

from __future__ import annotations

import numpy as np
import pytest

from agent.context._owned import OwnedVectors, Whose, _top


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


def test_an_owner_holding_most_rows_gets_the_same_top_k_as_a_brute_force_reference() -> None:
    # most rows are ann's, so her search scores the whole matrix in place and picks her rows out
    rng = np.random.default_rng(3)
    vectors = OwnedVectors(8)
    owners: dict[str, object] = {}
    for i in range(400):
        owner: str | Whose = "bob" if i % 10 == 0 else ("ann" if i % 10 else Whose.NOBODY)
        owner = Whose.NOBODY if i % 50 == 7 else owner
        v = rng.standard_normal(8).astype(np.float32)
        vectors.add(f"v{i:03d}", v / np.linalg.norm(v), owner)
        owners[f"v{i:03d}"] = (owner, v / np.linalg.norm(v))
    q = rng.standard_normal(8).astype(np.float32)
    q /= np.linalg.norm(q)
    for who in ("ann", "bob"):
        allowed = [(vid, vec) for vid, (o, vec) in owners.items() if o in (who, Whose.NOBODY)]  # type: ignore[misc]
        expected = sorted(allowed, key=lambda p: (-float(np.float32(p[1] @ q)), p[0]))[:12]
        assert vectors.search(q, 12, owner=who) == [vid for vid, _ in expected]


@pytest.mark.parametrize("kind", ["random", "few distinct", "all equal", "one high"])
@pytest.mark.parametrize(("n", "k"), [(5_000, 40), (3_000, 1), (640, 10), (639, 10), (50, 49), (50, 60)])
def test_the_top_k_holds_the_k_highest_scores_whatever_their_ties(kind: str, n: int, k: int) -> None:
    rng = np.random.default_rng(n * 7 + k)
    scores = {
        "random": rng.standard_normal(n),
        "few distinct": rng.integers(0, 5, n) / 4,
        "all equal": np.full(n, 0.5),
        "one high": np.where(np.arange(n) == n // 3, 1.0, rng.uniform(-1, 0.9, n)),
    }[kind].astype(np.float32)
    picked = _top(scores, k)
    assert len(set(picked.tolist())) == len(picked) == min(k, n)
    np.testing.assert_array_equal(np.sort(scores[picked]), np.sort(scores)[n - min(k, n) :])


def test_a_search_of_many_rows_finds_what_a_brute_force_reference_finds() -> None:
    rng = np.random.default_rng(3)
    vectors = OwnedVectors(16)
    rows = rng.standard_normal((4_000, 16)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    for i, row in enumerate(rows):
        vectors.add(f"v{i:04d}", row, "ann")
    for _ in range(20):
        q = rng.standard_normal(16).astype(np.float32)
        q /= np.linalg.norm(q)
        scores = rows @ q
        expected = [f"v{i:04d}" for i in sorted(range(len(rows)), key=lambda i: (-scores[i], i))[:25]]
        assert vectors.search(q, 25) == expected


def test_a_sparse_query_over_several_chunks_of_columns_finds_what_a_brute_force_reference_finds() -> None:
    # a query with few non-zero values is scored from those rows only, 2,048 columns at a time: 5,000
    # rows are two whole chunks and a part one; every hit must be what the whole product ranks first
    rng = np.random.default_rng(5)
    dim, n = 64, 5_000
    rows = np.where(rng.random((n, dim)) < 0.2, rng.standard_normal((n, dim)), 0.0)
    rows[:, 0] += 1e-3  # no row without a value
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    vectors = OwnedVectors(dim)
    for i, row in enumerate(rows.astype(np.float32)):
        vectors.add(f"v{i:04d}", row, "ann" if i % 3 else Whose.NOBODY)
    for _ in range(20):
        q = np.where(rng.random(dim) < 0.25, rng.standard_normal(dim), 0.0)
        q /= np.linalg.norm(q)
        scores = rows @ q  # float64: the reference
        expected = [f"v{i:04d}" for i in np.argsort(-scores, kind="stable")[:25]]
        assert vectors.search(q.astype(np.float32), 25) == expected
        assert vectors.search(q.astype(np.float32), 25, owner="ann") == expected


def test_the_arrays_grow_no_further_than_the_holders_bound() -> None:
    vectors = OwnedVectors(2, max_rows=300)
    for i in range(300):
        vectors.add(f"v{i:03d}", unit(1, 0), "ann")
    assert vectors.nbytes() == 300 * (2 * 4 + 4)  # 256 rows, then straight to the bound (not 320)
    vectors.add("v300", unit(0, 1), "ann")  # a holder past its bound still gets its row
    assert len(vectors) == 301 and vectors.search(unit(0, 1), 1) == ["v300"]
    with pytest.raises(ValueError, match="max_rows"):
        OwnedVectors(2, max_rows=0)
