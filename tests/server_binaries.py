"""What the real-server fixtures share: finding the server's program, and a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket

import pytest

__all__ = ["free_port", "server_binary"]


def server_binary(name: str, package: str, what: str) -> str:
    """``name`` on PATH; skips the test when it is missing, but fails it under CI (env ``CI``).

    Args:
        package: the Debian package that holds it (``.ci/run`` installs it).
        what: the tests that need it, for the message.
    """
    found = shutil.which(name)
    if found is not None:
        return found
    reason = f"{name} is not installed (apt-get install {package}; .ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI must not skip the {what} tests")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
