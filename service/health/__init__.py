"""Liveness and readiness: the process's state and named components (the LLM's among them)."""

from service.health._component import Component, ComponentHealth, Status
from service.health._health import Health
from service.health._llm import LLMHealth

__all__ = ["Component", "ComponentHealth", "Health", "LLMHealth", "Status"]
