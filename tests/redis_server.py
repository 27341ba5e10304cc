"""A real ``redis-server`` of the test's own, on a free loopback port, with nothing saved to disk."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.server_binaries import free_port, server_binary
from tests.support import wait_until

__all__ = ["RedisServer", "redis_binary"]


def redis_binary() -> str:
    """The ``redis-server`` on PATH; skips the test when there is none, but fails it under CI (env ``CI``)."""
    return server_binary("redis-server", "redis-server", "Redis")


class RedisServer:
    """One ``redis-server`` process: ``url`` to reach it, ``stop()`` (idempotent), ``paused()`` to hang it."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = directory / "redis.log"
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(directory), "--logfile", str(self.log)]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        try:
            wait_until(self._answers, timeout_s=10.0, what=f"redis-server on port {self.port}")
        except AssertionError:
            self.stop()
            log = self.log.read_text(errors="replace") if self.log.exists() else "(no log)"
            raise AssertionError(f"redis-server did not start on port {self.port}:\n{log}") from None

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            log = self.log.read_text(errors="replace") if self.log.exists() else "(no log)"
            raise AssertionError(f"redis-server exited with {self.process.returncode}:\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the process (SIGSTOP) so that it accepts connections but never answers; resume it after."""
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10.0)
