"""The simulator itself: Ollama's shapes, its answers to hostile input, its plan and its counters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest

from llm.simulator import FAULT_HEADER, FaultPlan, Simulator


@pytest.fixture
async def raw(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=5.0) as client:
        yield client


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe garbage", "invalid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{}", "model is required"),
        (b'{"model": ""}', "model is required"),
        (b'{"model": "llama3.2", "messages": "hi"}', "messages must be a list"),
        (b'{"model": "llama3.2", "messages": [{"role": 1}]}', "messages must be a list"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
async def test_hostile_chat_requests_get_400_with_an_error_body(
    raw: httpx.AsyncClient, sim: Simulator, body: bytes, message: str
) -> None:
    response = await raw.post("/api/chat", content=body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert sim.stats.statuses[400] == 1


async def test_hostile_embed_input_gets_400(raw: httpx.AsyncClient) -> None:
    response = await raw.post("/api/embed", json={"model": "nomic-embed-text", "input": [1, 2]})
    assert response.status_code == 400
    assert "input must be" in response.json()["error"]


async def test_an_unknown_fault_header_gets_400(raw: httpx.AsyncClient) -> None:
    response = await raw.post("/api/chat", json={"model": "llama3.2"}, headers={FAULT_HEADER: "explode"})
    assert response.status_code == 400
    assert "unknown simulator fault" in response.json()["error"]


async def test_a_fault_header_applies_to_one_request(raw: httpx.AsyncClient, sim: Simulator) -> None:
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}], "stream": False}
    response = await raw.post("/api/chat", json=body, headers={FAULT_HEADER: "status:502"})
    assert response.status_code == 502
    assert response.json() == {"error": "bad gateway"}
    assert (await raw.post("/api/chat", json=body)).status_code == 200
    assert sim.stats.faults == {"status:502": 1}


async def test_the_stream_is_ndjson_with_statistics_on_the_last_line(raw: httpx.AsyncClient) -> None:
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    response = await raw.post("/api/chat", json=body)
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [httpx.Response(200, content=line).json() for line in response.content.splitlines()]
    assert all(not line["done"] for line in lines[:-1])
    last = lines[-1]
    assert last["done"] is True and last["done_reason"] == "stop"
    for key in ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count"):
        assert isinstance(last[key], int)
    assert last["eval_count"] == len(lines) - 1


async def test_embeddings_sharing_words_are_closer(raw: httpx.AsyncClient) -> None:
    texts = ["memory of the river", "the river at night", "compile the kernel", "memory of the river"]
    response = await raw.post("/api/embed", json={"model": "nomic-embed-text", "input": texts})
    vectors = np.asarray(response.json()["embeddings"], dtype=np.float32)
    sims = vectors @ vectors.T
    assert sims[0, 3] == pytest.approx(1.0, abs=1e-5)
    assert sims[0, 1] > sims[0, 2]
    assert sims[1, 0] > sims[1, 2]


async def test_plan_rates_are_drawn_from_a_seeded_random() -> None:
    plan = FaultPlan(error_rates={503: 0.3}, fault_rates={"malformed": 0.2}, seed=7)
    async with Simulator(plan) as first, Simulator(plan) as second:
        outcomes = []
        for sim in (first, second):
            async with httpx.AsyncClient(base_url=sim.base_url) as client:
                body = {"model": "llama3.2", "prompt": "x", "stream": False}
                outcomes.append([(await client.post("/api/generate", json=body)).status_code for _ in range(40)])
    assert outcomes[0] == outcomes[1]
    assert 503 in outcomes[0] and 200 in outcomes[0]
    assert first.stats.faults["status:503"] == outcomes[0].count(503)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"error_rates": {200: 0.5}}, "unknown simulator fault"),
        ({"fault_rates": {"explode": 0.1}}, "unknown fault"),
        ({"error_rates": {500: 0.7}, "fault_rates": {"hang": 0.5}}, "sum <= 1"),
        ({"latency_ms": -1.0}, "latency"),
        ({"latency_distribution": "normal"}, "uniform or exponential"),
        ({"max_in_flight": -1}, "max_in_flight"),
    ],
)
def test_a_bad_plan_is_refused_when_built(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultPlan(**kwargs)  # type: ignore[arg-type]


def test_latency_draws_stay_in_their_range() -> None:
    import random

    rng = random.Random(1)
    plan = FaultPlan(latency_ms=10.0, latency_jitter_ms=5.0)
    draws = [plan.latency_s(rng) for _ in range(200)]
    assert all(0.010 <= d <= 0.015 for d in draws)
    exponential = FaultPlan(latency_ms=1.0, latency_jitter_ms=2.0, latency_distribution="exponential")
    assert all(d >= 0.001 for d in (exponential.latency_s(rng) for _ in range(200)))


async def test_the_base_url_exists_only_while_running() -> None:
    sim = Simulator()
    with pytest.raises(RuntimeError, match="not started"):
        _ = sim.base_url
    await sim.start()
    assert sim.base_url.startswith("http://127.0.0.1:")
    await sim.stop()
