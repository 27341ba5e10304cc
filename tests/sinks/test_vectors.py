"""Vector memory: validation, storage through Arrow, search against a numpy reference, isolation, cleanup."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from sinks import (
    AccessLog,
    CleanupPolicy,
    SearchHit,
    VectorIndex,
    VectorQuery,
    VectorRow,
    cleanup_vectors,
    describe_hits,
    flush_access,
    load_index,
    open_database,
    search_table,
    write_vectors,
)
from tests.sinks._memory_helpers import T0, WordEmbedder, fresh_db, insert_random_vectors


def _row(text: str, vector: object, *, embedder: str = "e:4", type: str = "monologue", minutes: int = 0) -> VectorRow:
    return VectorRow(
        text=text,
        embedding=np.asarray(vector),
        embedder=embedder,
        type=type,
        created_at=T0 + timedelta(minutes=minutes),
        episode_id=f"ep-{text}",
    )


def test_vectors_are_stored_normalised_and_indexed(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    index = VectorIndex()
    result = write_vectors(
        con, [_row("a", [3.0, 4.0, 0.0, 0.0]), _row("b", [0, 0, 2, 0])], index=index, clock=lambda: T0
    )
    assert (result.stored, result.existing, result.refused) == (2, 0, ())
    stored = con.execute("SELECT text, embedding, dim FROM vectors ORDER BY text").fetchall()
    assert stored[0][1] == pytest.approx([0.6, 0.8, 0.0, 0.0])
    assert stored[0][2] == 4
    assert con.execute("SELECT name, dim FROM embedders").fetchall() == [("e:4", 4)]
    assert len(index) == 2


def test_a_new_embedder_is_registered_at_its_first_vectors_time_not_the_writers_clock(tmp_path: Path) -> None:
    """A replay's writer reads the virtual clock whenever it gets to the batch: the registration must not."""
    con = fresh_db(tmp_path)
    rows = [_row("late", [1, 0, 0, 0], minutes=5), _row("early", [0, 1, 0, 0], minutes=2)]
    write_vectors(con, rows, index=VectorIndex(), clock=lambda: T0 + timedelta(days=1))
    assert con.execute("SELECT name, created_at FROM embedders").fetchall() == [("e:4", T0 + timedelta(minutes=2))]


def test_writing_the_same_vector_twice_stores_it_once(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    index = VectorIndex()
    rows = [_row("a", [1, 0, 0, 0]), _row("a", [1, 0, 0, 0])]
    assert write_vectors(con, rows, index=index).stored == 1
    again = write_vectors(con, rows[:1], index=index)
    assert (again.stored, again.existing) == (0, 1)
    assert con.execute("SELECT count(*) FROM vectors").fetchall() == [(1,)]
    assert len(index) == 1


@pytest.mark.parametrize(
    ("vector", "reason"),
    [
        ([1.0, 0.0, 0.0], "vector.dimension: embedder 'e:4' has 4 dimensions, got 3"),
        ([1.0, float("nan"), 0.0, 0.0], "vector.not_finite: 1 of 4 values"),
        ([1.0, float("inf"), 0.0, float("-inf")], "vector.not_finite: 2 of 4 values"),
        ([0.0, 0.0, 0.0, 0.0], "vector.zero_norm"),
        ([[1.0, 0.0], [0.0, 1.0]], "vector.shape"),
        ([], "vector.shape"),
        (["a", "b", "c", "d"], "vector.not_numeric"),
    ],
)
def test_each_bad_vector_becomes_a_dead_letter_with_its_reason(tmp_path: Path, vector: object, reason: str) -> None:
    con = fresh_db(tmp_path)
    index = VectorIndex()
    write_vectors(con, [_row("good", [1, 0, 0, 0])], index=index)
    result = write_vectors(con, [_row("bad", vector), _row("fine", [0, 1, 0, 0])], index=index, clock=lambda: T0)
    assert result.stored == 1
    assert len(result.refused) == 1
    assert result.refused[0][1].startswith(reason)
    letters = con.execute("SELECT source, reason, raw, time FROM dead_letters").fetchall()
    assert len(letters) == 1
    source, stored_reason, raw, time = letters[0]
    assert (source, stored_reason) == ("vectors", result.refused[0][1])
    assert json.loads(raw)["text"] == "bad"
    assert time == T0
    assert con.execute("SELECT count(*) FROM vectors").fetchall() == [(2,)]
    assert len(index) == 2


def test_the_first_vector_of_an_embedder_registers_its_length(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    result = write_vectors(con, [_row("a", [1, 0], embedder="new"), _row("b", [1, 0, 0], embedder="new")])
    assert result.stored == 1
    assert "has 2 dimensions, got 3" in result.refused[0][1]


def test_search_matches_a_numpy_brute_force_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n, dim = 2000, 24
    data = rng.standard_normal((n, dim)).astype(np.float32)
    types = ["monologue" if i % 3 else "user.message" for i in range(n)]
    con = fresh_db(tmp_path)
    index = VectorIndex()
    rows = [
        VectorRow(text=f"t{i}", embedding=data[i], embedder="r", type=types[i], created_at=T0 + timedelta(minutes=i))
        for i in range(n)
    ]
    write_vectors(con, rows, index=index)
    ids = np.array([r.id for r in rows])
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    for trial in range(20):
        q = rng.standard_normal(dim).astype(np.float32)
        k = int(rng.integers(1, 40))
        scores = unit @ (q / np.linalg.norm(q))
        mask = np.ones(n, dtype=bool)
        type_filter = "user.message" if trial % 2 else None
        since = T0 + timedelta(minutes=500) if trial % 3 == 0 else None
        if type_filter:
            mask &= np.array([t == type_filter for t in types])
        if since:
            mask &= np.arange(n) >= 500
        candidates = np.flatnonzero(mask)
        expected = candidates[np.argsort(-scores[candidates])[:k]]
        hits = index.search(VectorQuery(embedder="r", vector=q, k=k, type=type_filter, since=since))
        assert [h.id for h in hits] == list(ids[expected])
        assert [h.score for h in hits] == pytest.approx(list(scores[expected]), abs=1e-5)
    reloaded = load_index(con)
    q = rng.standard_normal(dim).astype(np.float32)
    query = VectorQuery(embedder="r", vector=q, k=15)
    assert index.search(query) == reloaded.search(query)


def test_search_never_mixes_embedders(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    index = VectorIndex()
    small, other = WordEmbedder(16), WordEmbedder(16, name="other-space:16")
    texts = ["the cat sat", "a dog ran", "the cat slept"]
    for emb in (small, other):
        vectors = emb.vectors(texts)
        write_vectors(
            con,
            [
                VectorRow(text=t, embedding=v, embedder=emb.name, type="monologue", created_at=T0)
                for t, v in zip(texts, vectors, strict=True)
            ],
            index=index,
        )
    hits = index.search(VectorQuery(embedder=small.name, vector=small.vectors(["cat"])[0], k=10))
    stored = dict(con.execute("SELECT id, embedder FROM vectors").fetchall())
    assert len(hits) == 3
    assert {stored[h.id] for h in hits} == {small.name}
    assert index.search(VectorQuery(embedder="unknown", vector=np.ones(16), k=3)) == []
    with pytest.raises(ValueError, match="16 dimensions, the query has 8"):
        index.search(VectorQuery(embedder=small.name, vector=np.ones(8), k=3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"k": 0}, "k: expected"), ({"k": 1001}, "k: expected"), ({"vector": np.zeros(4)}, "no direction")],
)
def test_bad_queries_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"embedder": "e", "vector": np.ones(4), **kwargs}
    with pytest.raises(ValueError, match=message):
        VectorQuery(**args)  # type: ignore[arg-type]


def test_hits_update_access_statistics_in_one_flush(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    index = VectorIndex()
    write_vectors(con, [_row("a", [1, 0, 0, 0]), _row("b", [0, 1, 0, 0])], index=index)
    query = VectorQuery(embedder="e:4", vector=np.array([1.0, 0.1, 0, 0]), k=1)
    index.search(query, now=T0 + timedelta(hours=1))
    index.search(query, now=T0 + timedelta(hours=2))
    index.search(query)
    assert con.execute("SELECT sum(access_count) FROM vectors").fetchall() == [(0,)]
    assert flush_access(con, index.access) == 1
    assert con.execute("SELECT text, access_count, last_access FROM vectors ORDER BY text").fetchall() == [
        ("a", 2, T0 + timedelta(hours=2)),
        ("b", 0, None),
    ]
    assert flush_access(con, index.access) == 0


def test_cleanup_evicts_the_least_used_first_in_batches(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    index = VectorIndex()
    rows = [_row(f"v{i}", np.eye(4)[i % 4] + i * 0.01, minutes=i) for i in range(8)]
    write_vectors(con, rows, index=index)
    # v3 and v5 used twice; v6 once long ago; v7 once recently; the rest never.
    index.access.record([rows[3].id, rows[5].id], T0 + timedelta(days=1))
    index.access.record([rows[3].id, rows[5].id], T0 + timedelta(days=1))
    index.access.record([rows[6].id], T0 + timedelta(hours=1))
    index.access.record([rows[7].id], T0 + timedelta(days=2))
    result = cleanup_vectors(con, CleanupPolicy(max_vectors=4, batch_rows=1), index=index, clock=lambda: T0)
    assert (result.expired, result.evicted, result.remaining) == (0, 4, 4)
    kept = sorted(r[0] for r in con.execute("SELECT text FROM vectors").fetchall())
    assert kept == ["v3", "v5", "v6", "v7"]
    assert len(index) == 4
    assert rows[0].id not in index
    result = cleanup_vectors(con, CleanupPolicy(max_vectors=3), index=index, clock=lambda: T0)
    assert result.evicted == 1
    assert sorted(r[0] for r in con.execute("SELECT text FROM vectors").fetchall()) == ["v3", "v5", "v7"]


def test_cleanup_expires_vectors_unused_for_the_ttl(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    index = VectorIndex()
    rows = [_row("old", [1, 0, 0, 0]), _row("used", [0, 1, 0, 0]), _row("new", [0, 0, 1, 0], minutes=60 * 24 * 20)]
    write_vectors(con, rows, index=index)
    index.access.record([rows[1].id], T0 + timedelta(days=25))
    policy = CleanupPolicy(max_vectors=100, ttl_days=10)
    result = cleanup_vectors(con, policy, index=index, clock=lambda: T0 + timedelta(days=30))
    assert (result.expired, result.evicted, result.remaining) == (1, 0, 2)
    assert sorted(r[0] for r in con.execute("SELECT text FROM vectors").fetchall()) == ["new", "used"]
    assert rows[0].id not in index


def test_cleanup_policy_is_checked() -> None:
    with pytest.raises(ValueError, match="max_vectors"):
        CleanupPolicy(max_vectors=-1)
    with pytest.raises(ValueError, match="batch_rows"):
        CleanupPolicy(batch_rows=0)


def test_the_index_grows_and_removes_by_moving_the_last_row(tmp_path: Path) -> None:
    index = VectorIndex()
    rng = np.random.default_rng(1)
    data = rng.standard_normal((600, 8)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    ids = [f"id{i}" for i in range(600)]
    for start in range(0, 600, 7):
        chunk = slice(start, start + 7)
        index.add("e", ids[chunk], data[chunk], ["t"] * len(ids[chunk]), [T0] * len(ids[chunk]))
    assert index.remove(ids[:300:2]) == 150
    assert index.remove(["id0"]) == 0
    left = [i for i in range(600) if not (i < 300 and i % 2 == 0)]
    hits = index.search(VectorQuery(embedder="e", vector=data[401], k=600))
    assert sorted(h.id for h in hits) == sorted(ids[i] for i in left)
    assert hits[0].id == "id401"


def test_the_sql_search_ranks_like_the_index(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    data = rng.standard_normal((300, 12)).astype(np.float32)
    con = fresh_db(tmp_path)
    index = VectorIndex()
    rows = [
        VectorRow(
            text=f"t{i}",
            embedding=data[i],
            embedder="r",
            type="a" if i % 2 else "b",
            created_at=T0 + timedelta(minutes=i),
        )
        for i in range(300)
    ]
    write_vectors(con, rows, index=index)
    write_vectors(con, [VectorRow(text="x", embedding=np.ones(5), embedder="other", type="a", created_at=T0)])
    for kwargs in ({}, {"type": "a"}, {"since": T0 + timedelta(minutes=250)}):
        query = VectorQuery(embedder="r", vector=rng.standard_normal(12), k=7, **kwargs)
        expected = index.search(query)
        got = search_table(con, query)
        assert [h.id for h in got] == [h.id for h in expected]
        assert [h.score for h in got] == pytest.approx([h.score for h in expected], abs=1e-5)
    described = describe_hits(con, [*expected, SearchHit("gone", 0.1)])
    assert [d["id"] for d in described] == [h.id for h in expected]
    assert described[0]["text"].startswith("t")
    assert described[0]["embedder"] == "r"


def test_loading_the_index_leaves_the_memory_limit_as_it_was(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    write_vectors(con, [_row("a", [1, 0, 0, 0])])
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()
    assert len(load_index(con, release_cache_mb=256)) == 1
    assert con.execute("SELECT current_setting('memory_limit')").fetchall() == before


def test_an_index_whose_vectors_outgrow_duckdbs_memory_limit_still_loads(tmp_path: Path) -> None:
    """60,000 vectors of 384 values are 92 MB of embeddings, beyond a 64 MB limit: the start of a service
    that has run a while reads them all (a sort of them in DuckDB's memory could not be pinned)."""
    path = tmp_path / "big.duckdb"
    con = open_database(path, memory_limit_mb=64)
    insert_random_vectors(con, 60_000, dim=384, embedder="big:384")
    probe = np.asarray(
        con.execute("SELECT embedding FROM vectors WHERE id = 'v12345'").fetchall()[0][0], dtype=np.float32
    )
    con.close()
    con = open_database(path, memory_limit_mb=64)
    index = load_index(con, release_cache_mb=64)
    assert len(index) == 60000
    hits = index.search(VectorQuery(embedder="big:384", vector=probe, k=1))
    assert [hit.id for hit in hits] == ["v12345"]


def test_load_index_fills_the_index_it_is_given_even_when_empty(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    write_vectors(con, [_row("a", [1, 0, 0, 0])])
    access = AccessLog()
    index = VectorIndex(access)
    assert index.access is access
    assert load_index(con, index) is index
    assert len(index) == 1
