"""How a settings field declares its default, its range and its help text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import Field, field
from typing import Any

__all__ = ["FieldSpec", "setting", "spec_of"]

_SPEC = "being.setting"


class FieldSpec:
    """The checks a loader applies to one settings value (besides its type)."""

    __slots__ = ("choices", "help", "max", "min", "min_exclusive")

    def __init__(
        self,
        *,
        help: str,
        min: float | None = None,
        max: float | None = None,
        min_exclusive: bool = False,
        choices: Sequence[str] | None = None,
    ) -> None:
        self.help = help
        self.min = min
        self.max = max
        self.min_exclusive = min_exclusive
        self.choices = tuple(choices) if choices is not None else None

    def expected(self, type_name: str) -> str:
        """A phrase for error messages: what a valid value looks like."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.min is not None and self.max is not None and not self.min_exclusive:
            return f"{type_name} from {self.min:g} to {self.max:g}"
        parts = [type_name]
        if self.min is not None:
            parts.append(f"{'>' if self.min_exclusive else '>='} {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return " ".join(parts)

    def accepts(self, value: Any) -> bool:
        """True when ``value`` (already of the right type) is in range."""
        if self.choices is not None and value not in self.choices:
            return False
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True
        if self.min is not None and (value <= self.min if self.min_exclusive else value < self.min):
            return False
        return not (self.max is not None and value > self.max)


def setting(
    default: Any,
    *,
    help: str,
    min: float | None = None,
    max: float | None = None,
    min_exclusive: bool = False,
    choices: Sequence[str] | None = None,
) -> Any:
    """Declare a settings field: its default, what it means, and what range it accepts."""
    spec = FieldSpec(help=help, min=min, max=max, min_exclusive=min_exclusive, choices=choices)
    return field(default=default, metadata={_SPEC: spec})


def spec_of(f: Field[Any]) -> FieldSpec:
    """The :class:`FieldSpec` of a dataclass field (an empty one when the field has none)."""
    spec = f.metadata.get(_SPEC)
    return spec if isinstance(spec, FieldSpec) else FieldSpec(help="")
