"""Helpers shared by the LLM tests."""

from __future__ import annotations

from llm import HttpConfig
from llm.simulator import Simulator


def http_for(
    sim: Simulator, *, read_timeout_s: float = 5.0, first_byte_timeout_s: float = 5.0, pool_timeout_s: float = 5.0
) -> HttpConfig:
    """Short timeouts: a hang must turn into an error quickly, and nothing here is slow on purpose."""
    return HttpConfig(
        base_url=sim.base_url,
        connect_timeout_s=2.0,
        first_byte_timeout_s=first_byte_timeout_s,
        read_timeout_s=read_timeout_s,
        pool_timeout_s=pool_timeout_s,
    )
