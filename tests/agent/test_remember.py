"""The remember route: user messages and replies become vectors; nothing else does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import reactivex
from reactivex import operators as ops

from agent import Remember, remember_route
from sinks import DeadLetterRow, EpisodeRow, Row, VectorRow

T = datetime(2026, 3, 1, tzinfo=UTC)


class CountingEmbedder:
    name = "test:3"
    dim = 3

    def vectors(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)


def episode(kind: str, **data: object) -> EpisodeRow:
    return EpisodeRow(id=f"id-{kind}", time=T, type=kind, description="short", outcome="success", data=data)


def test_messages_and_replies_become_vectors_with_their_full_text() -> None:
    rows: list[Row] = [
        episode("user.message", text="hello there"),
        episode("heavy_tick.observe"),
        episode("user.reply", reply="a long answer"),
        DeadLetterRow(id="d", time=T, source="inbox", reason="x", raw="y"),
        episode("user.urgent"),
    ]
    out: list[VectorRow] = (
        reactivex.from_iterable(rows)
        .pipe(lambda source: remember_route(source, Remember(embedder=CountingEmbedder())), ops.to_list())
        .run()
    )
    assert [(v.type, v.text, v.episode_id) for v in out] == [
        ("user.message", "hello there", "id-user.message"),
        ("user.reply", "a long answer", "id-user.reply"),
        ("user.urgent", "short", "id-user.urgent"),
    ]
    assert all(v.embedder == "test:3" and v.created_at == T for v in out)
    assert out[0].embedding.tolist() == [11.0, 1.0, 0.0]


def test_the_same_episode_gives_the_same_vector_id() -> None:
    def once() -> str:
        (vector,) = (
            reactivex.just(episode("user.message", text="hi"))
            .pipe(lambda source: remember_route(source, Remember(embedder=CountingEmbedder())), ops.to_list())
            .run()
        )
        return vector.id

    assert once() == once()


class EmptyEmbedder(CountingEmbedder):
    def vectors(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return np.zeros((len(texts), 3), dtype=np.float32)


def test_a_text_the_embedder_cannot_hold_is_not_remembered_and_not_a_dead_letter() -> None:
    out: list[VectorRow] = (
        reactivex.just(episode("user.message", text="?"))
        .pipe(lambda source: remember_route(source, Remember(embedder=EmptyEmbedder())), ops.to_list())
        .run()
    )
    assert out == []


def test_what_a_crash_left_without_a_vector_is_embedded_at_start(tmp_path: Path) -> None:
    from datetime import timedelta

    from agent import remember_missing
    from sinks import open_database, write_rows, write_vectors

    con = open_database(tmp_path / "db.duckdb")
    old = EpisodeRow(id="old", time=T - timedelta(hours=5), type="user.message", description="old", outcome="success")
    kept = EpisodeRow(id="kept", time=T, type="user.message", description="kept", outcome="success")
    lost = EpisodeRow(
        id="lost",
        time=T + timedelta(seconds=1),
        type="user.reply",
        description="x",
        outcome="success",
        data={"reply": "the lost reply"},
    )
    write_rows(con, [old, kept, lost])
    remember = Remember(embedder=CountingEmbedder())
    kept_vector = remember_route(reactivex.just(kept), remember).pipe(ops.to_list()).run()
    write_vectors(con, kept_vector, clock=lambda: T)
    assert remember_missing(con, remember, index=None, now=T) == 1  # "lost"; "old" is older than an hour before
    texts = con.execute("SELECT episode_id, text FROM vectors ORDER BY episode_id").fetchall()
    assert texts == [("kept", "kept"), ("lost", "the lost reply")]
    assert remember_missing(con, remember, index=None, now=T) == 0
    con.close()
