"""Fixtures for the LLM tests: a real simulator on loopback and a backend pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llm import HttpConfig, OllamaBackend
from llm.simulator import Simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator() as simulator:
        yield simulator


def http_for(sim: Simulator, **overrides: float) -> HttpConfig:
    """Short timeouts: a hang must turn into an error quickly, and nothing here is slow on purpose."""
    values: dict[str, float] = {"connect_timeout_s": 2.0, "read_timeout_s": 5.0, "pool_timeout_s": 5.0}
    values.update(overrides)
    return HttpConfig(base_url=sim.base_url, **values)  # type: ignore[arg-type]


@pytest.fixture
async def backend(sim: Simulator) -> AsyncIterator[OllamaBackend]:
    client = OllamaBackend(http=http_for(sim), options={"temperature": 0.0})
    try:
        yield client
    finally:
        await client.aclose()
