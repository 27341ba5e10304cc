"""write_vectors against a memory that holds vectors: only the batch's ids are checked, lengths from the index."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from sinks import VectorIndex, VectorRow, load_index, write_vectors
from tests.sinks._memory_helpers import T0, fresh_db


def _row(i: int, *, embedder: str = "e:4", dim: int = 4, vid: str = "") -> VectorRow:
    vector = np.zeros(dim)
    vector[i % dim] = 1.0
    vector[(i + 1) % dim] = 0.5
    return VectorRow(
        text=f"text {i}",
        embedding=vector,
        embedder=embedder,
        type="user.message",
        created_at=T0 + timedelta(seconds=i),
        episode_id=f"ep-{i}",
        id=vid,
    )


def test_a_batch_among_many_stored_vectors_stores_only_the_new_ones(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    index = VectorIndex()
    assert write_vectors(con, [_row(i) for i in range(500)], index=index).stored == 500
    mixed = [_row(i) for i in range(490, 520)]  # 10 stored already, 20 new
    result = write_vectors(con, mixed, index=index)
    assert (result.stored, result.existing, result.refused) == (20, 10, ())
    assert con.execute("SELECT count(*), count(DISTINCT id) FROM vectors").fetchall() == [(520, 520)]
    assert len(index) == 520


def test_an_id_stored_under_another_embedder_does_not_hide_a_new_vector(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    write_vectors(con, [_row(1, embedder="a:4", vid="same")])
    result = write_vectors(con, [_row(1, embedder="b:4", vid="same")])
    assert (result.stored, result.existing) == (1, 0)
    assert con.execute("SELECT embedder FROM vectors ORDER BY embedder").fetchall() == [("a:4",), ("b:4",)]


def test_the_index_s_lengths_refuse_a_wrong_length_like_the_table_s(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    write_vectors(con, [_row(1)])
    loaded = load_index(con)  # the index knows e:4 now: its length is not read from the table again
    result = write_vectors(con, [_row(2, dim=3), _row(3)], index=loaded)
    assert result.stored == 1
    assert "embedder 'e:4' has 4 dimensions, got 3" in result.refused[0][1]


def test_an_embedder_registered_but_emptied_is_still_held_to_its_length(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    index = VectorIndex()
    write_vectors(con, [_row(1)], index=index)
    con.execute("DELETE FROM vectors")
    index.remove([_row(1).id])  # cleanup removed every vector: the index no longer knows e:4
    result = write_vectors(con, [_row(2, dim=3)], index=index)
    assert result.stored == 0
    assert "has 4 dimensions, got 3" in result.refused[0][1]
