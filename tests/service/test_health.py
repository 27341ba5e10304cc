"""Health: the process's state and named components, and what /healthz and /readyz answer for each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client import CollectorRegistry

from service.health import ComponentHealth, Health, Status
from service.http import build_app, serve
from service.settings import HttpSettings


@dataclass
class Fixed:
    """A component whose health the test sets."""

    report: ComponentHealth

    def health(self) -> ComponentHealth:
        return self.report


class Broken:
    def health(self) -> ComponentHealth:
        raise RuntimeError("cannot tell")


def test_ready_with_every_component_ok() -> None:
    health = Health(pipeline_running=True)
    health.add("llm", Fixed(ComponentHealth(Status.OK, "answering")))
    ok, body = health.ready()
    assert ok and body["status"] == "ready"
    assert body["components"] == {
        "writer": {"status": "ok", "detail": "the writer thread runs", "critical": True},
        "pipeline": {"status": "ok", "detail": "running", "critical": True},
        "llm": {"status": "ok", "detail": "answering", "critical": False},
    }


def test_a_degraded_component_keeps_the_service_ready_unless_strict() -> None:
    health = Health(pipeline_running=True)
    health.add("llm", Fixed(ComponentHealth(Status.DEGRADED, "breaker 'reply' open")))
    ok, body = health.ready()
    assert ok and body["status"] == "degraded"
    strict_ok, strict_body = health.ready(strict=True)
    assert not strict_ok and strict_body["status"] == "degraded" and strict_body["strict"] is True
    assert health.live()[0]


def test_a_non_critical_component_down_is_degraded_a_critical_one_is_not_ready() -> None:
    health = Health(pipeline_running=True)
    cache = Fixed(ComponentHealth(Status.FAILING, "redis refused"))
    health.add("cache", cache)
    ok, body = health.ready()
    assert ok and body["status"] == "degraded"
    health.add("disk", Fixed(ComponentHealth(Status.FAILING, "full")), critical=True)
    ok, body = health.ready()
    assert not ok and body["status"] == "not ready"
    assert health.live()[0]  # liveness stays about the process


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"pipeline_running": False}, "not started yet"),
        ({"stopping": True}, "stopping"),
        ({"problems": ["boom"]}, "failed: boom"),
    ],
)
def test_not_ready_while_starting_stopping_or_failed(change: dict[str, object], detail: str) -> None:
    health = Health(pipeline_running=True)
    for name, value in change.items():
        setattr(health, name, value)
    ok, body = health.ready()
    assert not ok and body["status"] == "not ready"
    assert body["components"]["pipeline"] == {"status": "failing", "detail": detail, "critical": True}  # type: ignore[index]


def test_a_stopped_writer_is_down_and_not_alive() -> None:
    health = Health(writer_alive=lambda: False, pipeline_running=True)
    assert not health.live()[0]
    ok, body = health.ready()
    assert not ok
    assert body["components"]["writer"]["status"] == "failing"  # type: ignore[index]


def test_a_component_whose_check_raises_is_shown_down_with_the_error() -> None:
    health = Health(pipeline_running=True)
    health.add("llm", Broken())
    ok, body = health.ready()
    assert ok and body["status"] == "degraded"
    assert body["components"]["llm"]["detail"] == "its health check failed: RuntimeError: cannot tell"  # type: ignore[index]


def test_component_names_are_unique() -> None:
    health = Health()
    health.add("llm", Broken())
    for name in ("llm", "writer", "pipeline"):
        with pytest.raises(ValueError, match=name):
            health.add(name, Broken())


@dataclass
class Running:
    health: Health
    llm: Fixed
    client: httpx.AsyncClient


@pytest.fixture
async def running(registry: CollectorRegistry) -> AsyncIterator[Running]:
    health = Health(pipeline_running=True)
    llm = Fixed(ComponentHealth(Status.OK, "answering"))
    health.add("llm", llm)
    served = await serve(build_app(registry, health, lambda: pytest.fail("nothing is read")), HttpSettings(port=0))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", timeout=10) as client:
        yield Running(health, llm, client)
    await served.close()


async def test_readyz_codes_for_each_state(running: Running) -> None:
    get = running.client.get
    assert (await get("/readyz")).status_code == 200
    assert (await get("/readyz", params={"strict": "true"})).status_code == 200
    running.llm.report = ComponentHealth(Status.DEGRADED, "breaker 'reply' open since 2026-03-01T12:00:00Z")
    response = await get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["components"]["llm"]["detail"] == "breaker 'reply' open since 2026-03-01T12:00:00Z"
    assert (await get("/readyz", params={"strict": "true"})).status_code == 503
    assert (await get("/readyz", params={"strict": "false"})).status_code == 200
    assert (await get("/healthz")).status_code == 200
    running.health.stopping = True
    assert (await get("/readyz")).status_code == 503


async def test_readyz_with_a_bad_strict_value_gets_400(running: Running) -> None:
    response = await running.client.get("/readyz", params={"strict": "maybe"})
    assert response.status_code == 400
    assert "strict: expected true or false" in response.json()["error"]
