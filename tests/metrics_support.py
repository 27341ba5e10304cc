"""Running the real service in the test's loop, against the LLM simulator, and reading its /metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from llm.simulator import FaultPlan, Simulator
from runtime import Runtime
from service.settings import Settings, load_settings
from service.tracing import Tracing
from sinks import EpisodeRow, open_database, write_rows
from tests.support import until

Snapshot = dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]

_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}


def counter_totals(registry: CollectorRegistry, family: str) -> list[Sample]:
    """The ``_total`` samples of a counter family in ``registry``, one per label set."""
    return [
        sample
        for metric in registry.collect()
        if metric.name == family
        for sample in metric.samples
        if sample.name == f"{family}_total"
    ]


def write_config(folder: Path, base_url: str, **sections: dict[str, Any]) -> Path:
    """A config.toml for a service in ``folder`` that answers with the LLM at ``base_url``, quickly."""
    base: dict[str, dict[str, Any]] = {
        "storage": {"database_path": str(folder / "data" / "being.duckdb"), "duckdb_memory_limit_mb": 256},
        "inbox": {"path": str(folder / "inbox.txt"), "quiet_s": 0.1},
        "http": {"port": 0},
        "ticks": {"light_interval_s": 0.05, "heavy_interval_s": 0.2},
        "sink": {"batch_max_wait_s": 0.02},
        "log": {"format": "json"},
        "llm": {"base_url": base_url},
        "memory": {"archive_dir": str(folder / "data" / "archive"), "upkeep_interval_s": 1.0},
        "resilience.retry": {"max_attempts": 2, "base_delay_s": 0.01, "jitter": False},
        "resilience.breaker": {"window_calls": 2, "minimum_calls": 2, "open_for_s": 300.0},
        "resilience.bulkhead": {"enabled": True, "max_concurrent": 1, "max_waiting": 4},
        "shutdown": {"drain_timeout_s": 5.0},
        # the cache's shared tier on a port nothing listens on: Redis down, every lookup a store error
        "resilience.cache": {"backend": "redis", "redis_url": "redis://127.0.0.1:1/0", "store_timeout_s": 0.2},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    lines: list[str] = []
    for name, values in base.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def seed_old_episode(database: Path) -> None:
    """One episode older than the archive's age, so the first upkeep run archives it."""
    database.parent.mkdir(parents=True, exist_ok=True)
    con = open_database(database)
    try:
        old = datetime.now(UTC) - timedelta(days=400)
        write_rows(con, [EpisodeRow(id="old", time=old, type="monologue", description="old", outcome="success")])
    finally:
        con.close()


@dataclass
class LiveService:
    """A running service, its simulator and an HTTP client to it."""

    runtime: Runtime
    simulator: Simulator
    client: httpx.AsyncClient
    settings: Settings
    inbox: Path

    async def scrape(self) -> str:
        response = await self.client.get("/metrics")
        assert response.status_code == 200, response.text
        return response.text

    def say(self, *lines: str) -> None:
        with self.inbox.open("a", encoding="utf-8") as out:
            out.writelines(f"{line}\n" for line in lines)


@asynccontextmanager
async def live_service(
    folder: Path,
    registry: CollectorRegistry | None = None,
    plan: FaultPlan | None = None,
    make_tracing: Callable[[Settings], Tracing] | None = None,
    **sections: dict[str, Any],
) -> AsyncIterator[LiveService]:
    """Start the simulator and the service (in this loop); stop both at the end, asserting exit 0.

    ``make_tracing`` makes the service's tracing from its settings (default: as ``[tracing]`` says).
    """
    async with Simulator(plan or FaultPlan(models=())) as simulator:
        settings = load_settings(write_config(folder, simulator.base_url, **sections), env={})
        traced = make_tracing(settings) if make_tracing is not None else None
        runtime = Runtime(settings, registry=registry or CollectorRegistry(), install_signals=False, tracing=traced)
        task = asyncio.create_task(runtime.run())
        try:
            await until(
                lambda: task.done() or (runtime.bound_port is not None and runtime.health.pipeline_running),
                timeout_s=30,
                what="the service to start",
            )
            assert not task.done(), task
            base = f"http://127.0.0.1:{runtime.bound_port}"
            auth = {"Authorization": f"Bearer {runtime.token.value}"}
            async with httpx.AsyncClient(base_url=base, headers=auth, timeout=10) as client:
                yield LiveService(runtime, simulator, client, settings, Path(settings.inbox.path))
        finally:
            simulator.release()
            runtime.request_stop()
            assert await asyncio.wait_for(task, 30) == 0


def snapshot(text: str) -> Snapshot:
    """Every sample of every family in a scrape, by family name (counters without ``_total``)."""
    families: Snapshot = {}
    for family in text_string_to_metric_families(text):
        samples = families.setdefault(family.name, {})
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue  # the time a child was made: not a movement of the series
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return families


def families_of(text: str, prefix: str = "being_") -> set[str]:
    """The names of the families a scrape declares (with ``# TYPE``), samples or not."""
    return {
        family.name
        for family in text_string_to_metric_families(text)
        if family.name.startswith(prefix) and not family.name.endswith("_created")  # a child's birth time
    }


def series_names(text: str) -> set[str]:
    """Every sample name the families of a scrape can have (``_total``, ``_bucket``... included)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        suffixes = _SUFFIXES.get(family.type, ())
        names.add(family.name)
        names.update(family.name + suffix for suffix in suffixes)
        names.update(sample.name for sample in family.samples)
    return names
