"""``being outbox``: print every reply and message of the being (one JSON line each); ``--follow`` waits for more.

The file is read directly (``[outbox] path``; by default ``outbox.jsonl`` beside the inbox), so
it works whether the service runs or not. Only whole lines are printed. ``--follow`` goes on
like ``tail -F``: when the service rotates the file (renames it ``<path>.1``) it finishes the old
file and goes on with the new one; when a start cuts a torn last line, the part already read is
dropped and the line is printed once it is written whole.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from service.commands._common import EXIT_OK, add_config_option, load_or_exit
from service.settings import outbox_path

__all__ = ["follow", "register"]

_BLOCK = 64 * 1024


def _rotated(path: Path) -> list[Path]:
    """``<path>.N ... <path>.1``: the rotated files, oldest first."""
    found = [p for p in path.parent.glob(f"{path.name}.*") if p.suffix[1:].isdigit()]
    return sorted(found, key=lambda p: -int(p.suffix[1:]))


def _print_whole_lines(path: Path, out: BinaryIO) -> None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    end = data.rfind(b"\n") + 1
    out.write(data[:end])


def follow(path: Path, out: BinaryIO, *, poll_s: float = 0.2, keep_going: Callable[[], bool] = lambda: True) -> None:
    """Print the whole lines of ``path`` as they come, across rotations and cut lines, while ``keep_going()``."""
    handle: BinaryIO | None = None
    inode = -1
    partial = b""
    while keep_going():
        if handle is None:
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                time.sleep(poll_s)
                continue
            inode, partial = os.fstat(handle.fileno()).st_ino, b""
        data = handle.read(_BLOCK)
        if data:
            partial += data
            end = partial.rfind(b"\n") + 1
            if end:
                out.write(partial[:end])
                out.flush()
                partial = partial[end:]
            continue
        try:
            now = os.stat(path)
        except FileNotFoundError:
            now = None
        if now is None or now.st_ino != inode:  # rotated: the old file is read to its end
            handle.close()
            handle = None
            continue
        if now.st_size < handle.tell():  # a torn last line was cut: it comes again whole
            handle.seek(now.st_size)
            partial = b""
        time.sleep(poll_s)
    if handle is not None:
        handle.close()


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    path = outbox_path(settings.outbox, settings.inbox.path)
    out = sys.stdout.buffer
    if args.all:
        for older in _rotated(path):
            _print_whole_lines(older, out)
    if not args.follow:
        _print_whole_lines(path, out)
        out.flush()
        return EXIT_OK
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends a follow, as it ends tail -f
        follow(path, out)
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("outbox", help="print every reply and message of the being (JSON lines)")
    add_config_option(parser)
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing new lines as they are written")
    parser.add_argument("--all", action="store_true", help="print the rotated files (<path>.N ... <path>.1) first")
    parser.set_defaults(handler=handle)
