"""The LLM calls' and HTTP requests' series: the right labels for every outcome, and no label from hostile input."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import CollectorRegistry

from llm import LLMError, Message, OllamaBackend
from llm.simulator import Simulator
from service.http import Health, build_app, serve
from service.metrics import LLMMetrics, MeasuredBackend
from service.settings import HttpSettings
from tests.llm.llm_support import http_for
from tests.metrics_support import counter_totals

HELLO = [Message.user("hello")]


def _calls(registry: CollectorRegistry, operation: str, outcome: str, model: str = "llama3.2") -> float:
    labels = {"backend": "ollama", "model": model, "operation": operation, "outcome": outcome}
    return registry.get_sample_value("being_llm_call_duration_seconds_count", labels) or 0.0


async def test_each_call_is_timed_with_its_outcome_and_its_tokens(registry: CollectorRegistry) -> None:
    async with Simulator() as sim:
        inner = OllamaBackend(http=http_for(sim, read_timeout_s=1.0, first_byte_timeout_s=1.0))
        backend = MeasuredBackend(inner, LLMMetrics(registry), chat_model="llama3.2", embed_model="nomic-embed-text")
        try:
            result = await backend.chat(HELLO)
            sim.inject("status:500", "status:503", "unknown-model", "malformed", "hang")
            for _ in range(5):
                with pytest.raises(LLMError):
                    await backend.chat(HELLO)
            sim.release()
            await backend.embed(["a text", "another"])
            task = asyncio.ensure_future(backend.chat(HELLO, model="other"))
            sim.hold()
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            sim.release()
            await backend.aclose()
    assert _calls(registry, "chat", "success") == 1
    for outcome in ("server", "overloaded", "model_not_found", "protocol", "timeout"):
        assert _calls(registry, "chat", outcome) == 1, outcome
    assert _calls(registry, "embed", "success", model="nomic-embed-text") == 1
    assert _calls(registry, "chat", "cancelled", model="other") == 1
    tokens = {"backend": "ollama", "model": "llama3.2"}
    assert registry.get_sample_value("being_llm_output_tokens_total", tokens) == result.usage.output_tokens > 0
    chat_in = registry.get_sample_value("being_llm_prompt_tokens_total", {**tokens, "operation": "chat"})
    assert chat_in == result.usage.prompt_tokens > 0
    first = registry.get_sample_value("being_llm_time_to_first_token_seconds_sum", tokens)
    assert first == pytest.approx((result.usage.load_duration_s or 0) + (result.usage.prompt_eval_duration_s or 0))


async def test_requests_are_counted_by_route_pattern_never_by_what_the_client_sent(registry: CollectorRegistry) -> None:
    app = build_app(registry, Health(pipeline_running=True), lambda: pytest.fail("nothing is read"))
    served = await serve(app, HttpSettings(port=0))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", timeout=10) as client:
            assert (await client.get("/healthz")).status_code == 200
            for n in range(3):
                assert (await client.get(f"/secret/{n}/../etc/passwd")).status_code == 404
            assert (await client.request("PROPFIND", "/healthz")).status_code == 405
            assert (await client.get("/healthz", headers={"Host": "evil.example"})).status_code == 421
    finally:
        await served.close()
    requests = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in counter_totals(registry, "being_http_requests")
    }
    assert requests == {
        ("/healthz", "GET", "200"): 1.0,
        ("unmatched", "GET", "404"): 3.0,
        ("unmatched", "other", "405"): 1.0,  # no route takes that method
        ("/healthz", "GET", "421"): 1.0,
    }
    assert registry.get_sample_value("being_http_request_duration_seconds_count", {"route": "/healthz"}) == 2
