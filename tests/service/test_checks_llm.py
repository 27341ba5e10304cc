"""The LLM checks against the real simulator (both APIs), a closed port and a server that never answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llm.simulator import FaultPlan
from service.checks import CHECKS, Probe, Severity, run_checks
from service.settings import CheckSettings, LLMSettings, ReplySettings, Settings
from tests.e2e.service_process import SimulatorThread
from tests.faults.harness import closed_port

LLM_CHECKS = tuple(c for c in CHECKS if c.name in ("llm server", "chat model", "embed model"))


@pytest.fixture
def simulator() -> Iterator[SimulatorThread]:
    started = SimulatorThread(FaultPlan(models=("llama3.2:latest", "nomic-embed-text:latest")))
    yield started
    started.stop()


def _run(base_url: str, backend: str = "ollama", **llm: str) -> list[tuple[bool, str]]:
    settings = Settings(
        llm=LLMSettings(backend=backend, base_url=base_url, **llm),  # type: ignore[arg-type]
        checks=CheckSettings(remote_timeout_s=0.3),
    )
    results = run_checks(Probe(settings=settings, env={}), LLM_CHECKS)
    assert {r.severity for r in results} == {Severity.WARNING}
    return [(r.ok, r.detail) for r in results]


def test_the_simulator_answers_and_has_both_models(simulator: SimulatorThread) -> None:
    url = simulator.base_url
    assert _run(url) == [
        (True, f"ollama server at {url} answers (version 0.0.0-simulator)"),
        (True, f"llm.chat_model 'llama3.2' is on {url}"),
        (True, f"llm.embed_model 'nomic-embed-text' is on {url}"),
    ]
    assert simulator.requests("/api/version") == 1 and simulator.requests("/api/tags") == 1  # asked once for all


def test_the_openai_api_is_asked_for_its_models(simulator: SimulatorThread) -> None:
    url = simulator.base_url + "/v1"
    results = _run(url, backend="openai")
    assert results[0] == (True, f"openai server at {url} answers (version openai-compatible)")
    assert [ok for ok, _ in results] == [True, True, True]
    assert simulator.requests("/v1/models") >= 1


def test_a_missing_model_is_named_with_what_the_server_has(simulator: SimulatorThread) -> None:
    results = _run(simulator.base_url, chat_model="qwen2.5:7b")
    assert results[1][0] is False
    assert results[1][1] == (
        f"llm.chat_model 'qwen2.5:7b' is not on {simulator.base_url} (it has: llama3.2:latest, "
        "nomic-embed-text:latest); pull it (ollama pull qwen2.5:7b)"
    )
    assert results[2][0] is True
    embed = _run(simulator.base_url, embed_model="mxbai-embed-large")
    assert embed[1][0] is True and embed[2][0] is False
    assert embed[2][1].startswith(f"llm.embed_model 'mxbai-embed-large' is not on {simulator.base_url} (it has: ")


def test_a_closed_port_fails_every_llm_check_and_says_what_to_set() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    (server_ok, server), (chat_ok, chat), (embed_ok, _) = _run(url)
    assert not (server_ok or chat_ok or embed_ok)
    assert server.startswith(f"{url}: ollama GET /api/version: ") and "BEING_LLM_BASE_URL" in server
    assert chat == f"llm.chat_model 'llama3.2' not looked for: {url} does not answer (see llm server)"


def test_a_server_that_never_answers_fails_within_the_checks_own_limit(simulator: SimulatorThread) -> None:
    simulator.call(simulator.simulator.hold)
    try:
        (ok, detail), *_ = _run(simulator.base_url)
    finally:
        simulator.call(simulator.simulator.release)
    assert not ok and detail.startswith(f"{simulator.base_url}: ")
    assert "BEING_LLM_BASE_URL" in detail


def test_with_replies_off_the_llm_is_not_asked() -> None:
    settings = Settings(
        reply=ReplySettings(enabled=False), llm=LLMSettings(base_url=f"http://127.0.0.1:{closed_port()}")
    )
    results = run_checks(Probe(settings=settings, env={}), LLM_CHECKS)
    assert [(r.ok, r.detail) for r in results] == [
        (True, "not asked: reply.enabled is false (no LLM call is made)")
    ] * 3
