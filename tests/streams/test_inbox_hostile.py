"""Only regular files are read; what cannot be read is set aside once, and the inbox goes on."""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from streams import INVALID_INPUT, InboxState, LocalFiles, NotRegularFileError, inbox
from streams._open_files import open_regular
from tests.streams.inbox_support import QUIET, Harness, harness_on

SECRET = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"


def texts(harness: Harness, at: float) -> list[str]:
    return [str(e.payload["text"]) for e in harness.tick(at)]


def test_a_symlinked_inbox_is_never_read_one_dead_letter_and_one_warning(tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text(SECRET, encoding="utf-8")
    path = tmp_path / "inbox.txt"
    path.symlink_to(secret)
    harness = Harness(path)
    (event,) = harness.tick(1.0)
    assert event.type == INVALID_INPUT
    assert event.payload["reason"].startswith(f"not_regular: inbox.txt is a symbolic link to {secret}")
    for at in (2.0, 3.0, 4.0):
        assert harness.tick(at) == []
    assert [what for what, _ in harness.errors] == ["read inbox"]
    assert isinstance(harness.errors[0][1], NotRegularFileError)
    assert path.is_symlink() and secret.read_text(encoding="utf-8") == SECRET  # left as it was
    assert harness.claimed() == []


def test_a_refused_path_is_reported_again_only_when_what_is_there_changes(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.symlink_to(tmp_path / "one")
    harness = Harness(path)
    assert len(harness.tick(1.0)) == 1
    assert harness.tick(2.0) == []
    path.unlink()
    path.symlink_to(tmp_path / "two")
    (again,) = harness.tick(3.0)
    assert "symbolic link to" in again.payload["reason"] and again.payload["reason"].find("two") > 0
    path.unlink()
    path.write_text("a real message\n", encoding="utf-8")
    assert texts(harness, 4.0) == ["a real message"]
    assert len(harness.errors) == 2


def test_a_fifo_at_the_inbox_path_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    os.mkfifo(path)
    harness = Harness(path)
    (event,) = harness.tick(1.0)  # would hang for ever if the FIFO were opened for reading
    assert event.payload["reason"].startswith("not_regular: inbox.txt is a FIFO")
    assert harness.tick(2.0) == []


def test_a_device_at_the_inbox_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("creating a device needs CAP_MKNOD")
    (event,) = Harness(path).tick(1.0)
    assert event.payload["reason"].startswith("not_regular: inbox.txt is a character device")


def test_leftover_claims_that_are_not_regular_files_are_quarantined_and_the_rest_read(tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text(SECRET, encoding="utf-8")
    path = tmp_path / "inbox.txt"
    link = tmp_path / "inbox.txt.20200101T000000000000Z.claimed"
    link.symlink_to(secret)
    fifo = tmp_path / "inbox.txt.20200102T000000000000Z.claimed"
    os.mkfifo(fifo)
    good = tmp_path / "inbox.txt.20200103T000000000000Z.claimed"
    good.write_text("left over\n", encoding="utf-8")
    harness = Harness(path)
    events = harness.tick(1.0)
    assert [e.type for e in events] == [INVALID_INPUT, INVALID_INPUT, "user.message"]
    assert str(events[0].payload["reason"]).startswith(f"not_regular: symbolic link to {secret}")
    assert str(events[1].payload["reason"]).startswith("not_regular: FIFO")
    assert events[2].payload["text"] == "left over" and events[2].payload["recovered"] is True
    assert Path(f"{link}.quarantined").is_symlink() and Path(f"{fifo}.quarantined").exists()
    assert harness.claimed() == [good]
    assert secret.read_text(encoding="utf-8") == SECRET


def test_open_regular_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    for name, kind in (("link", "symbolic link to"), ("fifo", "FIFO"), ("dir", "directory")):
        with pytest.raises(NotRegularFileError, match=kind) as caught:
            open_regular(tmp_path / name)
        assert caught.value.filename == str(tmp_path / name)
    fd = open_regular(tmp_path / "file")
    try:
        assert os.read(fd, 10) == b"x"
        assert os.get_inheritable(fd) is False
    finally:
        os.close(fd)


class Unreadable(LocalFiles):
    """Claimed files whose name holds ``marker`` cannot be opened (as mode 000 is for a non-root user)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def open(self, path: Path) -> int:
        if self.marker in path.name:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return super().open(path)


def test_an_unreadable_leftover_claim_is_quarantined_and_intake_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    stuck = tmp_path / "inbox.txt.20200101T000000000000Z.claimed"
    stuck.write_text("cannot be read\n", encoding="utf-8")
    harness = Harness(path, files=Unreadable("20200101"))
    path.write_text("new message\n", encoding="utf-8")
    events = harness.tick(1.0)
    assert [e.type for e in events] == [INVALID_INPUT, "user.message"]
    assert str(events[0].payload["reason"]).startswith("unreadable: Permission denied")
    assert events[0].payload["claim"] == stuck.name
    quarantined = Path(f"{stuck}.quarantined")
    assert events[0].payload["set_aside_as"] == quarantined.name
    assert quarantined.read_text(encoding="utf-8") == "cannot be read\n" and not stuck.exists()
    assert events[1].payload["text"] == "new message"
    (what, exc), *_ = harness.errors
    assert what == f"read {stuck.name}" and isinstance(exc, PermissionError) and exc.filename == str(stuck)
    restarted = Harness(path, files=Unreadable("20200101"))
    assert restarted.tick(50.0)[0].payload["recovered"] is True  # only the readable claim is left


def test_a_new_claim_that_cannot_be_opened_is_quarantined(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "one\n", files=Unreadable(".claimed"))
    (event,) = harness.tick(1.0)
    assert event.type == INVALID_INPUT and str(event.payload["reason"]).startswith("unreadable:")
    assert len(list(tmp_path.glob("inbox.txt.*.claimed.quarantined"))) == 1
    assert harness.state.claims == []


def test_a_real_mode_000_claim_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    stuck = tmp_path / "inbox.txt.20200101T000000000000Z.claimed"
    stuck.write_text("locked\n", encoding="utf-8")
    stuck.chmod(0)
    if os.access(stuck, os.R_OK):
        pytest.skip("this process reads mode-000 files (root); the seam tests above cover it")
    path.write_text("new\n", encoding="utf-8")
    events = Harness(path).tick(1.0)
    assert [e.type for e in events] == [INVALID_INPUT, "user.message"]
    assert str(events[0].payload["reason"]).startswith("unreadable: Permission denied")


class WriteOnly(LocalFiles):
    """Claims are opened for writing only, so reading them fails (EBADF) like a failing disk."""

    def open(self, path: Path) -> int:
        return os.open(path, os.O_WRONLY | os.O_CLOEXEC)


def test_a_failed_read_is_reported_with_what_and_which_path_and_the_claim_is_quarantined(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "one\n", files=WriteOnly())
    path = harness.path
    (event,) = harness.tick(1.0)
    (claimed,) = tmp_path.glob("inbox.txt.*.claimed.quarantined")
    name = claimed.name.removesuffix(".quarantined")
    (what, exc), *_ = harness.errors
    assert what == f"read {name}"
    assert isinstance(exc, OSError) and exc.errno == errno.EBADF and exc.filename == str(tmp_path / name)
    assert event.payload["reason"] == f"unreadable: {os.strerror(errno.EBADF)}; set aside as {claimed.name}"
    path.write_text("two\n", encoding="utf-8")
    assert harness.tick(2.0)[0].type == INVALID_INPUT  # the next claim is tried (and fails) on its own


class Undeletable(LocalFiles):
    """Deleting fails, as on a file system remounted read-only."""

    def unlink(self, path: Path) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))


def test_a_failed_delete_is_reported_with_what_and_which_path_and_read_again_next_start(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "one\n", files=Undeletable())
    path = harness.path
    harness.ack(harness.tick(1.0))
    (claimed,) = harness.claimed()
    harness.tick(1.0 + QUIET)
    assert harness.errors == [(f"delete {claimed.name}", harness.errors[0][1])]
    exc = harness.errors[0][1]
    assert isinstance(exc, OSError) and exc.errno == errno.EROFS and exc.filename == str(claimed)
    assert harness.state.claims == [] and claimed.exists()  # let go of, not deleted
    harness.tick(10.0)
    assert len(harness.errors) == 1  # not reported again and again
    harness.state.close()
    again = Harness(path).tick(20.0)
    assert [e.payload["recovered"] for e in again] == [True]


def test_release_finished_logs_a_failed_delete_and_keeps_the_claim(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    harness = harness_on(tmp_path, "one\n", files=Undeletable())
    harness.ack(harness.tick(1.0))
    (claimed,) = harness.claimed()
    assert harness.state.release_finished() == []
    (record,) = [r for r in caplog.records if r.getMessage() == "inbox.release_failed"]
    assert record.path == str(claimed)  # type: ignore[attr-defined]
    assert [c.path for c in harness.state.claims] == [claimed]


class OutOfDescriptors(LocalFiles):
    """The process has run out of descriptors for the first ``times`` opens (EMFILE)."""

    def __init__(self, times: int) -> None:
        self.times = times

    def open(self, path: Path) -> int:
        if self.times > 0:
            self.times -= 1
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE), str(path))
        return super().open(path)


def test_running_out_of_descriptors_is_no_reason_to_quarantine_a_claim(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "one\n", files=OutOfDescriptors(times=2))
    assert harness.tick(1.0) == []
    assert harness.tick(2.0) == []
    assert texts(harness, 3.0) == ["one"]
    assert [what.split()[0] for what, _ in harness.errors] == ["read", "read"]
    assert list(tmp_path.glob("*.quarantined")) == []


def test_the_same_directory_is_reported_again_after_the_path_was_empty_or_a_file_for_a_tick(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    away = tmp_path / "away"
    path.mkdir()
    harness = Harness(path)
    assert len(harness.tick(1.0)) == 1
    path.rename(away)
    assert harness.tick(2.0) == []  # nothing there: what was refused is forgotten
    away.rename(path)  # the very same directory (same device and inode) comes back
    assert len(harness.tick(3.0)) == 1
    path.rename(away)
    path.write_text("", encoding="utf-8")  # an empty file: nothing to claim, but a file
    assert harness.tick(4.0) == []
    path.unlink()
    away.rename(path)
    assert len(harness.tick(5.0)) == 1
    assert [what for what, _ in harness.errors] == ["read inbox"] * 3


class VanishingWhenOpened(LocalFiles):
    """The claimed file is gone (deleted by someone else) and its open fails with an I/O error."""

    def open(self, path: Path) -> int:
        os.unlink(path)
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))


def test_a_claim_that_cannot_be_set_aside_is_reported_and_its_dead_letter_says_so(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "one\n", files=VanishingWhenOpened())
    (event,) = harness.tick(1.0)
    claimed_name = str(event.payload["claim"])
    assert [what for what, _ in harness.errors] == [f"read {claimed_name}", f"quarantine {claimed_name}"]
    assert isinstance(harness.errors[1][1], FileNotFoundError)
    assert event.payload["reason"] == f"unreadable: {os.strerror(errno.EIO)}; left in place: it could not be renamed"
    assert "set_aside_as" not in event.payload


def open_descriptors_of(path: Path) -> list[str]:
    """This process's descriptors that point to ``path``."""
    fds = Path("/proc/self/fd")
    found = []
    for fd in fds.iterdir():
        try:
            if os.readlink(fd) == str(path):
                found.append(fd.name)
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_claim_whose_read_fails_is_closed_dropped_and_not_read_again(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "one\n", files=WriteOnly())
    assert len(harness.tick(1.0)) == 1
    (quarantined,) = tmp_path.glob("inbox.txt.*.claimed.quarantined")
    assert open_descriptors_of(quarantined) == [] and harness.state.claims == []
    assert harness.tick(2.0) == [] and len(harness.errors) == 1  # nothing left to fail again


def test_an_empty_inbox_is_left_where_it_is_and_a_one_byte_one_is_claimed(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_bytes(b"")
    harness = Harness(path)
    assert harness.tick(1.0) == [] and path.exists() and harness.claimed() == []
    path.write_bytes(b"x")
    assert harness.tick(2.0) == [] and not path.exists()  # claimed: its one byte waits to be final
    assert [e.payload["text"] for e in harness.tick(2.0 + QUIET)] == ["x"]


def test_without_an_error_callback_failures_are_logged_with_what_and_which_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "box"
    folder.write_text("a file where the inbox's folder should be", encoding="utf-8")
    path = folder / "inbox.txt"
    trigger: Subject[Any] = Subject()
    state = InboxState()
    inbox(path, trigger, state, files=WriteOnly()).subscribe(scheduler=TestScheduler())
    with caplog.at_level(logging.WARNING, logger="streams"):
        trigger.on_next(0)  # the folder is a file: the failure's own path is the inbox's
        folder.unlink()
        folder.mkdir()
        path.write_text("one\n", encoding="utf-8")
        trigger.on_next(1)  # the claim cannot be read: the failure names the claim
    records = [r for r in caplog.records if r.getMessage() == "inbox.io_error"]
    assert [r.what for r in records] == ["read inbox", f"read {state_claim_name(tmp_path)}"]  # type: ignore[attr-defined]
    assert [r.path for r in records] == [str(path), str(folder / state_claim_name(tmp_path))]  # type: ignore[attr-defined]
    assert "Not a directory" in records[0].error  # type: ignore[attr-defined]


def state_claim_name(folder: Path) -> str:
    """The name of the one claim that was set aside in ``folder``."""
    (quarantined,) = (folder / "box").glob("inbox.txt.*.claimed.quarantined")
    return quarantined.name.removesuffix(".quarantined")


def test_a_leftover_claim_that_is_not_a_regular_file_is_reported_by_its_name(tmp_path: Path) -> None:
    fifo = tmp_path / "inbox.txt.20200102T000000000000Z.claimed"
    os.mkfifo(fifo)
    harness = Harness(tmp_path / "inbox.txt")
    harness.tick(1.0)
    ((what, error),) = harness.errors
    assert what == f"read {fifo.name}" and isinstance(error, NotRegularFileError)
