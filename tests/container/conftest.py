"""The image under test: an engine, the base the Dockerfile names, the unchanged Dockerfile built, a slow LLM.

Run by ``make container-test`` (``BEING_CONTAINER_TEST=1``); every test here is skipped without it, so
``make test`` needs no engine. The figures measured on the way (build times, size, start to healthy,
stop with a call in flight) are printed at the end of the run, not asserted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.container.engine import Engine, open_engine
from tests.e2e.service_process import being_command
from tests.support import REPO, wait_until

ENABLED = os.environ.get("BEING_CONTAINER_TEST") == "1"
SKIP = pytest.mark.skipif(not ENABLED, reason="needs a container engine: run `make container-test`")
TAG = "digital-being:container-test"
# What pytest measured on the way, printed at the end (figures, never assertions).
FIGURES: dict[str, str] = {}
# Left out of the build context copy: what .dockerignore leaves out anyway, and the caches.
_NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "*.duckdb*", "__pycache__", "*_cache", ".hypothesis", "data")


def base_image() -> str:
    """The one image the Dockerfile's stages start from (besides each other)."""
    stages = [line.split() for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("FROM ")]
    names = {stage[3] for stage in stages if len(stage) == 4}
    bases = {stage[1] for stage in stages} - names
    assert len(bases) == 1, f"expected one base image in the Dockerfile, got {sorted(bases)}"
    return bases.pop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("container figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    engine = open_engine()
    FIGURES["engine"] = engine.run("version", "--format", "{{.Server.Version}}").stdout.strip()
    if engine.dockerd is not None:
        FIGURES["dockerd started in"] = f"{engine.env['BEING_DOCKERD_STARTED_S']} s"
    try:
        yield engine
    finally:
        engine.clean()


@pytest.fixture(scope="session")
def base(engine: Engine) -> str:
    """The base image: already there (pulled, or a stand-in made before), else a stand-in made now."""
    name = base_image()
    if engine.has_image(name):
        labels = engine.inspect(name)["Config"].get("Labels") or {}
        made = "stand-in made earlier" if "org.digital-being.stand-in" in labels else "as found"
        FIGURES["base"] = f"{name}, {made}"
        return name
    started = time.monotonic()
    done = subprocess.run(
        [str(REPO / "docker" / "standin-base.sh"), name],
        env={**engine.env, "DOCKER": engine.client},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"docker/standin-base.sh failed:\n{done.stdout}\n{done.stderr}"
    FIGURES["base"] = f"{name}, stand-in made by debootstrap in {time.monotonic() - started:.0f} s"
    return name


@pytest.fixture(scope="session")
def build_ca() -> Path | None:
    """The CA bundle handed to the build stage (``BEING_BUILD_CA``), or None."""
    named = os.environ.get("BEING_BUILD_CA", "")
    if not named:
        return None
    path = Path(named)
    assert path.is_file(), f"BEING_BUILD_CA names {named!r}, which is not a file"
    return path


@pytest.fixture(scope="session")
def context(tmp_path_factory: pytest.TempPathFactory, build_ca: Path | None) -> Path:
    """A copy of the tree to build from (the Dockerfile unchanged), with the build CA in docker/build-ca/."""
    copy = tmp_path_factory.mktemp("context") / "tree"
    shutil.copytree(REPO, copy, ignore=_NOT_COPIED)
    if build_ca is not None:
        shutil.copyfile(build_ca, copy / "docker" / "build-ca" / "ca.pem")
    assert (copy / "Dockerfile").read_bytes() == (REPO / "Dockerfile").read_bytes()
    return copy


def build(engine: Engine, context: Path, tag: str) -> tuple[str, float]:
    """``docker build`` of ``context``; its output and how long it took."""
    args = ["build", "--progress=plain"] if engine.env.get("DOCKER_BUILDKIT") == "1" else ["build"]
    if os.environ.get("BEING_CONTAINER_NO_CACHE") == "1":
        args.append("--no-cache")
    started = time.monotonic()
    done = engine.run(*args, "-t", tag, str(context), timeout_s=1800)
    return done.stdout + done.stderr, time.monotonic() - started


@pytest.fixture(scope="session")
def image(engine: Engine, base: str, context: Path) -> str:
    """The Dockerfile built, tagged ``digital-being:container-test``."""
    output, took = build(engine, context, TAG)
    cached = output.count("Using cache") + output.count(" CACHED")
    FIGURES["build"] = f"{took:.0f} s, {cached} steps from the cache" + (
        " (--no-cache)" if os.environ.get("BEING_CONTAINER_NO_CACHE") == "1" else ""
    )
    size = int(engine.inspect(TAG)["Size"])
    base_size = int(engine.inspect(base)["Size"])
    FIGURES["image size"] = f"{size / 1e6:.0f} MB (base {base_size / 1e6:.0f} MB)"
    return TAG


class Simulator:
    """``being simulate-llm`` on the host, on the bridge's address so containers reach it."""

    def __init__(self, host: str, latency_ms: int) -> None:
        self.proc = subprocess.Popen(
            [*being_command(), "simulate-llm", "--host", host, "--port", "0", "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"on (http://\S+)", line)
        if found is None:
            self.proc.kill()
            _, error = self.proc.communicate(timeout=10)
            raise AssertionError(f"being simulate-llm did not say where it serves: {line!r} {error}")
        self.url = found.group(1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def slow_llm(engine: Engine) -> Iterator[Simulator]:
    """An LLM that takes 30 s to answer, reachable from containers at the host's bridge address."""
    simulator = Simulator(engine.bridge_gateway(), 30_000)
    try:
        yield simulator
    finally:
        simulator.stop()


def wait_healthy(engine: Engine, container: str, *, timeout_s: float = 90) -> float:
    """Wait until the engine calls ``container`` healthy; seconds waited."""
    started = time.monotonic()

    def healthy() -> bool:
        state = engine.inspect(container)["State"]
        assert state["Status"] == "running", f"the container stopped: {state} {engine.run('logs', container).stderr}"
        return bool(state.get("Health", {}).get("Status") == "healthy")

    wait_until(healthy, timeout_s=timeout_s, what=f"{container} healthy")
    return time.monotonic() - started


__all__ = ["FIGURES", "SKIP", "TAG", "Simulator", "build", "sys", "wait_healthy"]
