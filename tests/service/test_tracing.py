"""service.tracing on its own: off costs nothing, state stays bounded, spans end however the work ends."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import reactivex
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from agent import NO_TRACE
from llm import OllamaBackend
from operators import NULL_LISTENER
from service.settings import SettingsError, TracingSettings, load_settings
from service.tracing import Tracing, trace_carrier
from sinks import BatchResult
from streams import Event
from tests.service.tracing_support import children, named
from tests.support import REPO

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def traced(exporter: InMemorySpanExporter, **settings: object) -> Tracing:
    return Tracing(TracingSettings(enabled=True, **settings), exporter=exporter, max_messages=3)  # type: ignore[arg-type]


def batch(*event_ids: str) -> BatchResult:
    return BatchResult(
        episodes=len(event_ids),
        dead_letters=0,
        event_ids=frozenset(event_ids),
        episode_types=(),
        dead_letter_sources=(),
        dead_letter_reasons=(),
    )


def test_off_it_makes_nothing_wraps_nothing_and_loads_no_sdk() -> None:
    tracing = Tracing(TracingSettings())
    backend = OllamaBackend()
    assert not tracing.enabled
    assert tracing.trace is NO_TRACE and tracing.listener is NULL_LISTENER and tracing.request_headers is None
    assert tracing.backend(backend, chat_model="m", embed_model="e") is backend
    tracing.message_received("e1", "http", {"traceparent": TRACEPARENT})
    assert tracing.carrier_for("e1") == {} and tracing.open_messages == 0
    code = (
        "import sys\n"
        "from service.settings import TracingSettings\n"
        "from service.tracing import Tracing\n"
        "t = Tracing(TracingSettings())\n"
        "t.message_received('e1', 'http', {'traceparent': '" + TRACEPARENT + "'})\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))\n"
    )
    shown = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


def test_a_message_continues_its_senders_trace_and_its_carrier_goes_out() -> None:
    exporter = InMemorySpanExporter()
    tracing = traced(exporter)
    tracing.message_received("e1", "nats", {"Traceparent": TRACEPARENT, "Authorization": "Bearer no"})
    carrier = tracing.carrier_for("e1")
    assert carrier["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    assert carrier["traceparent"] != TRACEPARENT  # the being's own span, in the sender's trace
    tracing.committed(batch("e1"), lambda work: work())
    (root,) = named(exporter.get_finished_spans(), "being.message")
    assert root.attributes is not None and root.attributes["messaging.system"] == "nats"
    assert tracing.carrier_for("e1") == carrier  # after the commit too: an out-publish comes after it
    assert tracing.carrier_for("unknown") == {}


def test_open_traces_are_bounded_and_the_oldest_are_ended_not_leaked() -> None:
    exporter = InMemorySpanExporter()
    tracing = traced(exporter)
    for n in range(5):
        tracing.message_received(f"e{n}", "http", {})
    assert tracing.open_messages == 3
    evicted = named(exporter.get_finished_spans(), "being.message")
    assert [s.attributes["being.event.id"] for s in evicted if s.attributes] == ["e0", "e1"]
    assert all(s.attributes and s.attributes["being.trace.evicted"] is True for s in evicted)


def test_only_user_messages_start_a_trace() -> None:
    exporter = InMemorySpanExporter()
    tracing = traced(exporter)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    tracing.event_seen(Event(id="t1", type="tick.light", time=now, source="ticks", payload={}))
    tracing.event_seen(Event(id="m1", type="user.urgent", time=now, source="inbox", payload={"recovered": True}))
    assert tracing.open_messages == 1
    tracing.committed(batch("m1", "t1"), lambda work: work())
    (root,) = named(exporter.get_finished_spans(), "being.message")
    assert root.attributes is not None
    assert root.attributes["being.event.type"] == "user.urgent" and root.attributes["being.event.recovered"] is True
    (commit,) = named(exporter.get_finished_spans(), "being.sink.commit")
    assert [link.attributes for link in commit.links] == [{"being.event.id": "m1"}]


def test_spans_end_when_the_work_is_disposed_or_fails() -> None:
    exporter = InMemorySpanExporter()
    tracing = traced(exporter)
    tracing.message_received("e1", "http", {})
    trace = tracing.trace
    subscription = trace.route("reply", "e1", trace.call("llm", reactivex.never())).subscribe()
    assert named(exporter.get_finished_spans(), "being.route reply") == []
    subscription.dispose()
    spans = exporter.get_finished_spans()
    (route,) = named(spans, "being.route reply")
    (call,) = children(spans, route)
    assert route.attributes and route.attributes["being.route.end"] == "disposed"
    assert call.attributes and call.attributes["being.outcome"] == "disposed"

    errors: list[Exception] = []
    trace.route("reply", "e1", trace.call("llm", reactivex.throw(ValueError("broken")))).subscribe(
        on_error=errors.append
    )
    assert [type(e) for e in errors] == [ValueError]
    failed = [s for s in named(exporter.get_finished_spans(), "being.route reply") if s is not route]
    assert failed[0].status.status_code is StatusCode.ERROR and failed[0].attributes
    assert failed[0].attributes["error.type"] == "ValueError"


def test_a_call_of_no_message_makes_no_span_and_a_route_of_none_shields_its_calls() -> None:
    exporter = InMemorySpanExporter()
    tracing = traced(exporter)
    trace = tracing.trace
    seen: list[int] = []
    trace.call("llm", reactivex.just(1)).subscribe(seen.append)  # the mind's calls: no message
    trace.route("reply", "never-received", trace.call("llm", reactivex.just(2))).subscribe(seen.append)
    assert seen == [1, 2] and exporter.get_finished_spans() == ()


async def test_close_ends_what_is_open() -> None:
    exporter = InMemorySpanExporter()
    tracing = traced(exporter)
    tracing.message_received("e1", "http", {})
    assert await tracing.close()
    (root,) = named(exporter.get_finished_spans(), "being.message")
    assert root.attributes and root.attributes["being.trace.unfinished"] is True
    assert not tracing.enabled and tracing.carrier_for("e1") == {}


def test_trace_carrier_keeps_only_w3c_headers_of_sane_size() -> None:
    given = {"TraceParent": TRACEPARENT, "tracestate": "a=" + "x" * 600, "Authorization": "Bearer t", "x": "y"}
    assert trace_carrier(given) == {"traceparent": TRACEPARENT}


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('exporter = "zipkin"', "tracing.exporter"),
        ("sample_ratio = 1.5", "tracing.sample_ratio"),
        ("sample_ratio = -0.1", "tracing.sample_ratio"),
        ('endpoint = "ftp://collector:4318"', "tracing"),
        ('endpoint = "http://user:pw@collector:4318/v1/traces"', "tracing"),
        ('service_name = " "', "tracing"),
        ('headers_env = "1-not-a-name"', "tracing"),
        ("export_timeout_s = 0", "tracing.export_timeout_s"),
        ("max_queue_spans = 0", "tracing.max_queue_spans"),
        ("enabled = 1", "tracing.enabled"),
        ("sampled = true", "tracing.sampled"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(tmp_path: Path, line: str, key: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[tracing]\n{line}\n", encoding="utf-8")
    with pytest.raises(SettingsError) as raised:
        load_settings(path, env={})
    assert raised.value.key == key
    if "user:pw" in line:
        assert "headers_env" in str(raised.value)


def test_a_malformed_headers_variable_is_refused_without_showing_it() -> None:
    settings = TracingSettings(enabled=True, headers_env="OTLP_HEADERS")
    env = {"OTLP_HEADERS": "authorization=Bearer s3cret,no-equals-sign-s3cret"}
    with pytest.raises(SettingsError) as raised:
        Tracing(settings, env=env)
    assert raised.value.key == "OTLP_HEADERS" and "s3cret" not in str(raised.value)
    fine = Tracing(settings, env={"OTLP_HEADERS": "authorization=Bearer s3cret, x-team = being"})
    assert fine.enabled
