"""What /healthz and /readyz report: the process's own state, which the runtime updates, and named components.

Liveness (/healthz) is about the process only: the event loop answers in time (its lag, as
measured by :class:`~service.health.LoopLag`, is under the limit), the writer thread runs and
the pipeline has not failed. A restart would fix those, and nothing else (a restart does not
bring an LLM server back), so no component takes part in it. 200 alive, 503 not.

Readiness (/readyz) lists every component: ``writer`` and ``pipeline`` (critical, built in)
and those added with :meth:`Health.add` (``database``, ``disk``, ``llm``, ``cache_store``,
``inbox``). Each is ``ok``, ``degraded`` or ``failing``. Not ready (503): not alive, not yet
started, stopping, or a critical component failing. Otherwise ready (200), with status
``degraded`` when some component is degraded or failing; ``?strict=true`` makes that 503 too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from service.health._component import Component, ComponentHealth, Status

__all__ = ["Health"]


@dataclass(slots=True)
class Health:
    """The service's liveness and readiness.

    Args:
        writer_alive: reads whether the DuckDB writer thread runs.
        pipeline_running: the pipeline is subscribed (set by the runtime).
        stopping: a shutdown has begun (set by the runtime).
        problems: why the pipeline failed, if it did.
        loop_lag: how late the event loop runs now, in seconds (``None``: not measured).
        loop_lag_limit_s: liveness fails while the lag is above this.
    """

    writer_alive: Callable[[], bool] = field(default=lambda: True)
    loop_lag: Callable[[], float | None] = field(default=lambda: None)
    loop_lag_limit_s: float = 5.0
    pipeline_running: bool = False
    stopping: bool = False
    problems: list[str] = field(default_factory=list)
    _components: dict[str, tuple[Component, bool]] = field(default_factory=dict, init=False, repr=False)

    def add(self, name: str, component: Component, *, critical: bool = False) -> None:
        """Report ``component`` under ``name`` in /readyz; when ``critical``, it failing makes the service not ready.

        Raises:
            ValueError: ``name`` is taken (``writer`` and ``pipeline`` are built in).
        """
        if name in ("writer", "pipeline") or name in self._components:
            raise ValueError(f"Health.add: a component named {name!r} is already reported")
        self._components[name] = (component, critical)

    def _process(self) -> dict[str, ComponentHealth]:
        writer = (
            ComponentHealth(Status.OK, "the writer thread runs")
            if self.writer_alive()
            else ComponentHealth(Status.FAILING, "the writer thread has stopped")
        )
        if self.problems:
            pipeline = ComponentHealth(Status.FAILING, "failed: " + "; ".join(self.problems))
        elif self.stopping:
            pipeline = ComponentHealth(Status.FAILING, "stopping")
        elif not self.pipeline_running:
            pipeline = ComponentHealth(Status.FAILING, "not started yet")
        else:
            pipeline = ComponentHealth(Status.OK, "running")
        return {"writer": writer, "pipeline": pipeline}

    def components(self) -> dict[str, tuple[ComponentHealth, bool]]:
        """Every component's health now and whether it is critical, built-in ones first."""
        reports = {name: (report, True) for name, report in self._process().items()}
        for name, (component, critical) in self._components.items():
            try:
                report = component.health()
            except Exception as exc:  # noqa: BLE001 - shown as the component's own state, not hidden
                report = ComponentHealth(Status.FAILING, f"its health check failed: {type(exc).__name__}: {exc}")
            reports[name] = (report, critical)
        return reports

    def live(self) -> tuple[bool, dict[str, object]]:
        """Alive: the event loop is not late beyond the limit, the writer thread runs, the pipeline has not failed."""
        writer = self.writer_alive()
        lag = self.loop_lag()
        responsive = lag is None or lag <= self.loop_lag_limit_s
        ok = writer and responsive and not self.problems
        return ok, {
            "status": "ok" if ok else "failing",
            "loop_lag_s": None if lag is None else round(lag, 3),
            "loop_lag_limit_s": self.loop_lag_limit_s,
            "writer_alive": writer,
            "pipeline_running": self.pipeline_running,
            "stopping": self.stopping,
            "problems": list(self.problems),
        }

    def ready(self, *, strict: bool = False) -> tuple[bool, dict[str, object]]:
        """Ready: alive, started, not stopping, no critical component failing; ``strict``: every component ok.

        Returns:
            Whether the service is ready, and the body of /readyz.
        """
        alive, body = self.live()
        reports = self.components()
        critical_failing = any(r.status is Status.FAILING and critical for r, critical in reports.values())
        impaired = any(r.status is not Status.OK for r, _ in reports.values())
        ready = alive and self.pipeline_running and not self.stopping and not critical_failing
        status = "not ready" if not ready else "degraded" if impaired else "ready"
        if strict and impaired:
            ready = False
        return ready, {
            **body,
            "status": status,
            "strict": strict,
            "components": {name: {**r.as_json(), "critical": critical} for name, (r, critical) in reports.items()},
        }
