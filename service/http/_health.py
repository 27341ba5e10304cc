"""What /healthz and /readyz report: a small state object the runtime updates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Health"]


@dataclass(slots=True)
class Health:
    """The service's liveness and readiness.

    Args:
        writer_alive: reads whether the DuckDB writer thread runs.
    """

    writer_alive: Callable[[], bool] = field(default=lambda: True)
    pipeline_running: bool = False
    stopping: bool = False
    problems: list[str] = field(default_factory=list)

    def live(self) -> tuple[bool, dict[str, object]]:
        """Alive: the writer thread runs and the pipeline has not failed."""
        writer = self.writer_alive()
        ok = writer and not self.problems
        return ok, {
            "status": "ok" if ok else "failing",
            "writer_alive": writer,
            "pipeline_running": self.pipeline_running,
            "stopping": self.stopping,
            "problems": list(self.problems),
        }

    def ready(self) -> tuple[bool, dict[str, object]]:
        """Ready: alive, the pipeline is subscribed, and no shutdown has begun."""
        ok, body = self.live()
        ready = ok and self.pipeline_running and not self.stopping
        return ready, {**body, "status": "ready" if ready else "not ready"}
