"""Hypothesis strategies for JSON schemas that have an instance (what the simulator is asked to fill)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

Schema = dict[str, Any]

NAMES = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
SCALARS = st.one_of(st.integers(-50, 50), st.text(max_size=5), st.booleans(), st.none())


@st.composite
def simple_patterns(draw: st.DrawFn) -> str:
    """Regular expressions inside the simulator's simple subset."""
    atom = st.one_of(
        st.sampled_from(["a", "x", "7", "\\.", "-", "_", "\\d", "\\w", "\\s", ".", "[a-z]", "[A-F0-9]", "[-_x]"]),
        st.lists(st.sampled_from(["ab", "cd", "e", "f9"]), min_size=1, max_size=3).map(lambda xs: f"({'|'.join(xs)})"),
        st.lists(st.sampled_from(["on", "off"]), min_size=1, max_size=2).map(lambda xs: f"(?:{'|'.join(xs)})"),
    )
    quantifier = st.sampled_from(["", "", "?", "*", "+", "{2}", "{1,3}", "{2,}", "+?"])
    pieces = draw(st.lists(st.tuples(atom, quantifier).map("".join), min_size=1, max_size=5))
    start, end = draw(st.sampled_from([("^", "$"), ("", ""), ("^", ""), ("", "$")]))
    return start + "".join(pieces) + end


@st.composite
def strings(draw: st.DrawFn) -> Schema:
    schema: Schema = {"type": "string"}
    choice = draw(st.sampled_from(["plain", "lengths", "pattern", "format"]))
    if choice == "lengths":
        low = draw(st.integers(0, 30))
        schema["minLength"] = low
        if draw(st.booleans()):
            schema["maxLength"] = low + draw(st.integers(0, 10))
    elif choice == "pattern":
        schema["pattern"] = draw(simple_patterns())
    elif choice == "format":
        schema["format"] = draw(st.sampled_from(["date-time", "date", "time", "email", "uuid", "uri", "hostname"]))
    return schema


def _bound(draw: st.DrawFn, schema: Schema, low: float, width: float, step: float | None) -> Schema:
    """``schema`` with one of the ways of bounding a number; the range always holds a multiple of ``step``."""
    if step is not None:
        schema["multipleOf"] = step
        width = max(width, 2 * step + 1)
    bounds = draw(st.sampled_from(["none", "min", "max", "both", "exclusive"]))
    if bounds in ("min", "both"):
        schema["minimum"] = low
    if bounds in ("max", "both"):
        schema["maximum"] = low + width
    if bounds == "exclusive":
        schema["exclusiveMinimum"] = low - 1
        schema["exclusiveMaximum"] = low + width + 1
    return schema


@st.composite
def integers(draw: st.DrawFn) -> Schema:
    step = draw(st.sampled_from([None, 1, 2, 5, 7]))
    return _bound(draw, {"type": "integer"}, draw(st.integers(-1000, 1000)), draw(st.integers(0, 50)), step)


@st.composite
def numbers(draw: st.DrawFn) -> Schema:
    step = draw(st.sampled_from([None, 0.5, 0.25, 0.1, 3]))
    low, width = draw(st.integers(-1000, 1000)) / 4, draw(st.integers(1, 400)) / 4
    return _bound(draw, {"type": "number"}, low, width, step)


LEAVES = st.one_of(
    strings(),
    integers(),
    numbers(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(SCALARS, min_size=1, max_size=5, unique_by=repr).map(lambda xs: {"enum": xs}),
    SCALARS.map(lambda x: {"const": x}),
    st.just({"type": ["string", "null"]}),
    st.just({}),
)


def _one_of(children: list[Schema]) -> Schema:
    # Branches of different types exclude each other, as a tagged union's do.
    return {"oneOf": children}


ONE_OF = st.lists(
    st.sampled_from([{"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "null"}]),
    min_size=1,
    max_size=4,
    unique_by=repr,
).map(_one_of)


@st.composite
def objects(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    props = draw(st.dictionaries(NAMES, children, max_size=5))
    schema: Schema = {"type": "object", "properties": props}
    if props:
        schema["required"] = draw(st.lists(st.sampled_from(sorted(props)), unique=True))
    closed = draw(st.booleans())
    if closed:
        schema["additionalProperties"] = False
    elif draw(st.booleans()):
        schema["minProperties"] = len(props) + draw(st.integers(0, 2))
        if draw(st.booleans()):
            schema["additionalProperties"] = {"type": "integer"}
    if not closed and draw(st.booleans()):
        schema.setdefault("required", []).append("undeclared")
    return schema


@st.composite
def arrays(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    schema: Schema = {"type": "array", "items": draw(children)}
    low = draw(st.integers(0, 3))
    if low:
        schema["minItems"] = low
    if draw(st.booleans()):
        schema["maxItems"] = low + draw(st.integers(0, 3))
    if draw(st.booleans()):
        schema["prefixItems"] = draw(st.lists(children, min_size=1, max_size=2))
    return schema


def _open(schema: Schema) -> Schema:
    # In allOf, one branch's additionalProperties would refuse the other's properties.
    return {k: v for k, v in schema.items() if k != "additionalProperties"}


def _extend(children: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
    return st.one_of(
        objects(children),
        arrays(children),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: {"anyOf": xs}),
        st.tuples(objects(children), objects(children))
        .filter(lambda ab: not set(ab[0]["properties"]) & set(ab[1]["properties"]))
        .map(lambda ab: {"allOf": [_open(part) for part in ab]}),
    )


NODES = st.recursive(st.one_of(LEAVES, ONE_OF), _extend, max_leaves=12)


@st.composite
def schemas(draw: st.DrawFn) -> Schema:
    """A root schema: any node, or an object whose properties use ``$ref`` to ``$defs`` (once recursively)."""
    node = draw(NODES)
    if not draw(st.booleans()):
        return node
    return {
        "type": "object",
        "$defs": {"part": draw(NODES), "tree": {"type": "object", "properties": {"next": {"$ref": "#/$defs/tree"}}}},
        "properties": {"a": node, "b": {"$ref": "#/$defs/part"}, "c": {"$ref": "#/$defs/tree"}, "d": {"$ref": "#"}},
        "required": ["a", "b", "c"],
    }


DECISION: Schema = {
    "type": "object",
    "properties": {
        "focus": {"type": "string", "minLength": 1, "maxLength": 80},
        "reasoning": {"type": "string"},
        "action": {"enum": ["observe", "recall", "note", "reflect", "remember", "goal", "message"]},
        "arguments": {"type": "object"},
        "risk": {"enum": ["low", "medium", "high"]},
    },
    "required": ["focus", "reasoning", "action", "arguments", "risk"],
    "additionalProperties": False,
}
