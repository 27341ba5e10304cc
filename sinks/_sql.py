"""Small SQL helpers shared by the memory modules."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import duckdb

from sinks.errors import SinkError

__all__ = ["one_row", "scalar", "translated", "where_clause"]

P = ParamSpec("P")
R = TypeVar("R")


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


def where_clause(*conditions: tuple[str, Any]) -> tuple[str, list[Any]]:
    """``WHERE a AND b`` of the conditions whose value is given (not ``None``), and their values, in order.

    Args:
        conditions: pairs of a condition with one ``?`` and its value (``("source = ?", source)``).

    Returns:
        The clause (``""`` when no value is given) and the parameters for its marks.
    """
    given = [(sql, value) for sql, value in conditions if value is not None]
    clause = f"WHERE {' AND '.join(sql for sql, _ in given)}" if given else ""
    return clause, [value for _, value in given]


def translated(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a public sink function so that a DuckDB error leaves it as a :class:`SinkError`.

    The writer thread translates the errors of the jobs it runs; this covers the same functions
    when they are called directly (the CLI on a file no service holds).
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except duckdb.Error as exc:
                raise SinkError(f"{what}: {exc}") from exc

        return wrapper

    return decorate
