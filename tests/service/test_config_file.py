"""config.toml holds every setting with its default and a comment, so it is the settings' documentation."""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any

from service.settings import Settings, load_settings
from tests.support import REPO


def leaf_keys(obj: Any, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            keys |= leaf_keys(value, f"{prefix}{f.name}.")
        else:
            keys.add(f"{prefix}{f.name}")
    return keys


def toml_keys(table: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, value in table.items():
        if isinstance(value, dict):
            keys |= toml_keys(value, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def test_config_toml_equals_the_defaults() -> None:
    assert load_settings(REPO / "config.toml", env={}) == Settings()


def test_config_toml_lists_every_setting() -> None:
    table = tomllib.loads((REPO / "config.toml").read_text(encoding="utf-8"))
    assert toml_keys(table) == leaf_keys(Settings())


def test_every_setting_has_a_comment() -> None:
    lines = (REPO / "config.toml").read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if "=" in stripped and not stripped.startswith("#"):
            assert lines[index - 1].strip().startswith("#"), f"config.toml line {index + 1} has no comment above it"
