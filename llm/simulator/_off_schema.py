"""Broken answers to a schema request, for the ``off-schema`` fault: what a real model sometimes writes.

Four kinds, named after the colon of the fault (``off-schema:cut``); a bare ``off-schema`` picks one
from the request (the same request, the same kind):

- ``not-json``: prose, not JSON at all;
- ``cut``: the valid document cut in the middle (what ``num_predict`` does to a long answer);
- ``missing-required``: valid JSON with a required property taken out;
- ``wrong-enum``: valid JSON with an ``enum`` (or ``const``) value replaced by one the schema does not allow.

The last two are checked with the schema's own validator (``jsonschema``, Draft 2020-12): when the
schema has nothing of that kind to break, the other invalid kind is tried, then a value of the wrong
type, and a schema that accepts every value gets ``not-json``. So a broken answer always fails.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

__all__ = ["OFF_SCHEMA", "OFF_SCHEMA_KINDS", "off_schema_text"]

OFF_SCHEMA = "off-schema"
OFF_SCHEMA_KINDS = ("not-json", "cut", "missing-required", "wrong-enum")

Path = tuple[str | int, ...]


def off_schema_text(kind: str, schema: Any, instance: Any) -> tuple[str, str]:
    """The broken answer of this kind, and the kind it turned out to be (see the module's notes)."""
    if kind == "not-json":
        return _prose(instance), kind
    text = json.dumps(instance)
    if kind == "cut":
        return _cut(text), kind
    validator = Draft202012Validator(schema)
    try:
        return _invalid(validator, kind, instance)
    except Unresolvable:
        # A $ref to nowhere in a branch the instance did not take: the validator cannot judge.
        return _prose(instance), "not-json"


def _invalid(validator: Draft202012Validator, kind: str, instance: Any) -> tuple[str, str]:
    others = [k for k in ("missing-required", "wrong-enum") if k != kind]
    for tried in (kind, *others):
        for candidate in _candidates(tried, instance):
            if any(error.validator in _KEYWORDS[tried] for error in validator.iter_errors(candidate)):
                return json.dumps(candidate), tried
    wrongs: tuple[Any, ...] = ([], "", 0, None, {}, True)
    for wrong in wrongs:
        if not validator.is_valid(wrong):
            return json.dumps(wrong), "wrong-type"
    return _prose(instance), "not-json"


_KEYWORDS = {"missing-required": ("required",), "wrong-enum": ("enum", "const")}


def _prose(instance: Any) -> str:
    return f"Sure! Here is what I decided: {json.dumps(instance)[:60]}... I hope that helps."


def _cut(text: str) -> str:
    cut = text[: max(1, len(text) // 2)]
    try:
        json.loads(cut)
    except ValueError:
        return cut
    return "[" + text  # a prefix that still parses (a number): an array that never closes instead


def _candidates(kind: str, instance: Any) -> Iterator[Any]:
    """The instance with one thing changed, shallowest first."""
    for path, node in _nodes(instance):
        if kind == "missing-required" and isinstance(node, dict):
            for key in node:
                yield _replaced(instance, path, lambda obj, key=key: {k: v for k, v in obj.items() if k != key})
        if kind == "wrong-enum" and not isinstance(node, dict | list):
            yield _replaced(instance, path, lambda value: f"not-{value}")


def _nodes(instance: Any) -> Iterator[tuple[Path, Any]]:
    queue: list[tuple[Path, Any]] = [((), instance)]
    while queue:
        path, node = queue.pop(0)
        yield path, node
        if isinstance(node, dict):
            queue.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            queue.extend(((*path, i), v) for i, v in enumerate(node))


def _replaced(instance: Any, path: Path, change: Any) -> Any:
    if not path:
        return change(instance)
    out = copy.deepcopy(instance)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = change(parent[path[-1]])
    return out
