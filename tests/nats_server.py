"""A real ``nats-server -js`` of the test's own, on a free loopback port, its JetStream data in the test's folder."""

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

__all__ = ["NatsServer", "nats_binary"]


def nats_binary() -> str:
    """The ``nats-server`` on PATH; skips the test when there is none, but fails it under CI (env ``CI``)."""
    return server_binary("nats-server", "nats-server", "NATS")


class NatsServer:
    """One ``nats-server`` with JetStream: ``url``, ``stop()``/``start()`` (same port and data), ``paused()``.

    The JetStream store lives in ``directory/jetstream``, so a stopped server started again keeps
    its streams and consumers, as a real deployment's would.
    """

    def __init__(self, binary: str, directory: Path, *, port: int | None = None) -> None:
        self.binary = binary
        self.directory = directory
        self.port = port if port is not None else free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.log = directory / "nats.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start the server (again) on its port with its data; returns once it answers."""
        if self.process is not None and self.process.poll() is None:
            return
        store = self.directory / "jetstream"
        store.mkdir(parents=True, exist_ok=True)
        args = [self.binary, "-js", "-sd", str(store), "-a", "127.0.0.1", "-p", str(self.port), "-l", str(self.log)]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        try:
            wait_until(self._answers, timeout_s=15.0, what=f"nats-server on port {self.port}")
        except AssertionError:
            self.stop()
            raise AssertionError(f"nats-server did not start on port {self.port}:\n{self._log_text()}") from None

    def _log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"nats-server exited with {self.process.returncode}:\n{self._log_text()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as conn:
                conn.settimeout(1.0)
                greeting = conn.recv(4096)  # INFO {...}
                if not greeting.startswith(b"INFO"):
                    return False
                conn.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
                return b"PONG" in conn.recv(4096)
        except OSError:
            return False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the process (SIGSTOP) so that it accepts connections but never answers; resume it after."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server (idempotent); its data stays for a later ``start()``."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10.0)
