"""The quantised index: int8 codes in memory, float32 rows in a file, the same hits as the float32 index."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from llm import LexicalEmbedder
from sinks import CleanupPolicy, VectorIndex, VectorQuery, VectorRow, cleanup_vectors, load_index, write_vectors
from sinks._row_file import RowFile
from sinks._vector_codes import candidates, encode
from tests.sinks._memory_helpers import T0, fresh_db


def _rows(data: np.ndarray, types: list[str], embedder: str = "r") -> list[VectorRow]:
    return [
        VectorRow(
            text=f"t{i}", embedding=data[i], embedder=embedder, type=types[i], created_at=T0 + timedelta(minutes=i)
        )
        for i in range(len(data))
    ]


TIE = 1e-6
"""Scores this close are ties: float32 scores of one row differ by this much between two matrix products."""


def _same(a: VectorIndex, b: VectorIndex, query: VectorQuery) -> None:
    """The same hits with the same scores, in the same order but among ties.

    Of rows whose scores are within :data:`TIE` of each other, the order may differ, and so may
    the pick among those tied with the last hit (the float32 index's own pick there is arbitrary).
    """
    got, expected = a.search(query), b.search(query)
    assert [h.score for h in got] == pytest.approx([h.score for h in expected], abs=TIE)
    if not expected:
        return
    edge = expected[-1].score
    assert {h.id for h in got if h.score > edge + TIE} == {h.id for h in expected if h.score > edge + TIE}
    mine = {h.id: h.score for h in got}
    theirs = {h.id: h.score for h in expected}
    assert all(mine[vid] == pytest.approx(theirs[vid], abs=TIE) for vid in mine.keys() & theirs.keys())
    assert all(
        abs(score - edge) <= 2 * TIE
        for vid, score in {**mine, **theirs}.items()
        if vid not in mine.keys() & theirs.keys()
    )


def test_every_coded_row_is_within_its_bound() -> None:
    rng = np.random.default_rng(11)
    data = rng.standard_normal((500, 96)).astype(np.float32)
    data[0] = 0.0  # a zero row codes to zeros with no error
    data[1, :] = 0.0
    data[1, 5] = 1.0  # one value: coded exactly
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    unit = np.divide(data, norms, out=np.zeros_like(data), where=norms > 0)
    codes, scale, bound = encode(unit)
    assert codes.dtype == np.int8 and codes.shape == unit.shape
    error = np.linalg.norm(unit.astype(np.float64) - codes * scale.astype(np.float64)[:, None], axis=1)
    assert (error <= bound).all()
    assert float(bound[0]) < 1e-8 and float(bound[1]) < 1e-8
    assert float(bound[2:].max()) < 0.05  # a quarter of the bytes, and still close


def test_candidates_always_hold_the_true_top_k() -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        n = int(rng.integers(1, 400))
        true = rng.uniform(-1, 1, n)
        bound = rng.uniform(0, 0.05, n)
        coded = (true + rng.uniform(-1, 1, n) * bound).astype(np.float32)  # within each row's bound
        k = int(rng.integers(1, 30))
        query = np.zeros(8, dtype=np.float32)
        query[0] = 1.0
        picked = candidates(coded, bound.astype(np.float32), np.full(n, 1e-3, np.float32), query, k)
        assert (np.diff(picked) > 0).all()
        assert set(np.argsort(-true, kind="stable")[:k]) <= set(picked.tolist())


def test_the_quantised_index_finds_what_the_float32_index_finds(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n, dim = 3000, 48
    data = rng.standard_normal((n, dim)).astype(np.float32)
    data[1000:1300] = data[1000] + 1e-4 * rng.standard_normal((300, dim)).astype(np.float32)  # near-ties
    data[1300:1310] = data[1300]  # exact ties, broken by id
    types = ["monologue" if i % 3 else "user.message" for i in range(n)]
    con = fresh_db(tmp_path)
    plain, coded = VectorIndex(), VectorIndex(quantised=True, rows_folder=tmp_path)
    write_vectors(con, _rows(data, types), index=plain)
    assert load_index(con, coded) is coded and len(coded) == n
    assert coded.nbytes() <= plain.nbytes() / 3
    for trial in range(40):
        source = int(rng.integers(0, n))
        q = data[source] + (0.0 if trial % 4 == 0 else 0.05) * rng.standard_normal(dim).astype(np.float32)
        k = int(rng.integers(1, 60))
        _same(coded, plain, VectorQuery(embedder="r", vector=q, k=k))
        _same(coded, plain, VectorQuery(embedder="r", vector=q, k=k, type="user.message"))
        _same(coded, plain, VectorQuery(embedder="r", vector=q, k=k, since=T0 + timedelta(minutes=1200)))
    _same(coded, plain, VectorQuery(embedder="r", vector=data[1300], k=5))
    assert coded.search(VectorQuery(embedder="r", vector=data[1], k=3, type="no such type")) == []
    assert coded.search(VectorQuery(embedder="other", vector=data[1], k=3)) == []


def test_lexical_vectors_of_nearly_the_same_texts_rank_alike(tmp_path: Path) -> None:
    embedder = LexicalEmbedder(384)
    texts = [f"message {i}: what do you make of the river today?" for i in range(800)]
    texts += [f"reply {i}: the river is high, {i % 7} boats went by" for i in range(800)]
    vectors = embedder.vectors(texts)
    con = fresh_db(tmp_path)
    plain, coded = VectorIndex(), VectorIndex(quantised=True, rows_folder=tmp_path)
    rows = [
        VectorRow(text=t, embedding=vectors[i], embedder=embedder.name, type="user.message", created_at=T0)
        for i, t in enumerate(texts)
    ]
    write_vectors(con, rows, index=plain)
    load_index(con, coded)
    for query in ("message 17: what do you make of the river?", "boats on the river", "reply 3", "today"):
        for k in (1, 10, 100):
            _same(coded, plain, VectorQuery(embedder=embedder.name, vector=embedder.vectors([query])[0], k=k))


def test_removal_and_cleanup_keep_the_quantised_index_in_step(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    data = rng.standard_normal((600, 16)).astype(np.float32)
    con = fresh_db(tmp_path)
    plain, coded = VectorIndex(), VectorIndex(quantised=True, rows_folder=tmp_path)
    rows = _rows(data, ["a"] * 600)
    write_vectors(con, rows, index=plain)
    load_index(con, coded)
    assert len(coded) == 600
    gone = [rows[i].id for i in range(0, 300, 2)]
    assert coded.remove(gone) == plain.remove(gone) == 150
    for i in range(20):
        _same(coded, plain, VectorQuery(embedder="r", vector=data[i * 29], k=25))
    cleanup_vectors(con, CleanupPolicy(max_vectors=200, batch_rows=64), index=coded, clock=lambda: T0)
    assert len(coded) == 200
    reloaded = load_index(con, VectorIndex(quantised=True, rows_folder=tmp_path))  # what a restart holds
    assert len(reloaded) == 200
    for i in range(20):
        _same(coded, reloaded, VectorQuery(embedder="r", vector=data[i * 29], k=25))
    added = coded.add("r", ["fresh"], data[:1] / np.linalg.norm(data[0]), ["a"], [T0])
    assert added == 1 and coded.search(VectorQuery(embedder="r", vector=data[0], k=1))[0].id == "fresh"


def test_the_row_file_is_unnamed_and_reads_what_was_written(tmp_path: Path) -> None:
    rows = RowFile(3, tmp_path)
    try:
        assert os.listdir(tmp_path) == []  # nothing to leave behind
        rows.write(0, np.arange(12, dtype=np.float32).reshape(4, 3))
        rows.move(3, 1)
        assert rows.read([1, 0]).tolist() == [[9.0, 10.0, 11.0], [0.0, 1.0, 2.0]]
        with pytest.raises(OSError, match="slot 9 read 0 of 12 bytes"):
            rows.read([9])
    finally:
        rows.close()
