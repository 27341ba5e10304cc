"""An OTLP endpoint that is down costs the service nothing: spans are dropped, answers and the stop go on."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from tests.metrics_support import live_service
from tests.service.test_tracing_live import answered, post
from tests.service.tracing_support import QUIET


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed: a connection is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_an_unreachable_collector_neither_blocks_nor_crashes_the_service(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = closed_port()
    tracing = {
        "enabled": True,
        "exporter": "otlp",
        "endpoint": f"http://127.0.0.1:{port}/v1/traces",
        "export_timeout_s": 1.0,
        "max_queue_spans": 8,  # a few messages fill it: the processor drops the rest
    }
    caplog.set_level(logging.WARNING, logger="opentelemetry")
    async with live_service(tmp_path, tracing=tracing, **QUIET) as service:
        assert service.runtime.tracing.enabled
        ids = [await post(service, f"message {n} while the collector is down") for n in range(4)]
        for message_id in ids:
            assert (await answered(service, message_id))["reply"]["outcome"] == "success"
        assert all(t is not None for t in service.simulator.stats.traceparents)  # traced all along
    # live_service asserted exit 0 after the stop, which waited for the exporter within its time limit
    said = [r.getMessage() for r in caplog.records if r.name.startswith("opentelemetry")]
    # whether the bounded queue also overflowed (the SDK's "dropping" line) depends on how fast each
    # failed export returns; that the exports failed, were logged, and cost the replies nothing does not
    assert any("failed to export" in text.lower() for text in said), said
