"""Small SQL helpers shared by the memory modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

__all__ = ["one_row", "scalar"]


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    """The first row of a query, or None; the result is always read to its end.

    DuckDB 2 keeps a connection busy until a result has been fetched to the end (``fetchone``
    on a one-row result does not finish it), and then refuses ``register``; ``fetchall`` does.
    """
    rows = con.execute(sql, list(params)).fetchall()
    return tuple(rows[0]) if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = one_row(con, sql, params)
    return None if row is None else row[0]
