"""to_json_column: the text of to_json_bytes for each value of a batch's JSON column."""

from __future__ import annotations

import math
from collections import OrderedDict
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pyarrow as pa

from sinks import RecordedEventRow, to_json_bytes
from sinks._row_batches import _TABLES
from sinks._rows import to_json_column
from streams import Event

VALUES: list[Any] = [
    {"b": 1, "a": [1, 2]},
    MappingProxyType({"z": "é", "a": {"nested": MappingProxyType({"k": (1, 2)})}}),
    Event(id="e1", type="t.x", time=datetime(2026, 1, 1, tzinfo=UTC), source="s", payload={"n": 1, "m": "x"}).payload,
    OrderedDict([("y", 1), ("x", 2)]),
    None,
    [1, "two", None],
    {"nan": math.nan, 3: "int key"},
    "plain text",
    {},
]


def test_each_value_is_encoded_as_to_json_bytes_encodes_it() -> None:
    assert to_json_column(VALUES) == [None if v is None else to_json_bytes(v).decode() for v in VALUES]


def test_keys_are_sorted_and_nan_is_null_whatever_the_mapping() -> None:
    encoded = to_json_column([MappingProxyType({"b": math.nan, "a": 1}), {"b": math.nan, "a": 1}])
    assert encoded == ['{"a":1,"b":null}', '{"a":1,"b":null}']


def test_a_value_orjson_cannot_take_is_the_same_error_as_before() -> None:
    huge = {"n": 2**70}
    for encode in (lambda: to_json_column([huge]), lambda: to_json_bytes(huge)):
        try:
            encode()
        except TypeError as exc:
            assert "Integer exceeds 64-bit range" in str(exc)
        else:
            raise AssertionError("a 70-bit integer was encoded")


def test_recorded_event_payloads_reach_the_arrow_column_as_text() -> None:
    rows = [
        RecordedEventRow(
            run_id="r", seq=i, id=f"e{i}", time=datetime(2026, 1, 1, tzinfo=UTC), type="t", source="s", payload=p
        )
        for i, p in enumerate([MappingProxyType({"n": 1}), {"b": 2, "a": 1}])
    ]
    table = _TABLES[RecordedEventRow].arrow(rows)
    assert table.column("payload").type == pa.string()
    assert table.column("payload").to_pylist() == ['{"n":1}', '{"a":1,"b":2}']


def test_texts_holding_the_mark_between_values_come_back_whole() -> None:
    tricky = [{"t": "a,\n,b"}, "x,\n,y", ["\n", ",\n,"], {"k,\n,": 1}, None, {}]
    assert to_json_column(tricky) == [None if v is None else to_json_bytes(v).decode() for v in tricky]
    assert to_json_column([]) == []
    assert to_json_column([None]) == [None]
