"""``being export --parquet DIR``: two instances' databases exported to one folder and read together by DuckDB."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from service.cli import main
from sinks import EpisodeRow, archive_episodes, export_episodes, open_database, write_rows

NOW = datetime(2026, 6, 1, tzinfo=UTC)

# The query docs/scaling.md gives, run as written (with the folder filled in).
ACROSS = """
SELECT instance, type, count(*) AS n
FROM read_parquet('{dir}/*/episodes*.parquet', hive_partitioning = true)
GROUP BY ALL ORDER BY instance, type
"""
ONCE_EACH = """
SELECT id, any_value(instance) AS instance, count(*) AS copies
FROM read_parquet('{dir}/*/episodes*.parquet', hive_partitioning = true)
WHERE type = 'user.reply'
GROUP BY id ORDER BY id
"""


def episode(episode_id: str, kind: str, days_ago: float, text: str = "x") -> EpisodeRow:
    return EpisodeRow(
        id=episode_id,
        time=NOW - timedelta(days=days_ago),
        type=kind,
        description=text,
        outcome="success",
        data={"event_id": f"m-{episode_id}", "reply": text},
    )


def config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{folder / "being.duckdb"}"\n'
        f'[inbox]\npath = "{folder / "inbox.txt"}"\n[memory]\narchive_dir = "{folder / "archive"}"\n',
        encoding="utf-8",
    )
    return path


def make_instance(folder: Path, rows: list[EpisodeRow], *, archive_older_than_days: float | None = None) -> Path:
    folder.mkdir(parents=True)
    con = open_database(folder / "being.duckdb")
    write_rows(con, rows)
    if archive_older_than_days is not None:
        archive_episodes(con, folder / "archive", older_than_days=archive_older_than_days, clock=lambda: NOW)
    con.close()
    return config(folder)


def test_two_instances_exported_to_one_folder_are_read_together_with_the_instance_as_a_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exports = tmp_path / "exports"
    first = make_instance(
        tmp_path / "a",
        [episode("r1", "user.reply", 200), episode("r2", "user.reply", 1), episode("w1", "world.file_changed", 1)],
        archive_older_than_days=90,  # r1 now lives in the archive only
    )
    second = make_instance(
        tmp_path / "b", [episode("r3", "user.reply", 1, "héllo \U0001f9e0"), episode("r2", "user.reply", 1)]
    )
    assert main(["export", "--config", str(first), "--parquet", str(exports), "--instance", "a", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["episodes"], report["archived"], report["instance"]) == (3, 1, "a")
    assert Path(report["path"]).parent == exports / "instance=a"
    assert main(["export", "--config", str(second), "--parquet", str(exports), "--instance", "b"]) == 0
    assert "exported 2 episodes (0 from the archive)" in capsys.readouterr().out
    con = duckdb.connect()
    assert con.execute(ACROSS.format(dir=exports)).fetchall() == [
        ("a", "user.reply", 2),
        ("a", "world.file_changed", 1),
        ("b", "user.reply", 2),
    ]
    # r2 was answered by both instances (the same reply id): the query that counts answers sees it twice
    copies = {row[0]: row[2] for row in con.execute(ONCE_EACH.format(dir=exports)).fetchall()}
    assert copies == {"r1": 1, "r2": 2, "r3": 1}
    (text,) = con.execute(
        f"SELECT description FROM read_parquet('{exports}/*/episodes*.parquet') WHERE id = 'r3'"
    ).fetchone() or ("",)
    assert text == "héllo \U0001f9e0"
    assert not list(exports.rglob("*.tmp"))


def test_an_episode_both_in_the_table_and_in_the_archive_is_exported_once(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    make_instance(folder, [episode("r1", "user.reply", 200)], archive_older_than_days=90)
    con = open_database(folder / "being.duckdb")
    write_rows(con, [episode("r1", "user.reply", 200)])  # archival cut off before its delete leaves this
    result = export_episodes(con, tmp_path / "out", instance="a", archive_dir=folder / "archive")
    assert (result.episodes, result.archived) == (1, 0)
    con.close()


def test_a_running_instance_or_a_bad_name_is_refused_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = make_instance(tmp_path / "a", [episode("r1", "user.reply", 1)])
    assert main(["export", "--config", str(cfg), "--parquet", str(tmp_path / "o"), "--instance", "../x"]) == 2
    assert "instance: expected 1-64 of letters" in capsys.readouterr().err
    holder = subprocess.Popen(  # another process holds the file for writing, as `being run` does
        [sys.executable, "-c", HOLD, str(tmp_path / "a" / "being.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        assert main(["export", "--config", str(cfg), "--parquet", str(tmp_path / "o"), "--instance", "a"]) == 1
    finally:
        holder.communicate(b"")
    assert "is held by another process" in capsys.readouterr().err
    assert not list((tmp_path / "o").rglob("*.parquet"))


HOLD = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()"
