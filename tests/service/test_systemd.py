"""systemd's notify protocol over a real AF_UNIX datagram socket (a path and an abstract name)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from service._systemd import SystemdNotifier


@pytest.fixture
def folder() -> Iterator[Path]:
    made = Path(tempfile.mkdtemp(prefix="being-sd-"))  # short: AF_UNIX paths are at most 107 bytes
    yield made
    shutil.rmtree(made)


def test_notifications_arrive_as_one_datagram_of_key_value_lines(folder: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(folder / "notify"))
        notifier = SystemdNotifier({"NOTIFY_SOCKET": str(folder / "notify")})
        assert notifier.enabled and notifier.watchdog_interval_s is None
        assert notifier.notify(READY="1", STATUS="running")
        assert listener.recv(4096) == b"READY=1\nSTATUS=running"


def test_an_abstract_socket_name_is_reached() -> None:
    name = f"being-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(b"\0" + name.encode())
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).notify(STOPPING="1")
        assert listener.recv(4096) == b"STOPPING=1"


def test_the_watchdog_interval_is_half_of_watchdog_usec_for_this_process_only(folder: Path) -> None:
    env = {"NOTIFY_SOCKET": str(folder / "notify"), "WATCHDOG_USEC": "30000000"}
    assert SystemdNotifier(env).watchdog_interval_s == 15.0
    assert SystemdNotifier({**env, "WATCHDOG_PID": str(os.getpid())}).watchdog_interval_s == 15.0
    assert SystemdNotifier({**env, "WATCHDOG_PID": "1"}).watchdog_interval_s is None
    assert SystemdNotifier({**env, "WATCHDOG_USEC": "0"}).watchdog_interval_s is None
    assert SystemdNotifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval_s is None  # no socket, no watchdog


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled and not notifier.notify(READY="1")
    assert not SystemdNotifier({"NOTIFY_SOCKET": "relative/path"}).enabled


def test_a_socket_that_went_away_is_logged_not_raised(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(folder / "gone")})
    with caplog.at_level(logging.WARNING, logger="service"):
        assert not notifier.notify(READY="1")
    [record] = caplog.records
    assert record.getMessage() == "systemd.notify_failed" and record.__dict__["fields"] == ["READY"]
