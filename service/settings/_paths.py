"""The service's own files and folders must not collide; checked where settings are loaded.

What the service writes, renames or deletes (relative paths count from the directory it starts in)::

    storage.database_path   <db>                 the database
                            <db>.wal             DuckDB's write-ahead log
                            <db>.tmp/            DuckDB's folder for spilled work
                            <db>.service.json    the address file (written as <db>.service.tmp, then renamed)
                            <db>.token           a generated token (written as <db>.token.tmp, then renamed)
    inbox.path              <inbox>              renamed to <inbox>.<time>.claimed, read, deleted;
                                                 every <inbox>.*.claimed is read again at each start
    memory.archive_dir      <archive>/           Parquet files; leftover *.parquet.tmp are removed
    mind.intentions_path    <intentions>         read (default: intentions.md beside the inbox)
    mind.notes_dir          <notes>/             notes files appended to (default: notes beside the database)
    outbox.path             <outbox>             every answer appended (default outbox.jsonl beside the
                                                 inbox); rotated to <outbox>.1 ... <outbox>.N

Two of them collide when they are the same file (compared resolved, through ``..`` and symlinks,
and by inode when both exist), when one lies inside the other, or when one is a name the inbox
claims (``<inbox>.*.claimed`` in the inbox's folder). Each collision would destroy data (an inbox
equal to the database renames the database away and deletes it), so loading refuses it with one
:class:`SettingsError` line, before anything is touched.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service._discovery import discovery_path
from service.settings._errors import SettingsError
from service.settings._loader import ENV_PREFIX
from service.settings._mind import intentions_path, notes_dir
from service.settings._sections import Settings
from service.settings._surfaces import outbox_path

__all__ = ["check_paths", "path_owner"]

_CLAIM_SUFFIX = ".claimed"  # streams/_inbox.py names claims <inbox>.<time>[-n].claimed


@dataclass(frozen=True, slots=True)
class _Place:
    """One path the service owns: the setting it comes from, what it is, and where."""

    key: str
    role: str
    path: Path
    folder: bool = False


def _places(settings: Settings) -> list[_Place]:
    """Every path the service owns, the inbox first (its collisions are named from its side)."""
    db = settings.storage.database_path
    address = discovery_path(db)
    key = "storage.database_path"
    return [
        _Place("inbox.path", "the inbox", Path(settings.inbox.path)),
        _Place(key, "the database", Path(db)),
        _Place(key, "the database's WAL", Path(f"{db}.wal")),
        _Place(key, "DuckDB's temporary folder", Path(f"{db}.tmp"), folder=True),
        _Place(key, "the address file", address),
        _Place(key, "the address file's temporary", address.with_suffix(".tmp")),
        _Place(key, "the token file", Path(f"{db}.token")),
        _Place(key, "the token file's temporary", Path(f"{db}.token.tmp")),
        _Place("memory.archive_dir", "the archive folder", Path(settings.memory.archive_dir), folder=True),
        _Place("outbox.path", "the outbox", outbox_path(settings.outbox, settings.inbox.path)),
        *_mind_places(settings),
    ]


def _mind_places(settings: Settings) -> list[_Place]:
    mind = settings.mind
    intentions = intentions_path(mind.intentions_path, settings.inbox.path)
    notes = notes_dir(mind.notes_dir, settings.storage.database_path)
    return [
        _Place("mind.intentions_path", "the intentions file", intentions),
        _Place("mind.notes_dir", "the notes folder", notes, folder=True),
    ]


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare what the name says
        return Path(os.path.abspath(path))


def _forms(path: Path) -> tuple[Path, Path]:
    """The directory entry the service renames or writes (its folder resolved), and what it resolves to."""
    entry = _resolved(path.parent) / path.name if path.name not in ("", ".", "..") else _resolved(path)
    return entry, _resolved(path)


def _same(a: Path, b: Path) -> bool:
    if _resolved(a) == _resolved(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links, and names a case-insensitive disk takes as one
    except OSError:
        return False


def _inside(inner: Path, outer: Path) -> bool:
    """``inner`` lies under ``outer`` (under a folder the service fills, or under a file, where nothing can be)."""
    top = _resolved(outer)
    return any(form != top and form.is_relative_to(top) for form in _forms(inner))


def _claim_pattern(inbox: Path) -> Path:
    return _resolved(inbox.parent) / f"{inbox.name}.*{_CLAIM_SUFFIX}"


def _claimed(path: Path, inbox: Path) -> bool:
    """``path`` is a name the inbox's recovery globs and reads (then deletes) as one of its claims."""
    folder = _resolved(inbox.parent)
    pattern = f"{glob.escape(inbox.name)}.*{_CLAIM_SUFFIX}"
    return any(form.parent == folder and fnmatch.fnmatchcase(form.name, pattern) for form in _forms(path))


class _Origins:
    """Where each setting's value came from, named as the loader names it (a variable by its name)."""

    def __init__(self, table: Mapping[str, Any] | None, env: Mapping[str, str] | None, origin: str) -> None:
        self._table = table
        self._env = env or {}
        self._origin = origin

    def of(self, key: str) -> tuple[str, str]:
        env_name = ENV_PREFIX + key.replace(".", "_").upper()
        if env_name in self._env:
            return env_name, "environment"
        if self._table is None:
            return key, self._origin
        section, _, name = key.partition(".")
        sub = self._table.get(section)
        return key, self._origin if isinstance(sub, Mapping) and name in sub else "defaults"


def _collisions(places: list[_Place]) -> Iterator[tuple[_Place, _Place, str]]:
    """(the setting to name first, the other, what is wrong) for each colliding pair, in a fixed order."""
    for i, a in enumerate(places):
        for b in places[i + 1 :]:
            if a.key == b.key:
                continue
            if _same(a.path, b.path):
                yield a, b, f"{a.role} and {b.role} are both {_resolved(a.path)}"
            elif _inside(a.path, b.path):
                yield a, b, f"{a.role} {_forms(a.path)[0]} is inside {b.role} {_resolved(b.path)}"
            elif _inside(b.path, a.path):
                yield b, a, f"{b.role} {_forms(b.path)[0]} is inside {a.role} {_resolved(a.path)}"
            elif a.key == "inbox.path" and _claimed(b.path, a.path):
                yield b, a, f"{b.role} {_resolved(b.path)} matches the inbox's claim files {_claim_pattern(a.path)}"


def _value(settings: Settings, key: str) -> Any:
    section, _, name = key.partition(".")
    return getattr(getattr(settings, section), name)


def check_paths(
    settings: Settings,
    *,
    table: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    origin: str = "settings",
) -> None:
    """Refuse settings whose paths would overwrite, rename or glob each other (see the module's table).

    Args:
        settings: the loaded settings.
        table: the parsed config.toml, to say where each value came from (``None``: all from ``origin``).
        env: the environment they were loaded with (``BEING_*`` values are named by their variable).
        origin: where the values in ``table`` came from (the file's path); values in neither are defaults.

    Raises:
        SettingsError: one line naming both settings, their values and the path they share.
    """
    origins = _Origins(table, env, origin)
    for subject, other, what in _collisions(_places(settings)):
        shown, where = origins.of(subject.key)
        other_shown, other_where = origins.of(other.key)
        expected = f"a path apart from {other_shown} = {_value(settings, other.key)!r} ({other_where}): {what}"
        raise SettingsError(shown, _value(settings, subject.key), expected, where)


def path_owner(settings: Settings, path: Path) -> str | None:
    """What the service keeps at ``path`` (``"storage.database_path (the database's WAL)"``), or ``None``.

    A command that writes a new file (``being replay --out``) asks this first, so it never writes
    over the service's own files or where the inbox would claim or the archive would clean it.
    """
    for place in _places(settings):
        inbox = place.key == "inbox.path"
        if (
            _same(path, place.path)
            or (place.folder and _inside(path, place.path))
            or (inbox and _claimed(path, place.path))
        ):
            return f"{place.key} ({place.role})"
    return None
