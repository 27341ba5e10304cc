"""A fault-injecting Ollama simulator: a real aiohttp server for tests, benchmarks and `being simulate-llm`."""

from __future__ import annotations

from llm.simulator._plan import FAULTS, FaultPlan, check_fault
from llm.simulator._server import FAULT_HEADER, Simulator
from llm.simulator._stats import SimulatorStats

__all__ = ["FAULTS", "FAULT_HEADER", "FaultPlan", "Simulator", "SimulatorStats", "check_fault"]
