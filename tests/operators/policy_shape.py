"""What every policy is (house rule): a frozen, slotted, keyword-only dataclass, checked when built."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest


def assert_policy_shape(policy_type: type[Any]) -> None:
    """``policy_type()`` cannot be changed, has no ``__dict__``, and takes its fields by keyword only."""
    policy = policy_type()
    first = dataclasses.fields(policy_type)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(policy, first.name, getattr(policy, first.name))
    assert not hasattr(policy, "__dict__")
    with pytest.raises(TypeError):
        policy_type(getattr(policy, first.name))


def assert_policy_rejects(policy_type: type[Any], bad: list[tuple[dict[str, Any], str]]) -> None:
    """Each set of keyword arguments in ``bad`` is refused by ``policy_type`` with exactly its message."""
    for kwargs, message in bad:
        with pytest.raises(ValueError) as raised:
            policy_type(**kwargs)
        assert str(raised.value) == message
