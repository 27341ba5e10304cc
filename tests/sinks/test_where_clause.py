"""``where_clause``: only the conditions whose value is given, in order, with their values for the marks."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from sinks._sql import where_clause


def test_no_value_given_is_no_clause() -> None:
    assert where_clause(("source = ?", None), ("time >= ?", None)) == ("", [])
    assert where_clause() == ("", [])


def test_the_given_conditions_are_joined_in_order_and_falsy_values_count() -> None:
    since = datetime(2026, 3, 1, tzinfo=UTC)
    clause, params = where_clause(("a = ?", 0), ("b = ?", None), ("c = ?", ""), ("d >= ?", since))
    assert clause == "WHERE a = ? AND c = ? AND d >= ?"
    assert params == [0, "", since]


def test_the_clause_filters_a_real_table() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'x'), (2, 'y'), (3, 'x')) AS v(n, s)")
    clause, params = where_clause(("s = ?", "x"), ("n > ?", None))
    assert con.execute(f"SELECT n FROM t {clause} ORDER BY n", params).fetchall() == [(1,), (3,)]
    clause, params = where_clause(("s = ?", None))
    assert con.execute(f"SELECT count(*) FROM t {clause}", params).fetchall() == [(3,)]
    con.close()
