"""One message's trace through the real service: POST /messages → route → protect → tries → LLM → commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.metrics_support import LiveService, live_service
from tests.service.tracing_support import QUIET, children, in_memory, named, root_of
from tests.support import until

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


async def post(service: LiveService, text: str, headers: dict[str, str] | None = None) -> str:
    response = await service.client.post("/messages", json={"text": text}, headers=headers or {})
    assert response.status_code == 202, response.text
    message_id: str = response.json()["id"]
    return message_id


async def answered(service: LiveService, message_id: str) -> dict[str, Any]:
    response = await service.client.get(f"/messages/{message_id}", params={"wait_s": "20"})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    assert found["state"] == "answered", found
    return found


async def traced(exporter: InMemorySpanExporter, message_id: str) -> None:
    def ended() -> bool:
        return any(
            s.name == "being.message" and (s.attributes or {}).get("being.event.id") == message_id
            for s in exporter.get_finished_spans()
        )

    await until(ended, timeout_s=20, what=f"the trace of {message_id} to end")


async def test_a_retried_call_continues_the_callers_trace_down_to_the_llm_request(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    async with live_service(tmp_path, make_tracing=in_memory(exporter), **QUIET) as service:
        service.simulator.inject("status:500")  # the first try fails, the retry answers
        message_id = await post(service, "hello, traced being", {"traceparent": TRACEPARENT})
        found = await answered(service, message_id)
        assert found["reply"]["outcome"] == "success"
        await traced(exporter, message_id)
        spans = exporter.get_finished_spans()

    root = root_of(spans, message_id)
    assert root.context is not None and f"{root.context.trace_id:032x}" == CALLER_TRACE
    assert root.parent is not None and f"{root.parent.span_id:016x}" == CALLER_SPAN and root.parent.is_remote
    assert root.kind is SpanKind.CONSUMER
    assert root.attributes is not None
    assert root.attributes["being.source"] == "http" and root.attributes["being.event.type"] == "user.message"

    (route,) = children(spans, root)
    assert route.name == "being.route reply"
    assert route.attributes is not None and route.attributes["being.reply.outcome"] == "success"
    (call,) = children(spans, route)
    assert call.name == "being.protect llm"
    assert call.attributes is not None
    assert call.attributes["being.outcome"] == "success"
    assert call.attributes["being.cache.hit"] is False
    assert call.attributes["being.retry.attempts"] == 2
    events = [e.name for e in call.events]
    assert events.count("being.retry") == 1
    assert "being.cache.store_failed" in events  # the fixture's Redis tier is down: a lookup fails, a miss
    first, second = children(spans, call)
    assert [t.name for t in (first, second)] == ["being.try", "being.try"]
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["being.retry.attempt"] == 1 and second.attributes["being.retry.attempt"] == 2
    assert first.attributes["being.breaker.outcome"] == "failure" and first.attributes["error.type"] == "ServerError"
    assert first.attributes["being.breaker.state"] == "closed"
    assert second.attributes["being.breaker.outcome"] == "success" and "error.type" not in second.attributes
    assert second.attributes["being.retry.delay_s"] >= 0

    (failed,) = children(spans, first)
    (served,) = children(spans, second)
    for client in (failed, served):
        assert client.kind is SpanKind.CLIENT and client.name.startswith("chat ")
        assert client.attributes is not None
        assert client.attributes["gen_ai.operation.name"] == "chat"
        assert client.attributes["gen_ai.provider.name"] == "ollama"
        assert client.attributes["http.request.method"] == "POST"
        assert str(client.attributes["url.full"]).endswith("/api/chat")
        assert client.attributes["server.address"] == "127.0.0.1"
    assert failed.attributes is not None and served.attributes is not None
    assert failed.attributes["http.response.status_code"] == 500 and failed.status.status_code is StatusCode.ERROR
    assert served.attributes["http.response.status_code"] == 200
    assert served.attributes["gen_ai.usage.output_tokens"] > 0

    # each request carried the traceparent of its own client span, in the caller's trace
    sent = [t for t in service.simulator.stats.traceparents if t is not None]
    assert sent == [f"00-{CALLER_TRACE}-{c.context.span_id:016x}-01" for c in (failed, served) if c.context]

    # the batch commit that stored the reply: a span linked to the message's
    root_id = root.context.span_id
    commits = [s for s in named(spans, "being.sink.commit") if any(k.context.span_id == root_id for k in s.links)]
    assert len(commits) == 1
    (commit,) = commits
    assert commit.attributes is not None and commit.attributes["db.system.name"] == "duckdb"
    assert root.end_time == commit.end_time
    assert all(s.end_time is not None for s in spans)


async def test_a_call_that_fails_every_try_shows_its_fallback(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    async with live_service(tmp_path, make_tracing=in_memory(exporter), **QUIET) as service:
        service.simulator.inject("status:503", "status:503")
        message_id = await post(service, "are you overloaded?")
        found = await answered(service, message_id)
        assert found["reply"]["outcome"] == "fallback"
        await traced(exporter, message_id)
        spans = exporter.get_finished_spans()

    root = root_of(spans, message_id)
    assert root.parent is None  # no traceparent: a trace of its own
    (route,) = children(spans, root)
    assert route.attributes is not None and route.attributes["being.reply.outcome"] == "fallback"
    (call,) = children(spans, route)
    assert call.attributes is not None
    assert call.attributes["being.outcome"] == "fallback"
    assert call.attributes["being.fallback.kind"] == "value"
    assert call.attributes["error.type"] == "RetryExhaustedError"
    assert call.status.status_code is StatusCode.ERROR
    assert "being.fallback" in [e.name for e in call.events]
    tries = children(spans, call)
    assert [t.attributes["being.retry.attempt"] for t in tries if t.attributes] == [1, 2]
    assert all(t.attributes and t.attributes["error.type"] == "OverloadedError" for t in tries)


async def test_disabled_tracing_sends_no_traceparent(tmp_path: Path) -> None:
    async with live_service(tmp_path, **QUIET) as service:
        assert not service.runtime.tracing.enabled
        message_id = await post(service, "plain", {"traceparent": TRACEPARENT})
        await answered(service, message_id)
        stats = service.simulator.stats
        assert stats.requests["/api/chat"] >= 1
        assert list(stats.traceparents) and all(t is None for t in stats.traceparents)


async def test_a_malformed_traceparent_starts_a_trace_of_its_own(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    async with live_service(tmp_path, make_tracing=in_memory(exporter), **QUIET) as service:
        message_id = await post(service, "hostile", {"traceparent": "00-zz-not-a-trace-01" + "x" * 600})
        await answered(service, message_id)
        await traced(exporter, message_id)
        root = root_of(exporter.get_finished_spans(), message_id)
        assert root.parent is None
        sent = service.simulator.stats.traceparents[-1]
        assert sent is not None and root.context is not None and f"{root.context.trace_id:032x}" in sent


async def test_inbox_messages_are_traced_from_the_pipeline(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    async with live_service(tmp_path, make_tracing=in_memory(exporter), **QUIET) as service:
        service.say("from the inbox")
        await until(
            lambda: bool(named(exporter.get_finished_spans(), "being.message")), timeout_s=20, what="an inbox trace"
        )
        (root,) = named(exporter.get_finished_spans(), "being.message")
        assert root.attributes is not None and root.attributes["being.source"] == "inbox"
        assert named(exporter.get_finished_spans(), "being.protect llm")
    assert httpx  # the client the service fixture uses
