"""The ``nats server`` check against a real nats-server, and with nothing listening."""

from __future__ import annotations

from pathlib import Path

from service.checks import Probe, Severity, check_named, run_checks
from service.settings import CheckSettings, NatsSettings, Settings
from tests.nats_server import NatsServer, nats_binary


def _run(url: str, *, enabled: bool = True) -> tuple[bool, str, Severity]:
    settings = Settings(nats=NatsSettings(enabled=enabled, url=url), checks=CheckSettings(remote_timeout_s=0.5))
    [result] = run_checks(Probe(settings=settings, env={}), (check_named("nats server"),))
    return result.ok, result.detail, result.severity


def test_a_jetstream_server_passes_and_a_stopped_one_fails_critically_saying_what_to_do(tmp_path: Path) -> None:
    server = NatsServer(nats_binary(), tmp_path)
    try:
        ok, detail, severity = _run(server.url)
        assert ok and severity is Severity.CRITICAL
        assert detail == f"{server.url} answers with JetStream (0 streams, 0 consumers)"
    finally:
        server.stop()
    ok, detail, _ = _run(server.url)
    assert not ok
    assert detail.startswith(f"{server.url}: no answer within 0.5 s")
    assert detail.endswith("start nats-server -js there, or set nats.enabled = false")


def test_with_nats_off_nothing_is_reached() -> None:
    assert _run("nats://127.0.0.1:1", enabled=False)[:2] == (True, "nats.enabled is false: nothing to reach")
