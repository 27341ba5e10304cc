"""Legacy import: the predecessor's real SQLite files, and hand-made broken copies of them."""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sinks import (
    LEGACY_EMBEDDER,
    LegacyImportError,
    VectorIndex,
    VectorQuery,
    import_legacy,
    read_errors,
    read_principles,
)
from tests.sinks._memory_helpers import T0, fresh_db


def _copy(legacy_dir: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copyfile(legacy_dir / name, target)
    target.chmod(0o644)
    return target


def test_the_real_fixtures_import_whole_and_a_second_run_adds_nothing(tmp_path: Path, legacy_dir: Path) -> None:
    con = fresh_db(tmp_path)
    index = VectorIndex()
    kwargs = {"episodes_path": legacy_dir / "episodes.db", "vectors_path": legacy_dir / "vector_memory.db"}
    report = import_legacy(con, index=index, clock=lambda: T0, **kwargs)  # type: ignore[arg-type]
    assert report.ok, report.lines()
    assert report.imported == {"episodes": 471, "errors": 0, "principles": 0, "vectors": 57}
    again = import_legacy(con, index=index, clock=lambda: T0, **kwargs)  # type: ignore[arg-type]
    assert again.imported == {"episodes": 0, "errors": 0, "principles": 0, "vectors": 0}
    assert again.existing == {"episodes": 471, "errors": 0, "principles": 0, "vectors": 57}
    assert con.execute("SELECT count(*) FROM episodes").fetchall() == [(471,)]
    assert con.execute("SELECT count(*) FROM vectors").fetchall() == [(57,)]
    assert con.execute("SELECT count(*) FROM dead_letters").fetchall() == [(0,)]
    assert len(index) == 57
    counts = dict(con.execute("SELECT type, count(*) FROM episodes GROUP BY type").fetchall())
    assert counts["world.file_changed"] == 111
    assert counts["heavy_tick.observe|analyze"] == 2
    outcomes = dict(con.execute("SELECT outcome, count(*) FROM episodes GROUP BY outcome").fetchall())
    assert outcomes == {"success": 353, "unknown": 118}
    first, last = con.execute("SELECT min(time), max(time) FROM episodes").fetchall()[0]
    assert first == datetime(2026, 2, 21, 11, 52, 14, tzinfo=UTC)
    assert last == datetime(2026, 2, 22, 16, 13, 20, tzinfo=UTC)


def test_texts_and_data_survive_unchanged(tmp_path: Path, legacy_dir: Path) -> None:
    con = fresh_db(tmp_path)
    import_legacy(con, episodes_path=legacy_dir / "episodes.db")
    lite = sqlite3.connect(legacy_dir / "episodes.db")
    for legacy_id, description, data in lite.execute("SELECT id, description, data FROM episodes WHERE id % 50 = 4"):
        row = con.execute(
            "SELECT description, data FROM episodes WHERE json_extract_string(data, '$.legacy_id') = ?",
            [str(legacy_id)],
        ).fetchall()
        assert row[0][0] == description
        if data:
            assert {k: v for k, v in json.loads(row[0][1]).items() if k != "legacy_id"} == json.loads(data)
    assert con.execute("SELECT count(*) FROM episodes WHERE description LIKE '%Теперь%'").fetchall()[0][0] >= 1


def test_vectors_equal_the_blobs_and_point_at_their_episodes(tmp_path: Path, legacy_dir: Path) -> None:
    con = fresh_db(tmp_path)
    index = VectorIndex()
    import_legacy(
        con, episodes_path=legacy_dir / "episodes.db", vectors_path=legacy_dir / "vector_memory.db", index=index
    )
    lite = sqlite3.connect(legacy_dir / "vector_memory.db")
    blobs = lite.execute("SELECT id, episode_id, text, embedding, created_at FROM vectors ORDER BY id").fetchall()
    stored = {
        text: (vector, episode, created)
        for text, vector, episode, created in con.execute(
            "SELECT text, embedding, episode_id, created_at FROM vectors WHERE embedder = ?", [LEGACY_EMBEDDER]
        ).fetchall()
    }
    assert len(stored) == len(blobs) == 57
    for _, legacy_episode, text, blob, created_at in blobs:
        vector, episode, created = stored[text]
        expected = np.frombuffer(blob, dtype="<f4")
        np.testing.assert_allclose(np.asarray(vector, dtype=np.float32), expected, rtol=0, atol=2e-7)
        assert created == datetime.fromtimestamp(created_at, UTC).replace(microsecond=created.microsecond)
        desc = con.execute("SELECT data FROM episodes WHERE id = ?", [episode]).fetchall()
        assert desc, f"vector of legacy episode {legacy_episode} points at no episode"
    probe = np.frombuffer(blobs[10][3], dtype="<f4")
    hits = index.search(VectorQuery(embedder=LEGACY_EMBEDDER, vector=probe, k=1))
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_legacy_times_are_read_in_the_configured_zone(tmp_path: Path, legacy_dir: Path) -> None:
    # The predecessor wrote local times; its vectors' epoch stamps show they were UTC+3.
    con = fresh_db(tmp_path)
    import_legacy(
        con,
        episodes_path=legacy_dir / "episodes.db",
        vectors_path=legacy_dir / "vector_memory.db",
        zone=ZoneInfo("Europe/Moscow"),
    )
    first = con.execute("SELECT min(time) FROM episodes").fetchall()[0][0]
    assert first == datetime(2026, 2, 21, 8, 52, 14, tzinfo=UTC)
    gaps = con.execute(
        "SELECT max(abs(epoch(v.created_at) - epoch(e.time))) FROM vectors v JOIN episodes e ON v.episode_id = e.id"
    ).fetchall()[0][0]
    assert gaps < 60


def test_errors_and_principles_import_once_with_their_links(tmp_path: Path, legacy_dir: Path) -> None:
    path = _copy(legacy_dir, tmp_path, "episodes.db")
    lite = sqlite3.connect(path)
    lite.executescript(
        """
        INSERT INTO errors (timestamp, error_type, description, cause, principle_formed, repeat_count)
            VALUES ('2026-02-21T12:00:00', 'llm.timeout', 'no answer', 'server', 'wait longer', 3),
                   ('bad time', 'x', 'y', 'z', NULL, 1);
        INSERT INTO principles (timestamp, text, source_error_id, active)
            VALUES ('2026-02-21T12:01:00', 'Wait longer for the model', 1, 1),
                   ('2026-02-21T12:02:00', 'An old rule', NULL, 0);
        """
    )
    lite.commit()
    lite.close()
    con = fresh_db(tmp_path)
    report = import_legacy(con, episodes_path=path, clock=lambda: T0)
    assert report.imported["errors"] == 1
    assert report.imported["principles"] == 2
    assert [(r.table, r.legacy_id) for r in report.refused] == [("errors", "2")]
    assert "Invalid isoformat" in report.refused[0].reason
    again = import_legacy(con, episodes_path=path, clock=lambda: T0)
    assert (again.imported["errors"], again.imported["principles"]) == (0, 0)
    (error,) = read_errors(con)
    assert (error.type, error.repeat_count, error.principle) == ("llm.timeout", 3, "wait longer")
    principles = read_principles(con, active_only=False)
    assert [(p.text, p.source_error_id, p.active) for p in principles] == [
        ("Wait longer for the model", error.id, True),
        ("An old rule", None, False),
    ]
    letters = con.execute("SELECT source, reason FROM dead_letters").fetchall()
    assert len(letters) == 1
    assert letters[0][0] == "legacy.errors"


def test_a_truncated_file_is_a_problem_not_a_crash(tmp_path: Path, legacy_dir: Path) -> None:
    data = (legacy_dir / "vector_memory.db").read_bytes()
    broken = tmp_path / "vector_memory.db"
    broken.write_bytes(data[: len(data) // 3])
    episodes = tmp_path / "episodes.db"
    episodes.write_bytes((legacy_dir / "episodes.db").read_bytes()[:4096])
    con = fresh_db(tmp_path)
    report = import_legacy(con, episodes_path=episodes, vectors_path=broken)
    assert not report.ok
    assert report.problems, report.lines()
    assert all("malformed" in p or "not a database" in p or "no table" in p for p in report.problems), report.problems
    assert con.execute("SELECT count(*) FROM vectors").fetchall()[0][0] <= 57


def test_a_missing_or_foreign_file_is_refused_whole(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    with pytest.raises(LegacyImportError, match="no such file"):
        import_legacy(con, episodes_path=tmp_path / "nope.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    report = import_legacy(con, episodes_path=junk)
    assert any("not a database" in p for p in report.problems)


def test_missing_tables_are_reported_and_the_rest_imported(tmp_path: Path, legacy_dir: Path) -> None:
    path = _copy(legacy_dir, tmp_path, "episodes.db")
    lite = sqlite3.connect(path)
    lite.executescript("DROP TABLE errors; DROP TABLE principles;")
    lite.close()
    empty = tmp_path / "vector_memory.db"
    sqlite3.connect(empty).execute("CREATE TABLE other (id INTEGER)").connection.close()
    con = fresh_db(tmp_path)
    report = import_legacy(con, episodes_path=path, vectors_path=empty)
    assert report.imported["episodes"] == 471
    assert sorted(report.problems) == [
        "episodes.db: no table 'errors'",
        "episodes.db: no table 'principles'",
        "vector_memory.db: no table 'vectors'",
    ]


def test_wrong_blob_sizes_and_nan_values_are_refused_with_reasons(tmp_path: Path, legacy_dir: Path) -> None:
    path = _copy(legacy_dir, tmp_path, "vector_memory.db")
    lite = sqlite3.connect(path)
    lite.execute("UPDATE vectors SET embedding = substr(embedding, 1, 1000) WHERE id = 3")
    nan_blob = struct.pack("<768f", *([float("nan")] + [0.1] * 767))
    lite.execute("UPDATE vectors SET embedding = ? WHERE id = 5", [nan_blob])
    lite.execute("UPDATE vectors SET embedding = ? WHERE id = 7", [bytes(3072)])
    lite.commit()
    lite.close()
    con = fresh_db(tmp_path)
    report = import_legacy(con, vectors_path=path, clock=lambda: T0)
    reasons = {r.legacy_id: r.reason for r in report.refused}
    assert reasons == {
        "3": "embedding: expected 3072 bytes (768 float32), got 1000",
        "5": "vector.not_finite: 1 of 768 values are NaN or infinite",
        "7": "vector.zero_norm: every value is 0, so it has no direction",
    }
    assert report.imported["vectors"] == 54
    sources = sorted(r[0] for r in con.execute("SELECT source FROM dead_letters").fetchall())
    assert sources == ["legacy.vectors"] * 3
    again = import_legacy(con, vectors_path=path, clock=lambda: T0 + timedelta(days=1))
    assert again.imported["vectors"] == 0
    assert con.execute("SELECT count(*) FROM dead_letters").fetchall() == [(3,)]


def test_the_newer_schema_with_access_statistics_is_read(tmp_path: Path, legacy_dir: Path) -> None:
    path = _copy(legacy_dir, tmp_path, "vector_memory.db")
    lite = sqlite3.connect(path)
    lite.executescript(
        """
        ALTER TABLE vectors ADD COLUMN access_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE vectors ADD COLUMN last_access REAL;
        UPDATE vectors SET access_count = 4, last_access = 1771800000.0 WHERE id = 2;
        """
    )
    lite.commit()
    lite.close()
    con = fresh_db(tmp_path)
    assert import_legacy(con, vectors_path=path).imported["vectors"] == 57
    used = con.execute("SELECT access_count, last_access FROM vectors WHERE access_count > 0").fetchall()
    assert used == [(4, datetime.fromtimestamp(1771800000.0, UTC))]
