"""One part of the service that readiness reports on: its status and a line saying why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = ["Component", "ComponentHealth", "Status"]


class Status(StrEnum):
    """How a component is doing.

    ``ok``: working. ``degraded``: the service still answers, worse (fallback replies, say).
    ``failing``: not working; a critical component failing makes the service not ready.
    (``DOWN`` is the same state under its earlier name.)
    """

    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"
    DOWN = "failing"


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """A component's status and a one-line detail (what a person reading /readyz needs)."""

    status: Status
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        return {"status": self.status.value, "detail": self.detail}


class Component(Protocol):
    """Anything that can say how it is doing; asked on every /readyz, so it must be cheap."""

    def health(self) -> ComponentHealth:
        """The status now."""
        ...
