"""Fixtures for the LLM tests: a real simulator on loopback and a backend pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llm import OllamaBackend
from llm.simulator import Simulator
from tests.llm.llm_support import http_for


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator() as simulator:
        yield simulator


@pytest.fixture
async def backend(sim: Simulator) -> AsyncIterator[OllamaBackend]:
    client = OllamaBackend(http=http_for(sim), options={"temperature": 0.0})
    try:
        yield client
    finally:
        await client.aclose()
