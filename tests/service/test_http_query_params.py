"""The read routes' query parameters: each read one way, with a message naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from service.http._query_params import BadParameter, flag_param, limit_param, param, since_param, with_cursor


def _request(**query: str) -> web.Request:
    return make_mocked_request("GET", f"/x?{urlencode(query)}")


def test_absent_and_empty_are_none_and_an_oversized_value_is_refused() -> None:
    assert param(_request(), "type") is None
    assert param(_request(type=""), "type") is None
    assert param(_request(type="x" * 200), "type") == "x" * 200
    with pytest.raises(BadParameter, match="^type: longer than 200 characters$"):
        param(_request(type="x" * 201), "type")


def test_since_needs_an_iso_time_with_a_zone() -> None:
    assert since_param(_request()) is None
    assert since_param(_request(since="2026-03-01T12:00:00Z")) == datetime(2026, 3, 1, 12, tzinfo=UTC)
    with pytest.raises(BadParameter, match="^since: expected an ISO 8601 time with a zone, got 'soon'$"):
        since_param(_request(since="soon"))
    with pytest.raises(BadParameter, match="^since: expected a time with a zone"):
        since_param(_request(since="2026-03-01T12:00:00"))


@pytest.mark.parametrize(("text", "value"), [("1", True), ("TRUE", True), ("yes", True), ("0", False), ("No", False)])
def test_a_flag_reads_the_usual_words(text: str, value: bool) -> None:
    assert flag_param(_request(archived=text), "archived") is value


def test_a_flag_refuses_anything_else_and_is_false_when_absent() -> None:
    assert flag_param(_request(), "archived") is False
    with pytest.raises(BadParameter, match="^archived: expected true or false, got 'maybe'$"):
        flag_param(_request(archived="maybe"), "archived")


def test_limit_is_an_integer_with_a_default() -> None:
    assert limit_param(_request()) == 50
    assert limit_param(_request(limit="-3")) == -3  # its range is the query's
    with pytest.raises(BadParameter, match="^limit: expected an integer, got '2.5'$"):
        limit_param(_request(limit="2.5"))


def test_the_cursor_is_closed_after_the_read_even_when_it_fails(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "db.duckdb"))
    made: list[duckdb.DuckDBPyConnection] = []

    def reader() -> duckdb.DuckDBPyConnection:
        made.append(con.cursor())
        return made[-1]

    assert with_cursor(reader, lambda c: c.execute("SELECT 3").fetchall()) == [(3,)]
    with pytest.raises(duckdb.Error):
        with_cursor(reader, lambda c: c.execute("SELECT * FROM missing").fetchall())
    for cursor in made:
        with pytest.raises(duckdb.ConnectionException):
            cursor.execute("SELECT 1")
    con.close()
