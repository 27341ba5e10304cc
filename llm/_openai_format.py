"""``format`` as OpenAI's ``response_format``, with ``strict: true`` when the schema allows it.

Strict mode (Structured Outputs) makes the server constrain its decoding to the schema, but it
refuses schemas outside a subset with a 400. A schema is sent strict only when it is inside the
subset every strict server takes: the root is an object; every object lists all its properties
in ``required`` and says ``additionalProperties: false``; only the keywords in
:data:`STRICT_KEYWORDS` appear; at most :data:`STRICT_MAX_DEPTH` levels of nesting and
:data:`STRICT_MAX_PROPERTIES` properties in all. Any other schema is sent with ``strict: false``
(the server follows it as best it can, and the caller validates the answer either way).
"""

from __future__ import annotations

import re
from typing import Any

from llm._types import Format

__all__ = ["STRICT_KEYWORDS", "STRICT_MAX_DEPTH", "STRICT_MAX_PROPERTIES", "response_format", "strict_allowed"]

STRICT_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "$ref",
        "$defs",
        "definitions",
        "description",
        "title",
    }
)
STRICT_MAX_DEPTH = 5
STRICT_MAX_PROPERTIES = 100
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def response_format(format: Format | None) -> dict[str, Any] | None:
    """The ``response_format`` field for ``format`` ("json" or a schema); ``None`` when there is none."""
    if format == "json":
        return {"type": "json_object"}
    if not isinstance(format, dict):
        return None
    title = format.get("title")
    name = title if isinstance(title, str) and _NAME.fullmatch(title) else "reply"
    return {"type": "json_schema", "json_schema": {"name": name, "schema": format, "strict": strict_allowed(format)}}


def strict_allowed(schema: dict[str, Any]) -> bool:
    """Whether ``schema`` is inside the subset strict mode takes (see the module's notes)."""
    if schema.get("type") != "object":
        return False
    count = [0]
    return _strict_node(schema, 0, count) and count[0] <= STRICT_MAX_PROPERTIES


def _strict_node(node: Any, depth: int, count: list[int]) -> bool:
    if not isinstance(node, dict) or not set(node) <= STRICT_KEYWORDS or depth > STRICT_MAX_DEPTH:
        return False
    kinds = node.get("type")
    is_object = kinds == "object" or (isinstance(kinds, list) and "object" in kinds) or "properties" in node
    children: list[tuple[Any, int]] = []
    if is_object:
        props = node.get("properties", {})
        if not isinstance(props, dict) or node.get("additionalProperties") is not False:
            return False
        if not isinstance(node.get("required"), list) or set(node["required"]) != set(props):
            return False
        count[0] += len(props)
        children.extend((sub, depth + 1) for sub in props.values())
    if "items" in node:
        children.append((node["items"], depth + 1))
    branches = node.get("anyOf", [])
    if not isinstance(branches, list):
        return False
    children.extend((branch, depth) for branch in branches)
    for defs in ("$defs", "definitions"):
        table = node.get(defs, {})
        if not isinstance(table, dict):
            return False
        children.extend((sub, 0) for sub in table.values())
    return all(_strict_node(child, child_depth, count) for child, child_depth in children)
