"""The LLM down, hanging, or failing at random under a real `being run`: every message answered exactly once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llm.simulator import FaultPlan
from tests.e2e.service_process import ServiceProcess, SimulatorThread, query
from tests.faults.harness import (
    QUIET,
    closed_port,
    metric_sum,
    replies_with,
    replying_config,
    stop_cleanly,
    wait_inbox_empty,
)
from tests.faults.ledger import assert_answered_once, assert_stored_once, read_ledger, write_lines
from tests.support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.e2e]


def test_with_the_llm_down_every_message_gets_a_fallback_then_its_deferred_reply(tmp_path, launch, simulators) -> None:
    messages = 6
    port = closed_port()
    # default resilience, but a breaker that rests 1-2 s instead of 30-300 s, and a deferred try every 0.5 s,
    # so that the LLM coming back is noticed within the test's time (the soak runs the defaults)
    config = replying_config(
        tmp_path,
        f"http://127.0.0.1:{port}",
        inbox=QUIET,
        reply={"deferred_interval_s": 0.5},
        **{"resilience.breaker": {"open_for_s": 1.0, "open_for_max_s": 2.0}},
    )
    lines = [f"anyone there? {n}" for n in range(messages)]
    service = launch(config)
    written = time.monotonic()
    write_lines(tmp_path / "inbox.txt", lines, chunks=1)
    wait_until(lambda: replies_with(service, "fallback") >= messages, timeout_s=60, what="a fallback for each message")
    print(f"\nLLM down: the last of {messages} fallbacks {time.monotonic() - written:.1f} s after the messages")
    assert replies_with(service, "deferred") == 0

    simulator = simulators(port=port)  # the LLM comes up where the service looks for it
    up = time.monotonic()
    wait_until(lambda: replies_with(service, "deferred") >= messages, timeout_s=60, what="every deferred reply")
    print(f"LLM up: the last of {messages} deferred replies {time.monotonic() - up:.1f} s after it came up")
    wait_inbox_empty(tmp_path)
    assert stop_cleanly(service) == 0

    database = tmp_path / "data" / "being.duckdb"
    ledger = read_ledger(database)
    assert_stored_once(ledger, lines)
    assert_answered_once(ledger, outcomes={"fallback"})
    assert ledger.outcomes() == {"fallback": messages, "deferred": messages}
    assert simulator.requests() == messages  # each deferred reply asked once, and nothing else reached it
    # one dead letter for each fallback; a failed deferred try leaves none
    assert query(database, "SELECT count(*) FROM dead_letters WHERE source LIKE 'llm:%'") == [(messages,)]


@dataclass(frozen=True, slots=True)
class HangRun:
    lines: list[str]
    database: Path
    calls: int
    readyz: tuple[int, dict[str, Any]]
    strict_readyz: int


HANG_MESSAGES = 10
HANG_DEADLINE_S = 0.5  # resilience.timeout.deadline_s: the whole request's limit (130 s by default)


@pytest.fixture(scope="module")
def hang_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One run against an LLM that never answers, with a small time limit per try; what it left."""
    folder = tmp_path_factory.mktemp("hang")
    simulator = SimulatorThread(FaultPlan(models=(), fault_rates={"hang": 1.0}))
    service: ServiceProcess | None = None
    try:
        config = replying_config(
            folder,
            simulator.base_url,
            inbox=QUIET,
            **{"resilience.timeout": {"deadline_s": HANG_DEADLINE_S}},
        )
        lines = [f"hello? {n}" for n in range(HANG_MESSAGES)]
        service = ServiceProcess(config)
        written = time.monotonic()
        write_lines(folder / "inbox.txt", lines, chunks=1)
        wait_until(lambda: replies_with(service, "fallback") >= HANG_MESSAGES, timeout_s=60, what="a fallback for each")
        seconds = time.monotonic() - written
        print(f"\nLLM hung: the last of {HANG_MESSAGES} fallbacks {seconds:.1f} s after the messages")
        ready = service.get("/readyz")
        strict = service.get("/readyz?strict=true")
        wait_inbox_empty(folder)
        assert stop_cleanly(service) == 0
        yield HangRun(
            lines=lines,
            database=folder / "data" / "being.duckdb",
            calls=simulator.requests(),
            readyz=(ready.status_code, ready.json()),
            strict_readyz=strict.status_code,
        )
    finally:
        if service is not None:
            service.stop()
        simulator.stop()


def test_with_the_llm_hanging_every_message_gets_one_fallback(hang_run: HangRun) -> None:
    ledger = read_ledger(hang_run.database)
    assert_stored_once(ledger, hang_run.lines)
    assert_answered_once(ledger, outcomes={"fallback"})
    assert ledger.outcomes() == {"fallback": HANG_MESSAGES}
    sql = "SELECT DISTINCT data->'fallback'->>'cause' FROM episodes WHERE type = 'user.reply'"
    causes = query(hang_run.database, sql)
    assert {"timeout"} <= {c for (c,) in causes}
    # each request was cut at its deadline: at most max_attempts (3) tries a message, fewer once the breaker opened
    assert 1 <= hang_run.calls <= 3 * HANG_MESSAGES


def test_with_the_llm_hanging_readyz_says_degraded_and_stays_200(hang_run: HangRun) -> None:
    status, body = hang_run.readyz
    assert (status, body["status"]) == (200, "degraded")
    assert body["components"]["llm"]["status"] == "degraded"
    assert hang_run.strict_readyz == 503


def test_chaos_every_message_is_answered_exactly_once(tmp_path, launch, simulators) -> None:
    messages = 150
    plan = FaultPlan(models=(), error_rates={503: 0.3}, fault_rates={"drop": 0.1, "malformed": 0.1}, seed=7)
    simulator = simulators(plan)
    config = replying_config(
        tmp_path,
        simulator.base_url,
        inbox=QUIET,
        # no deferred tries, so that every call is a first try or a retry; short backoffs keep it quick; no
        # breaker, which would open at this failure rate and answer nearly everything with a fallback at once
        reply={"deferred_enabled": False},
        **{"resilience.retry": {"base_delay_s": 0.02, "max_delay_s": 0.1}, "resilience.breaker": {"enabled": False}},
    )
    lines = [f"chaos {n}" for n in range(messages)]
    service = launch(config)
    write_lines(tmp_path / "inbox.txt", lines, chunks=5)
    wait_inbox_empty(tmp_path)
    retries = metric_sum(service, "being_retry_attempts_total")
    assert stop_cleanly(service) == 0
    calls = simulator.requests()

    database = tmp_path / "data" / "being.duckdb"
    ledger = read_ledger(database)
    assert_stored_once(ledger, lines)
    assert_answered_once(ledger)
    outcomes = ledger.outcomes()
    assert outcomes["success"] + outcomes["fallback"] == messages and outcomes["success"] > 0
    print(f"\nchaos: {calls} LLM calls for {messages} messages ({retries:.0f} retries), {dict(outcomes)}")
    assert calls <= messages + retries
    # every try that reached the LLM is recorded, the failed ones too
    assert query(database, "SELECT count(*) FROM llm_exchanges WHERE operation = 'chat'") == [(calls,)]
