"""The out sink's cursor tables (schema step 8) and the bodies it shortens, without a server."""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson
import pytest

from sinks import MIGRATIONS, open_database, schema_version, write_rows
from sinks._jetstream_out_rows import OutMessage, pending_messages, record_published, shortened, start_cursor
from tests.sinks.jetstream_support import reply, said, seen


def test_a_database_of_version_7_gains_the_cursor_tables_with_its_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ)")
    for version, sql in MIGRATIONS:
        if version <= 7:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    write_rows(con, [reply(1), seen(2)])
    con.close()
    con = open_database(path)
    assert schema_version(con) == MIGRATIONS[-1][0]
    assert con.execute("SELECT count(*) FROM episodes").fetchone() == (2,)
    assert con.execute("SELECT count(*) FROM out_published").fetchone() == (0,)
    assert start_cursor(con, "BEING_X_OUT", False) == 2  # the first start marks the past
    assert start_cursor(con, "BEING_X_OUT", False) == 0
    assert pending_messages(con, publish_episodes=True, limit=10) == []


def test_a_record_is_written_once_and_only_for_stored_episodes(tmp_path: Path) -> None:
    con = open_database(tmp_path / "db.duckdb")
    start_cursor(con, "BEING_X_OUT", True)
    write_rows(con, [reply(1), said(2), seen(3)])
    assert [m.episode_id for m in pending_messages(con, publish_episodes=True, limit=10)] == ["r1", "b2", "w3"]
    assert [m.episode_id for m in pending_messages(con, publish_episodes=False, limit=10)] == ["r1", "b2"]
    assert [m.episode_id for m in pending_messages(con, publish_episodes=True, limit=2)] == ["r1", "b2"]
    assert record_published(con, [("r1", "published", 1), ("nope", "published", 2)]) == 1
    assert record_published(con, [("r1", "duplicate", 1)]) == 0
    assert [m.episode_id for m in pending_messages(con, publish_episodes=True, limit=10)] == ["b2", "w3"]
    con.execute("DELETE FROM episodes WHERE id = 'r1'")  # archived
    start_cursor(con, "BEING_X_OUT", True)
    assert con.execute("SELECT count(*) FROM out_published").fetchone() == (0,)


def _message(**fields: object) -> OutMessage:
    body = orjson.dumps(fields)
    return OutMessage(str(fields["id"]), str(fields["type"]), None, body, dict(fields))


@pytest.mark.parametrize("limit", [200, 1000, 5000])
def test_a_shortened_body_fits_is_json_and_says_it_was_cut(limit: int) -> None:
    hostile = '\x01"\\\U0001f9e0' * 5000  # each character grows when escaped, the emoji is four bytes
    message = _message(id="r1", time="t", type="user.reply", text=hostile, message=hostile, data={"x": hostile})
    body = shortened(message, limit)
    value = orjson.loads(body)
    assert len(body) <= limit
    assert value["truncated"] is True and value["bytes"] == len(message.body) and "data" not in value
    assert hostile.startswith(value.get("text", ""))


def test_a_limit_too_small_for_even_the_id_is_refused_clearly() -> None:
    message = _message(id="r" * 500, time="t", type="user.reply", text="x" * 5000)
    with pytest.raises(ValueError, match="even its id does not fit in 100 bytes"):
        shortened(message, 100)
