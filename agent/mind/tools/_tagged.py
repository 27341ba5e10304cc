"""Validation errors of a tagged union (a ``oneOf`` whose branches each fix one property with ``const``).

``jsonschema`` reports a ``oneOf`` that no branch matches as one error ("… is not valid under any of
the given schemas"), which says nothing of what to change. :func:`tagged_errors` replaces it with the
errors of the branch the instance's tag names (``op`` of a goal, ``action`` of a decision), or, when
the tag names no branch, with one error saying which tags there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jsonschema import ValidationError

__all__ = ["tag_of", "tagged_errors"]


def tag_of(branches: Sequence[Any]) -> tuple[str, list[Any]] | None:
    """The property every branch fixes with a ``const``, and the consts in branch order; ``None`` if none."""
    names: list[str] | None = None
    for branch in branches:
        props = branch.get("properties") if isinstance(branch, Mapping) else None
        if not isinstance(props, Mapping):
            return None
        fixed = [n for n, s in props.items() if isinstance(s, Mapping) and "const" in s]
        names = fixed if names is None else [n for n in names if n in fixed]
    if not names:
        return None
    tag = names[0]
    return tag, [branch["properties"][tag]["const"] for branch in branches]


def tagged_errors(errors: Iterable[ValidationError]) -> list[ValidationError]:
    """``errors`` with each tagged union's error replaced by what is wrong inside the branch it names."""
    errors = list(errors)
    out: list[ValidationError] = []
    said: set[tuple[str, str]] = set()
    for error in errors:
        for inner in _inside(error, errors):
            key = (str(list(inner.absolute_path)), inner.message)
            if key not in said:  # the object's own schema and every branch may say the same
                said.add(key)
                out.append(inner)
    return out


def _inside(error: ValidationError, siblings: Sequence[ValidationError]) -> list[ValidationError]:
    if error.validator != "oneOf" or not isinstance(error.validator_value, list):
        return [error]
    found = tag_of(error.validator_value)
    instance = error.instance
    if found is None or not isinstance(instance, Mapping):
        others = [e for e in siblings if e is not error and list(e.absolute_path) == list(error.absolute_path)]
        return [] if others else [error]  # an object of the wrong type: its own error says so
    tag, consts = found
    path = [*error.absolute_path, tag]
    if tag in instance and instance[tag] in consts:
        index = consts.index(instance[tag])
        inner = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == index]
        return tagged_errors(inner) if inner else [error]
    if any(list(e.absolute_path) == path for e in siblings):
        return []  # the object's own schema already says the tag is wrong
    if tag not in instance:  # what every branch finds wrong (the tag's absence among it)
        by_branch: dict[int, set[tuple[str, str]]] = {}
        for e in error.context:
            by_branch.setdefault(int(e.relative_schema_path[0]), set()).add((str(list(e.absolute_path)), e.message))
        common = set.intersection(*by_branch.values()) if len(by_branch) == len(consts) else set()
        first = [e for e in error.context if e.relative_schema_path[0] == 0]
        shared = [e for e in first if (str(list(e.absolute_path)), e.message) in common]
        return shared or [error]
    value = instance[tag]
    return [ValidationError(f"{value!r} is not one of {consts!r}", validator="enum", path=path, instance=value)]
