"""Checks of the settings and of the folders and disk the service writes to; none of them writes anything."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from service.checks._check import Check, CheckFailed, Probe, Severity
from service.settings import CONFIG_ENV, check_paths

__all__ = ["FILE_CHECKS", "nearest_existing", "writable"]

_MB = 1024 * 1024


def nearest_existing(path: Path) -> Path:
    """``path`` itself when it exists, else its closest existing ancestor (where it would be created)."""
    current = Path(os.path.abspath(path))
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _who() -> str:
    return f"uid {os.getuid()} gid {os.getgid()}"


def writable(folder: Path, role: str) -> str:
    """A line saying ``folder`` (or where it would be made) is writable, else :class:`CheckFailed` saying why.

    Asks the kernel (``access(2)``), which also knows read-only mounts; nothing is created.
    """
    where = nearest_existing(folder)
    if not where.is_dir():
        raise CheckFailed(f"{role} {folder}: {where} is not a folder")
    if not os.access(where, os.W_OK | os.X_OK):
        st = where.stat()
        raise CheckFailed(
            f"{role} {where} is not writable by {_who()} (owner {st.st_uid}:{st.st_gid}, mode "
            f"{stat.S_IMODE(st.st_mode):o}): chown it to {os.getuid()}:{os.getgid()} or make it writable"
        )
    if where == Path(os.path.abspath(folder)):
        return f"{folder} is writable by {_who()}"
    return f"{folder} does not exist yet; {where} is writable by {_who()}, so it can be made"


def _settings(probe: Probe) -> str:
    check_paths(probe.settings)  # settings built in code are held to what loading holds them to
    origin = str(probe.config) if probe.config is not None else "the embedded defaults"
    overrides = sorted(name for name in probe.env if name.startswith("BEING_") and name != CONFIG_ENV)
    shown = f"; overridden by {', '.join(overrides)}" if overrides else ""
    return f"valid, from {origin}{shown}"


def _data_folder(probe: Probe) -> str:
    return writable(Path(probe.settings.storage.database_path).parent, "the data folder")


def _inbox_folder(probe: Probe) -> str:
    folder = Path(probe.settings.inbox.path).parent
    line = writable(folder, "the inbox's folder")
    return f"{line} (inbox files are claimed by renaming them there)"


def _inbox_file(probe: Probe) -> str:
    path = Path(probe.settings.inbox.path)
    try:
        st = path.lstat()
    except FileNotFoundError:
        return f"{path} is absent (it is read once someone writes to it)"
    if stat.S_ISLNK(st.st_mode):
        raise CheckFailed(f"{path} is a symbolic link; the inbox must be a regular file (it is renamed and deleted)")
    if not stat.S_ISREG(st.st_mode):
        kind = stat.filemode(st.st_mode)
        raise CheckFailed(f"{path} is not a regular file (mode {kind}); remove it or change inbox.path")
    if not os.access(path, os.R_OK):
        raise CheckFailed(f"{path} is not readable by {_who()}")
    return f"{path} is a regular file of {st.st_size} bytes"


def _collisions(probe: Probe) -> str:
    settings = probe.settings
    check_paths(settings)
    return (
        f"the database {settings.storage.database_path}, the inbox {settings.inbox.path} and the archive "
        f"{settings.memory.archive_dir} are apart"
    )


def _archive_folder(probe: Probe) -> str:
    return writable(Path(probe.settings.memory.archive_dir), "the archive folder")


def _free_mb(probe: Probe) -> tuple[Path, int]:
    where = nearest_existing(Path(probe.settings.storage.database_path).parent)
    return where, shutil.disk_usage(where).free // _MB


def _disk_free(probe: Probe) -> str:
    where, free = _free_mb(probe)
    limit = probe.settings.checks.disk_critical_free_mb
    if free < limit:
        raise CheckFailed(f"{free} MiB free on the disk of {where}, below checks.disk_critical_free_mb = {limit}")
    return f"{free} MiB free on the disk of {where} (at least {limit} needed)"


def _disk_headroom(probe: Probe) -> str:
    where, free = _free_mb(probe)
    limit = probe.settings.checks.disk_warning_free_mb
    if free < limit:
        raise CheckFailed(f"{free} MiB free on the disk of {where}, below checks.disk_warning_free_mb = {limit}")
    return f"{free} MiB free on the disk of {where} (warned below {limit})"


FILE_CHECKS = (
    Check(name="settings", severity=Severity.CRITICAL, run=_settings),
    Check(name="data folder", severity=Severity.CRITICAL, run=_data_folder),
    Check(name="inbox folder", severity=Severity.CRITICAL, run=_inbox_folder),
    # a warning: the running service refuses such a file itself (a not_regular: dead letter) and reads
    # the inbox once it is a regular file, so it need not stop the start
    Check(name="inbox file", severity=Severity.WARNING, run=_inbox_file),
    Check(name="path collisions", severity=Severity.CRITICAL, run=_collisions),
    Check(name="archive folder", severity=Severity.CRITICAL, run=_archive_folder),
    Check(name="disk free", severity=Severity.CRITICAL, run=_disk_free),
    Check(name="disk headroom", severity=Severity.WARNING, run=_disk_headroom),
)
