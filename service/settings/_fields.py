"""How a settings field declares its default, its range and its help text.

A field of its own is declared with :func:`setting`. A field that configures a policy
(``[resilience.*]``) is declared with :func:`from_policy` instead: its default is the
policy field's default and its range is the policy's own check, so each lives once, in
the policy (``operators``, ``agent``), and the loader names the key when the policy
refuses a value (``operators.PolicyError``).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from dataclasses import MISSING, Field, dataclass, field
from typing import Any, Literal

__all__ = [
    "FieldSpec",
    "PolicySource",
    "enabled_from",
    "from_policy",
    "policy_kwargs",
    "setting",
    "source_of",
    "spec_of",
]

_SPEC = "being.setting"
_SOURCE = "being.policy"


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


@dataclass(frozen=True, slots=True)
class PolicySource:
    """The policy field a settings field configures.

    Attributes:
        policy: the policy class (``RetryPolicy``, ``agent.ProtectPolicies``).
        name: its field's name (``ratio`` for the settings key ``budget_ratio``).
        none_as: what stands for the policy's ``None`` in config.toml (0 for "no limit"), if it has one.
    """

    policy: type[Any]
    name: str
    none_as: float | None = None


def _field_of(owner: type[Any], name: str) -> Field[Any]:
    for f in dataclasses.fields(owner):
        if f.name == name:
            return f
    raise TypeError(f"{owner.__name__} has no field {name!r}")  # a programming error in a section class


def _default_of(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    raise TypeError(f"policy field {f.name!r} has no default")


def from_policy(policy: type[Any], name: str, *, none_as: float | None = None) -> Any:
    """Declare a settings field that configures ``policy.name``: its default and its checks are the policy's.

    Args:
        policy: the policy dataclass.
        name: the field of it this setting sets.
        none_as: the number written for the policy's ``None`` (``window_s = 0``: until reset).
    """
    default = _default_of(_field_of(policy, name))
    if default is None:
        if none_as is None:
            raise TypeError(f"{policy.__name__}.{name} defaults to None: say what stands for it (none_as=)")
        default = none_as
    hint = typing.get_type_hints(policy)[name]
    choices = typing.get_args(hint) if typing.get_origin(hint) is Literal else None
    spec = FieldSpec(help="", choices=choices)  # no range of its own: the policy checks it
    return field(default=default, metadata={_SPEC: spec, _SOURCE: PolicySource(policy, name, none_as)})


def enabled_from(owner: type[Any], name: str, *, help: str) -> Any:
    """Declare a layer's ``enabled`` switch: on by default when ``owner.name`` is (not ``None``, or true)."""
    default = _default_of(_field_of(owner, name))
    return setting(default if isinstance(default, bool) else default is not None, help=help)


def source_of(f: Field[Any]) -> PolicySource | None:
    """The policy field a settings field configures, if it does."""
    source = f.metadata.get(_SOURCE)
    return source if isinstance(source, PolicySource) else None


def policy_kwargs(section: Any, policy: type[Any]) -> dict[str, Any]:
    """The keyword arguments for ``policy`` held by the settings ``section`` (``none_as`` values back to ``None``)."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(section):
        source = source_of(f)
        if source is not None and source.policy is policy:
            value = getattr(section, f.name)
            kwargs[source.name] = None if source.none_as is not None and value == source.none_as else value
    return kwargs
