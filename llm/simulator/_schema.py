"""A deterministic instance of a JSON schema: what the simulator answers a request that sends one.

The instance is a function of a seed (the simulator derives it from model, prompt and schema), so
the same request gets the same answer and different prompts pick different enum values. What is
understood (the rest of a schema's keywords are not looked at):

- ``type`` (one or a list), ``const``, ``enum``, ``$ref`` (``#``, ``#/$defs/…``, ``#/definitions/…``),
  ``anyOf`` and ``oneOf`` (one branch, picked by the seed; a ``oneOf`` is expected to have branches
  that exclude each other, as a tagged union's do), ``allOf`` (its branches merged; a part that says
  ``additionalProperties: false`` keeps the merged properties to its own);
- objects: every property in ``properties`` (the required ones and the optional ones), a required
  name with no property of its own from ``additionalProperties``, and ``minProperties`` filled from
  ``additionalProperties`` when it allows more; ``additionalProperties: false`` is respected;
- strings: ``examples`` (one of those that fit), ``minLength``, ``maxLength``, a simple ``pattern``
  (see :mod:`llm.simulator._pattern`; another one gets the plain words),
  ``format`` date-time, date, time, email, uuid, uri;
- integers and numbers: ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``multipleOf``;
- arrays: ``items``, ``prefixItems``, ``minItems``, ``maxItems``, ``uniqueItems`` (repeats dropped).

Below :data:`MAX_DEPTH` nested levels (a recursive ``$ref``), objects get their required properties only and
arrays their fewest items, so a recursive schema ends.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from llm.simulator._pattern import example_of

__all__ = ["MAX_DEPTH", "Draws", "instance_of", "schema_seed"]

MAX_DEPTH = 8
_WORDS = ("quiet", "lamp", "window", "light", "paper", "river", "stone", "clock", "letter", "garden")
_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "email": "being@example.org",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.org/",
}
_SPAN = 100  # unbounded numbers are drawn from 0..99 (or next to the one bound given)


def schema_seed(*parts: str) -> bytes:
    """The seed of an instance: a digest of the parts (model, prompt, the schema's canonical JSON)."""
    return hashlib.sha256("\0".join(parts).encode()).digest()


class Draws:
    """An endless, deterministic stream of choices made from a seed."""

    __slots__ = ("_counter", "_seed")

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._counter = 0

    def below(self, n: int) -> int:
        """The next choice among ``n`` (0 to n - 1)."""
        self._counter += 1
        digest = hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
        return int.from_bytes(digest[:8], "big") % max(1, n)

    def pick(self, options: list[Any] | tuple[Any, ...]) -> Any:
        return options[self.below(len(options))]


def instance_of(schema: Any, draws: Draws) -> Any:
    """A value that ``schema`` accepts, made from ``draws``.

    Raises:
        ValueError: ``schema`` is not a valid JSON schema (Draft 2020-12), or has no instance to give
            (a ``$ref`` to nowhere, an empty ``enum``, a required recursion without end).
    """
    if not isinstance(schema, dict | bool):
        raise ValueError(f"format: expected a JSON schema (an object), got {type(schema).__name__}")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "".join(f"[{p!r}]" for p in exc.absolute_path)
        raise ValueError(f"format: not a valid JSON schema: schema{where}: {exc.message}") from exc
    return _Maker(schema if isinstance(schema, dict) else {}, draws).make(schema, 0)


class _Maker:
    def __init__(self, root: Mapping[str, Any], draws: Draws) -> None:
        self._root = root
        self._draws = draws

    def make(self, schema: Any, depth: int) -> Any:
        if depth > 4 * MAX_DEPTH:
            raise ValueError("format: the schema requires a value nested without end (a recursive required $ref)")
        if schema is True or schema is False or not isinstance(schema, dict):
            return " ".join(self._words(2))
        schema = self._resolved(schema)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list):
            if not enum:
                raise ValueError("format: an empty enum has no value")
            return self._draws.pick(enum)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(branches, list) and branches:
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            return self.make(_merged([rest, self._draws.pick(branches)]), depth)
        kind = _kind(schema, self._draws)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "string":
            return self._string(schema)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return self._number(schema)
        if kind == "boolean":
            return self._draws.below(2) == 1
        return None

    def _resolved(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while isinstance(schema.get("$ref"), str) or isinstance(schema.get("allOf"), list):
            seen += 1
            if seen > 64:
                raise ValueError("format: $ref or allOf goes round in a circle")
            if isinstance(schema.get("$ref"), str):
                target = self._target(schema["$ref"])
                schema = _merged([{k: v for k, v in schema.items() if k != "$ref"}, target])
            else:
                parts = [p for p in schema["allOf"] if isinstance(p, dict)]
                schema = _merged([{k: v for k, v in schema.items() if k != "allOf"}, *parts])
        return schema

    def _target(self, ref: str) -> dict[str, Any]:
        node: Any = self._root
        if ref != "#":
            if not ref.startswith("#/"):
                raise ValueError(f"format: only local $ref (#/...) is understood, got {ref!r}")
            for part in ref[2:].split("/"):
                key = part.replace("~1", "/").replace("~0", "~")
                node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ValueError(f"format: $ref {ref!r} points to no schema")
        return node

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        required = [r for r in schema.get("required", []) if isinstance(r, str)]
        extra = schema.get("additionalProperties", True)
        shallow = depth >= MAX_DEPTH
        out: dict[str, Any] = {}
        for name, sub in props.items():
            if not shallow or name in required:
                out[name] = self.make(sub, depth + 1)
        for name in required:
            if name not in out:
                out[name] = self.make(extra if isinstance(extra, dict) else True, depth + 1)
        wanted = schema.get("minProperties")
        if extra is not False and isinstance(wanted, int):
            while len(out) < wanted:
                out[f"extra_{len(out)}"] = self.make(extra if isinstance(extra, dict) else True, depth + 1)
        return out

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        low = _whole(schema.get("minItems"), 0)
        high = _whole(schema.get("maxItems"), low + 3)
        count = low if depth >= MAX_DEPTH else low + self._draws.below(max(0, high - low) + 1)
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        items = schema.get("items", True)
        out = [self.make(prefix[i] if i < len(prefix) else items, depth + 1) for i in range(count)]
        if schema.get("uniqueItems") is True:
            unique: list[Any] = []
            for item in out:
                if all(_canonical(item) != _canonical(u) for u in unique):
                    unique.append(item)
            out = unique
        return out

    def _string(self, schema: Mapping[str, Any]) -> str:
        low = _whole(schema.get("minLength"), 0)
        high = _whole(schema.get("maxLength"), max(low, 40))
        examples = schema.get("examples")
        if isinstance(examples, list):
            fitting = [e for e in examples if isinstance(e, str) and low <= len(e) <= high]
            if fitting:
                return str(self._draws.pick(fitting))
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            found = example_of(pattern, self._draws.below)
            # the 40 above is only how long a made-up text gets: a pattern's example may be longer
            if found is not None and low <= len(found) <= _whole(schema.get("maxLength"), len(found)):
                return found
        fixed = _FORMATS.get(str(schema.get("format")))
        if fixed is not None and low <= len(fixed) <= high:
            return fixed
        text = " ".join(self._words(1 + self._draws.below(4)))
        while len(text) < low:
            text += " " + self._draws.pick(_WORDS)
        return text[:high]

    def _integer(self, schema: Mapping[str, Any]) -> int:
        low, high = _bounds(schema)
        first = math.ceil(low) if low is not None else None
        last = math.floor(high) if high is not None else None
        if first is None:
            first = last - _SPAN + 1 if last is not None and last < 0 else 0
        if last is None:
            last = first + _SPAN - 1
        step = schema.get("multipleOf")
        if isinstance(step, int) and not isinstance(step, bool) and step > 0:
            lowest, highest = -(-first // step), last // step
            if highest < lowest:
                return first
            return (lowest + self._draws.below(min(highest - lowest + 1, _SPAN))) * step
        return first + self._draws.below(max(0, last - first) + 1)

    def _number(self, schema: Mapping[str, Any]) -> float | int:
        step = schema.get("multipleOf")
        if isinstance(step, int) and not isinstance(step, bool):
            return self._integer(schema)
        low, high = _bounds(schema)
        if isinstance(step, float) and step > 0:
            return self._multiple(step, low, high)
        start = low if low is not None else (min(0.0, high) if high is not None else 0.0)
        end = high if high is not None else start + _SPAN
        value = start + (end - start) * (self._draws.below(1000) / 1000)
        return value if (low is None or value >= low) and (high is None or value <= high) else start

    def _multiple(self, step: float, low: float | None, high: float | None) -> float | int:
        top = math.floor(high / step) if high is not None else None
        first = math.ceil(low / step) if low is not None else (min(0, top - _SPAN) if top is not None else 0)
        last = top if top is not None else first + _SPAN
        for k in range(first, min(last, first + _SPAN) + 1):
            value = k * step
            if (low is None or value >= low) and (high is None or value <= high) and int(value / step) == value / step:
                return value
        return first * step

    def _words(self, count: int) -> list[str]:
        return [self._draws.pick(_WORDS) for _ in range(count)]


def _kind(schema: Mapping[str, Any], draws: Draws) -> str:
    kind = schema.get("type")
    if isinstance(kind, list) and kind:
        kind = draws.pick(kind)
    if isinstance(kind, str):
        return kind
    if any(k in schema for k in ("properties", "required", "additionalProperties", "minProperties")):
        return "object"
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return "string"


def _bounds(schema: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """The smallest and largest value allowed (an exclusive bound moved in by one, or by a tenth past it)."""
    low = _number_or_none(schema.get("minimum"))
    high = _number_or_none(schema.get("maximum"))
    above = _number_or_none(schema.get("exclusiveMinimum"))
    below = _number_or_none(schema.get("exclusiveMaximum"))
    integer = schema.get("type") == "integer"
    if above is not None:
        moved = math.floor(above) + 1 if integer else above + _nudge(above, below)
        low = moved if low is None else max(low, moved)
    if below is not None:
        moved = math.ceil(below) - 1 if integer else below - _nudge(above, below)
        high = moved if high is None else min(high, moved)
    return low, high


def _nudge(above: float | None, below: float | None) -> float:
    if above is not None and below is not None:
        return (below - above) / 4
    return 0.5


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _whole(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


_LOWER_BOUNDS = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"})
_UPPER_BOUNDS = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"})


def _merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Schemas laid over each other: properties and required united, the tightest bounds, other keywords
    from the last to say them."""
    out: dict[str, Any] = {}
    allowed: set[str] | None = None  # the names every closed part allows
    for part in parts:
        props = part.get("properties")
        if part.get("additionalProperties") is False and isinstance(props, dict):
            allowed = set(props) if allowed is None else allowed & set(props)
        for key, value in part.items():
            before = out.get(key)
            if key == "properties" and isinstance(value, dict) and isinstance(before, dict):
                out[key] = {**before, **value}
            elif key == "required" and isinstance(value, list) and isinstance(before, list):
                out[key] = [*before, *(r for r in value if r not in before)]
            elif key in _LOWER_BOUNDS and _number_or_none(value) is not None and _number_or_none(before) is not None:
                out[key] = max(value, before)
            elif key in _UPPER_BOUNDS and _number_or_none(value) is not None and _number_or_none(before) is not None:
                out[key] = min(value, before)
            else:
                out[key] = value
    if allowed is not None and isinstance(out.get("properties"), dict):
        out["properties"] = {n: s for n, s in out["properties"].items() if n in allowed}
    return out


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
