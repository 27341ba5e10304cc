"""Load settings once: embedded defaults, then a TOML file, then ``BEING_<SECTION>_<KEY>`` variables.

Sections are frozen dataclasses (nested dataclasses are sub-tables). The loader walks
their fields, so a new setting needs only a field with :func:`setting` and a line in
config.toml; nothing here changes.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from operators import PolicyError
from service.settings._errors import SettingsError
from service.settings._fields import source_of, spec_of

__all__ = ["CONFIG_ENV", "ENV_PREFIX", "env_names", "load_into", "parse_toml"]

ENV_PREFIX = "BEING_"
CONFIG_ENV = "BEING_CONFIG"
"""Names the config file when ``--config`` is not given (read by the CLI; not a setting)."""
MAX_CONFIG_BYTES = 1 << 20

T = TypeVar("T")


def _type_name(tp: Any) -> str:
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if typing.get_origin(tp) is tuple:
        return "a list of strings"
    return getattr(tp, "__name__", str(tp))


def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _coerce(value: Any, tp: Any, key: str, origin: str, expected: str) -> Any:
    """Check a TOML value against a field type; ints are accepted where floats are expected."""
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            fvalue = float(value)
            if fvalue == fvalue and fvalue not in (float("inf"), float("-inf")):
                return fvalue
    elif tp is str:
        if isinstance(value, str):
            return value
    elif typing.get_origin(tp) is tuple:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    else:  # pragma: no cover - a programming error in a section class, not user input
        raise TypeError(f"settings field {key} has unsupported type {tp!r}")
    raise SettingsError(key, value, expected, origin)


def _from_env_text(text: str, tp: Any, key: str, expected: str) -> Any:
    origin = "environment"
    if tp is bool:
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise SettingsError(key, text, expected, origin)
    if tp is int:
        try:
            return int(text.strip())
        except ValueError:
            raise SettingsError(key, text, expected, origin) from None
    if tp is float:
        try:
            return _coerce(float(text.strip()), float, key, origin, expected)
        except ValueError:
            raise SettingsError(key, text, expected, origin) from None
    if typing.get_origin(tp) is tuple:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return text


def _build(cls: type[T], table: Mapping[str, Any], env: Mapping[str, str], prefix: str, origin: str) -> T:
    hints = _hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for name in table:
        if name not in known:
            key = f"{prefix}{name}"
            raise SettingsError(key, table[name], "no such setting; known keys: " + ", ".join(sorted(known)), origin)
    values: dict[str, Any] = {}
    given: dict[str, tuple[str, str]] = {}  # field → (the key or variable it was given as, where)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        tp = hints[f.name]
        key = f"{prefix}{f.name}"
        if _is_section(tp):
            sub = table.get(f.name, {})
            if not isinstance(sub, dict):
                raise SettingsError(key, sub, f"a table [{key}]", origin)
            values[f.name] = _build(tp, sub, env, f"{key}.", origin)
            continue
        spec = spec_of(f)
        expected = spec.expected(_type_name(tp))
        env_name = ENV_PREFIX + key.replace(".", "_").upper()
        if env_name in env:
            value = _from_env_text(env[env_name], tp, env_name, expected)
            where = "environment"
            shown = env_name
        elif f.name in table:
            value = _coerce(table[f.name], tp, key, origin, expected)
            where = origin
            shown = key
        else:
            continue
        if not spec.accepts(value):
            raise SettingsError(shown, value, expected, where)
        values[f.name] = value
        given[f.name] = (shown, where)
    try:
        return cls(**values)
    except PolicyError as exc:  # a policy refused a value: name the key that set it
        raise _policy_error(cls, exc, values, given, prefix, origin) from exc
    except ValueError as exc:  # cross-field checks in __post_init__
        raise SettingsError(prefix.rstrip(".") or "settings", values, str(exc), origin) from exc


def _policy_error(
    cls: type[Any],
    exc: PolicyError,
    values: Mapping[str, Any],
    given: Mapping[str, tuple[str, str]],
    prefix: str,
    origin: str,
) -> SettingsError:
    """The settings error for a value a policy refused, naming the key that set the policy's field."""
    for f in dataclasses.fields(cls):
        source = source_of(f)
        if source is not None and source.policy.__name__ == exc.owner and source.name == exc.field:
            shown, where = given.get(f.name, (f"{prefix}{f.name}", origin))
            value = values.get(f.name, f.default)
            expected = (
                exc.expected if source.none_as is None else f"{exc.expected} (None is written {source.none_as:g})"
            )
            return SettingsError(shown, value, expected, where)
    return SettingsError(prefix.rstrip(".") or "settings", dict(values), str(exc), origin)


def env_names(cls: type[Any], prefix: str = "") -> set[str]:
    """Every ``BEING_*`` variable name the settings tree ``cls`` understands."""
    names: set[str] = set()
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        if _is_section(hints[f.name]):
            names |= env_names(hints[f.name], f"{key}.")
        else:
            names.add(ENV_PREFIX + key.replace(".", "_").upper())
    return names


def parse_toml(path: Path) -> dict[str, Any]:
    """Read a TOML settings file.

    Raises:
        SettingsError: the file is missing, too large, not UTF-8 or not TOML.
    """
    origin = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SettingsError("--config", str(path), f"a readable file ({exc.strerror})", origin) from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise SettingsError("--config", f"{len(raw)} bytes", f"a file under {MAX_CONFIG_BYTES} bytes", origin)
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SettingsError("--config", str(path), f"UTF-8 text ({exc.reason} at byte {exc.start})", origin) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError("--config", str(path), f"valid TOML ({exc})", origin) from exc


def load_into(cls: type[T], table: Mapping[str, Any], env: Mapping[str, str], origin: str) -> T:
    """Build the settings tree ``cls`` from a parsed TOML table and the environment.

    Raises:
        SettingsError: an unknown key or variable, a wrong type, or a value out of range.
    """
    known_env = env_names(cls)
    for name in sorted(env):
        if name.startswith(ENV_PREFIX) and name not in known_env and name != CONFIG_ENV:
            raise SettingsError(name, env[name], "no such setting (BEING_<SECTION>_<KEY>)", "environment")
    return _build(cls, table, env, "", origin)
