"""A container engine to test the image with: the one that answers already, or a ``dockerd`` started here."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import wait_until

# Where a dockerd started here keeps its images and build cache, so a second run is a warm one.
DEFAULT_DATA_ROOT = "/var/lib/being-container-test"


@dataclass(kw_only=True)
class Engine:
    """The ``docker`` client and the daemon it talks to; ``dockerd`` is set when this test started it."""

    client: str
    env: dict[str, str]
    dockerd: subprocess.Popen[bytes] | None = None
    state: Path | None = None
    created: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) to remove at the end

    def run(
        self, *args: str, check: bool = True, timeout_s: float = 120, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        """``docker ARGS``; its output as text. Raises AssertionError with stderr when it fails and ``check``."""
        done = subprocess.run(
            [self.client, *args], env=self.env, capture_output=True, text=True, timeout=timeout_s, check=False, **kwargs
        )
        if check and done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def inspect(self, name: str) -> dict[str, Any]:
        """``docker inspect NAME`` as a dict."""
        found: list[dict[str, Any]] = json.loads(self.run("inspect", name).stdout)
        return found[0]

    def has_image(self, tag: str) -> bool:
        return self.run("image", "inspect", tag, check=False).returncode == 0

    def volume(self, name: str) -> str:
        """A new named volume, removed at the end of the session."""
        self.run("volume", "create", name)
        self.created.append(("volume", name))
        return name

    def container(self, *run_args: str) -> str:
        """``docker run -d RUN_ARGS``: the new container's id, removed at the end of the session."""
        container_id = self.run("run", "-d", *run_args).stdout.strip()
        self.created.append(("container", container_id))
        return container_id

    def bridge_gateway(self) -> str:
        """The host's address on the default bridge: what a container reaches the host at."""
        config = json.loads(self.run("network", "inspect", "bridge").stdout)[0]["IPAM"]["Config"][0]
        # An engine that chose the bridge's subnet itself names no gateway: it is the subnet's first address.
        return str(config.get("Gateway") or next(ipaddress.ip_network(config["Subnet"]).hosts()))

    def clean(self) -> None:
        """Remove what the session created (containers before volumes); stop the dockerd it started."""
        for kind, name in reversed(self.created):
            if kind == "container":
                self.run("rm", "-f", "-v", name, check=False)
            else:
                self.run("volume", "rm", "-f", name, check=False)
        self.created.clear()
        if self.dockerd is not None:
            self.dockerd.send_signal(signal.SIGTERM)
            try:
                self.dockerd.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.dockerd.kill()
                self.dockerd.wait(timeout=30)
            self.dockerd = None
        if self.state is not None:
            shutil.rmtree(self.state, ignore_errors=True)


def _answers(client: str, env: dict[str, str]) -> bool:
    asked = [client, "version", "--format", "{{.Server.Version}}"]
    done = subprocess.run(asked, env=env, capture_output=True, timeout=30, check=False)
    return done.returncode == 0


def _client_of(dockerd: str | None) -> str | None:
    """The ``docker`` installed with ``dockerd``: beside it, or in the ``bin`` beside its ``sbin``."""
    if dockerd is None:
        return None
    folder = Path(dockerd).resolve().parent
    for candidate in (folder / "docker", folder.parent / "bin" / "docker"):
        if candidate.is_file():
            return str(candidate)
    return None


def open_engine() -> Engine:
    """The engine ``docker`` reaches (``DOCKER_HOST`` or the default socket), else a ``dockerd`` started here.

    The started one listens on a socket of its own and keeps its data in ``BEING_DOCKERD_DATA_ROOT``
    (default ``/var/lib/being-container-test``). The client is the ``docker`` installed with ``dockerd``
    (Debian's docker.io: /usr/sbin/dockerd, /usr/bin/docker), so client and engine are one release.

    Raises:
        AssertionError: no engine answers and none can be started here (no dockerd, or not root).
    """
    env = dict(os.environ)
    dockerd = shutil.which("dockerd")
    client = _client_of(dockerd) or shutil.which("docker")
    if client is not None and _answers(client, env):
        return Engine(client=client, env=env)
    if dockerd is None or client is None:
        raise AssertionError("no container engine answers and dockerd is not installed (Debian package docker.io)")
    if os.geteuid() != 0:
        raise AssertionError(f"no container engine answers, and starting dockerd needs root (uid {os.geteuid()})")
    state = Path(tempfile.mkdtemp(prefix="being-dockerd-"))
    socket = state / "docker.sock"
    data_root = os.environ.get("BEING_DOCKERD_DATA_ROOT", DEFAULT_DATA_ROOT)
    log = (state / "dockerd.log").open("wb")
    process = subprocess.Popen(
        [
            dockerd,
            f"--host=unix://{socket}",
            f"--data-root={data_root}",
            f"--exec-root={state / 'exec'}",
            f"--pidfile={state / 'dockerd.pid'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    env["DOCKER_HOST"] = f"unix://{socket}"
    engine = Engine(client=client, env=env, dockerd=process, state=state)
    started = time.monotonic()
    try:
        wait_until(
            lambda: process.poll() is not None or (socket.exists() and _answers(client, env)),
            timeout_s=60,
            what="dockerd to answer on its socket",
        )
        if process.poll() is not None:
            raise AssertionError(f"dockerd exited {process.returncode}:\n{(state / 'dockerd.log').read_text()[-3000:]}")
    except BaseException:
        engine.clean()
        raise
    engine.env["BEING_DOCKERD_STARTED_S"] = f"{time.monotonic() - started:.1f}"
    return engine
