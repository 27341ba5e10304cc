"""Whether anyone else holds a file open, told by a Linux write lease, without the lease's signal ending the process."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams._open_files import exclusive, open_regular
from tests.support import wait_until

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="leases are Linux's")

F_GETLEASE = getattr(fcntl, "F_GETLEASE", 1025)
F_UNLCK = getattr(fcntl, "F_UNLCK", 2)


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A file of one line and this process's descriptor of it, closed after the test."""
    path = tmp_path / "f"
    path.write_text("x\n", encoding="utf-8")
    fd = open_regular(path)
    try:
        yield path, fd
    finally:
        os.close(fd)


def test_alone_with_no_other_descriptor(held: tuple[Path, int]) -> None:
    _, fd = held
    with exclusive(fd) as alone:
        assert alone is True
    with exclusive(fd) as alone:  # released: it can be taken again
        assert alone is True


def test_not_alone_while_this_process_or_another_holds_the_file(held: tuple[Path, int]) -> None:
    path, fd = held
    with path.open("rb"), exclusive(fd) as alone:
        assert alone is False
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; f = open(sys.argv[1], 'a'); print('open', flush=True); input()", path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "open\n"
    with exclusive(fd) as alone:
        assert alone is False
    holder.communicate("\n", timeout=10)
    with exclusive(fd) as alone:
        assert alone is True


def test_an_open_during_the_lease_waits_for_it_and_does_not_end_this_process(held: tuple[Path, int]) -> None:
    # The kernel signals the lease holder when someone opens the file; with SIGIO (the default)
    # this test process would die here.
    path, fd = held
    with exclusive(fd) as alone:
        assert alone is True
        writer = subprocess.Popen([sys.executable, "-c", "import sys; open(sys.argv[1], 'a').write('y\\n')", path])
        wait_until(lambda: fcntl.fcntl(fd, F_GETLEASE) == F_UNLCK, what="the writer's open to break the lease")
        assert writer.poll() is None  # its open() waits until the lease is released
    assert writer.wait(timeout=10) == 0
    assert path.read_text(encoding="utf-8") == "x\ny\n"
