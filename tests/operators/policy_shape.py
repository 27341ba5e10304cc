"""What every policy is (house rule): a frozen, slotted, keyword-only dataclass."""

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
