"""Fixtures of the end-to-end tests: a real ``nats-server -js`` (``server``) and an LLM simulator (``simulator``),
each the test's own; a module that needs another simulator defines its own ``simulator``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.service_process import SimulatorThread
from tests.nats_server import NatsServer, nats_binary


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    """A JetStream server with its data in the test's folder."""
    (tmp_path / "nats").mkdir()
    nats_server = NatsServer(nats_binary(), tmp_path / "nats")
    try:
        yield nats_server
    finally:
        nats_server.stop()


@pytest.fixture
def simulator() -> Iterator[SimulatorThread]:
    """The project's LLM simulator on a loopback port, answering at once."""
    sim = SimulatorThread()
    try:
        yield sim
    finally:
        sim.stop()
