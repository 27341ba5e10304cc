"""Fixtures of the fault suite: real `being` processes and simulators, always cleaned up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.service_process import ServiceProcess, SimulatorThread


@pytest.fixture
def launch() -> Iterator[Callable[[Path], ServiceProcess]]:
    """Start ``being run --config PATH``; every process started is killed at the end if still running."""
    started: list[ServiceProcess] = []

    def start(config: Path) -> ServiceProcess:
        service = ServiceProcess(config)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def simulators() -> Iterator[Callable[..., SimulatorThread]]:
    """Start a simulator (``plan``, ``port``); every one is stopped at the end."""
    started: list[SimulatorThread] = []

    def start(plan: Any = None, *, port: int = 0) -> SimulatorThread:
        simulator = SimulatorThread(plan, port=port)
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()
