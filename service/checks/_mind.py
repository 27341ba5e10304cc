"""Checks of the mind's files: the intentions file and the notes folder (warnings: the service copes with both)."""

from __future__ import annotations

import os

from service.checks._check import Check, CheckFailed, Probe, Severity
from service.checks._files import writable
from service.settings import intentions_path, notes_dir
from streams import NotRegularFileError, read_intentions

__all__ = ["MIND_CHECKS"]


def _intentions_file(probe: Probe) -> str:
    settings = probe.settings
    mind = settings.mind
    path = intentions_path(mind.intentions_path, settings.inbox.path)
    if not mind.enabled:
        return f"{path}: not read ([mind] enabled = false)"
    try:
        os.lstat(path)
    except FileNotFoundError:
        return f"{path} does not exist yet: write the being's standing instructions there"
    try:
        read = read_intentions(path, mind.intentions_max_bytes)
    except NotRegularFileError as exc:
        raise CheckFailed(f"{exc}; the intentions must be a regular file (it is never followed or opened)") from exc
    cut = f", cut at mind.intentions_max_bytes = {mind.intentions_max_bytes}" if read.truncated else ""
    odd = ", not all UTF-8 (read with U+FFFD)" if read.replaced else ""
    return f"{path} is readable ({read.size} bytes{cut}{odd})"


def _notes_folder(probe: Probe) -> str:
    settings = probe.settings
    return writable(notes_dir(settings.mind.notes_dir, settings.storage.database_path), "the notes folder")


MIND_CHECKS = (
    # warnings: a bad intentions file is one warning in the log and no intentions; notes that cannot
    # be written become dead letters holding the whole note
    Check(name="intentions file", severity=Severity.WARNING, run=_intentions_file),
    Check(name="notes folder", severity=Severity.WARNING, run=_notes_folder),
)
