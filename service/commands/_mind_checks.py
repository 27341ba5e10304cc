"""``being check``'s checks of the mind's files: the intentions file and the notes folder."""

from __future__ import annotations

import os
import tempfile

from service.settings import Settings, intentions_path, notes_dir
from streams import read_intentions

__all__ = ["intentions_file", "notes_folder"]


def intentions_file(settings: Settings) -> str:
    """The intentions file is absent (allowed) or a regular file the being can read.

    Raises:
        OSError: something else is at the path, or it cannot be read.
    """
    mind = settings.mind
    path = intentions_path(mind.intentions_path, settings.inbox.path)
    if not mind.enabled:
        return f"{path}: not read ([mind] enabled = false)"
    try:
        os.lstat(path)
    except FileNotFoundError:
        return f"{path} does not exist yet: write the being's standing instructions there"
    read = read_intentions(path, mind.intentions_max_bytes)
    cut = f", cut at mind.intentions_max_bytes = {mind.intentions_max_bytes}" if read.truncated else ""
    odd = ", not all UTF-8 (read with U+FFFD)" if read.replaced else ""
    return f"{path} is readable ({read.size} bytes{cut}{odd})"


def notes_folder(settings: Settings) -> str:
    """The notes folder is writable, or can be made where it is to be.

    Raises:
        OSError: it is not a folder, or it cannot be written or made.
    """
    folder = notes_dir(settings.mind.notes_dir, settings.storage.database_path).resolve()
    if folder.exists():
        if not folder.is_dir():
            raise OSError(f"{folder} is not a folder (see mind.notes_dir)")
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".being-check-"):
            pass
        return f"{folder} is writable"
    parent = next(p for p in folder.parents if p.exists())
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OSError(f"{folder} cannot be made: {parent} is not a writable folder (see mind.notes_dir)")
    return f"{folder} does not exist yet and will be made in {parent}"
