"""The soak scenarios: the fault tests' scenarios at scale, each returning its :class:`Tally`.

Each runs real ``being run`` processes against the simulator on loopback, in a folder of its own,
and is bounded in count and time: a wait that runs out ends the scenario as failed, with what
it measured so far.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from llm.simulator import FaultPlan
from service.settings import Settings
from soak._tally import Tally, tally_database
from tests.e2e.service_process import ServiceProcess, SimulatorThread, write_config
from tests.faults.harness import (
    QUIET,
    closed_port,
    replies_with,
    replying_config,
    stop_cleanly,
    wait_for_requests,
    wait_inbox_empty,
    wait_ticks,
)
from tests.faults.ledger import write_lines
from tests.support import wait_until

Scenario = Callable[[Path, bool], Tally]
LATENCY = FaultPlan(models=(), latency_ms=15.0)
DEFAULTS = Settings()


class Processes:
    """Every process and simulator a scenario started, so that all are stopped whatever happens."""

    def __init__(self) -> None:
        self.services: list[ServiceProcess] = []
        self.simulators: list[SimulatorThread] = []

    def service(self, config: Path) -> ServiceProcess:
        started = ServiceProcess(config)
        self.services.append(started)
        return started

    def simulator(self, plan: FaultPlan | None = None, *, port: int = 0) -> SimulatorThread:
        started = SimulatorThread(plan, port=port)
        self.simulators.append(started)
        return started

    def close(self) -> None:
        for service in self.services:
            service.stop()
        for simulator in self.simulators:
            simulator.stop()


@contextlib.contextmanager
def measured(tally: Tally) -> Iterator[Processes]:
    """Time the scenario, record a failure instead of raising it, and stop everything it started."""
    processes = Processes()
    started = time.monotonic()
    try:
        yield processes
    except (AssertionError, OSError, subprocess.SubprocessError) as exc:
        tally.failed = f"{type(exc).__name__}: {exc}"
    finally:
        processes.close()
        tally.seconds = time.monotonic() - started


def kills(folder: Path, quick: bool) -> Tally:
    """SIGKILL many times during a backlog, a restart after each, then SIGTERM."""
    messages, count = (600, 3) if quick else (3000, 10)
    tally = Tally("sigkill backlog", kills=count)
    lines = [f"soak kill {n}" for n in range(messages)]
    with measured(tally) as run:
        simulator = run.simulator(LATENCY)
        config = replying_config(folder, simulator.base_url, inbox=QUIET)
        write_lines(folder / "inbox.txt", lines, chunks=1)
        for k in range(count):
            service = run.service(config)
            wait_for_requests(simulator, messages * (k + 1) // (count + 1), timeout_s=600)
            service.kill()
        last = run.service(config)
        wait_inbox_empty(folder, timeout_s=900)
        assert stop_cleanly(last) == 0, "the final SIGTERM did not exit 0"
        tally.llm_calls = simulator.requests()
    tally_database(tally, folder / "data" / "being.duckdb", lines)
    if tally.llm_calls is not None:
        again = tally.llm_calls - messages
        tally.notes.append(
            f"{again} messages asked again across {count} kills ({again / count:.1f} a kill; "
            f"reply.max_concurrent = {DEFAULTS.reply.max_concurrent})"
        )
    return tally


def sigterms(folder: Path, quick: bool) -> Tally:
    """SIGTERM under load many times (a restart after each); a graceful stop asks nothing twice."""
    messages, count = (400, 2) if quick else (2000, 5)
    tally = Tally("sigterm under load", kills=0)
    lines = [f"soak term {n}" for n in range(messages)]
    with measured(tally) as run:
        simulator = run.simulator(LATENCY)
        config = replying_config(folder, simulator.base_url, inbox={"max_pending_events": 16, **QUIET})
        write_lines(folder / "inbox.txt", lines, chunks=1)
        for k in range(count):
            service = run.service(config)
            wait_for_requests(simulator, messages * (k + 1) // (count + 1), timeout_s=600)
            assert stop_cleanly(service) == 0, f"SIGTERM {k + 1} did not exit 0"
        last = run.service(config)
        wait_inbox_empty(folder, timeout_s=900)
        assert stop_cleanly(last) == 0
        tally.llm_calls = simulator.requests()
    tally_database(tally, folder / "data" / "being.duckdb", lines)
    tally.notes.append(
        f"{count} SIGTERMs under load, each exit 0; calls beyond one a message: "
        f"{(tally.llm_calls or messages) - messages}"
    )
    return tally


def llm_down(folder: Path, quick: bool) -> Tally:
    """No LLM at all (a closed port), default settings: seconds to every fallback, then the deferred replies."""
    messages = 30 if quick else 200
    tally = Tally("llm down, then up")
    lines = [f"soak down {n}" for n in range(messages)]
    with measured(tally) as run:
        port = closed_port()
        service = run.service(replying_config(folder, f"http://127.0.0.1:{port}", inbox=QUIET))
        written = time.monotonic()
        write_lines(folder / "inbox.txt", lines, chunks=1)
        wait_until(lambda: replies_with(service, "fallback") >= messages, timeout_s=600, what="every fallback")
        tally.notes.append(f"LLM down: the last of {messages} fallbacks {time.monotonic() - written:.1f} s after")
        simulator = run.simulator(port=port)
        up = time.monotonic()
        wait_until(lambda: replies_with(service, "deferred") >= 1, timeout_s=900, what="a first deferred reply")
        first = time.monotonic() - up
        wait_until(lambda: replies_with(service, "deferred") >= messages, timeout_s=900, what="every deferred reply")
        tally.notes.append(
            f"LLM up: the first deferred reply {first:.1f} s after, the last {time.monotonic() - up:.1f} s after "
            f"(reply.deferred_interval_s = {DEFAULTS.reply.deferred_interval_s:g}, breaker open_for_s = "
            f"{DEFAULTS.resilience.breaker.open_for_s:g})"
        )
        wait_inbox_empty(folder)
        assert stop_cleanly(service) == 0
        tally.llm_calls = simulator.requests()
    tally_database(tally, folder / "data" / "being.duckdb", lines)
    return tally


def llm_hung(folder: Path, quick: bool) -> Tally:
    """An LLM that never answers, default settings: seconds until each message's fallback."""
    messages = 1 if quick else 3
    tally = Tally("llm hung")
    lines = [f"soak hung {n}" for n in range(messages)]
    with measured(tally) as run:
        simulator = run.simulator(FaultPlan(models=(), fault_rates={"hang": 1.0}))
        service = run.service(replying_config(folder, simulator.base_url, inbox=QUIET))
        written = time.monotonic()
        write_lines(folder / "inbox.txt", lines, chunks=1)
        seen: list[float] = []
        for n in range(1, messages + 1):
            wait_until(lambda: replies_with(service, "fallback") >= len(seen) + 1, timeout_s=900, what=f"fallback {n}")
            seen.append(time.monotonic() - written)
        ready = service.get("/readyz").json()
        tally.notes.append(
            "fallbacks after " + ", ".join(f"{s:.1f}" for s in seen) + " s "
            f"(resilience.timeout.deadline_s = {DEFAULTS.resilience.timeout.deadline_s:g}); /readyz: "
            f"{ready.get('status')}"
        )
        wait_inbox_empty(folder)
        assert stop_cleanly(service, timeout_s=300) == 0
        tally.llm_calls = simulator.requests()
    tally_database(tally, folder / "data" / "being.duckdb", lines)
    return tally


def chaos(folder: Path, quick: bool) -> Tally:
    """503 = 0.3, drop = 0.1, malformed = 0.1 on every request, default settings."""
    messages = 500 if quick else 3000
    tally = Tally("chaos 503/drop/malformed")
    lines = [f"soak chaos {n}" for n in range(messages)]
    plan = FaultPlan(models=(), error_rates={503: 0.3}, fault_rates={"drop": 0.1, "malformed": 0.1}, seed=11)
    with measured(tally) as run:
        simulator = run.simulator(plan)
        service = run.service(replying_config(folder, simulator.base_url, inbox=QUIET))
        write_lines(folder / "inbox.txt", lines, chunks=20)
        wait_inbox_empty(folder, timeout_s=1800)
        assert stop_cleanly(service) == 0
        tally.llm_calls = simulator.requests()
    ledger = tally_database(tally, folder / "data" / "being.duckdb", lines)
    tally.notes.append(f"outcomes {dict(ledger.outcomes())}")
    return tally


def _stored(service: ServiceProcess) -> float:
    return service.metric("being_episodes_written_total", 'type="user.message"')


def inbox_writers(folder: Path, quick: bool) -> list[Tally]:
    """Each way of writing the inbox at scale, in one process (replies off): lines lost per pattern."""
    scale = 1 if quick else 10
    inbox = folder / "inbox.txt"
    patterns: dict[str, list[str]] = {
        "backlog (written while down)": [f"backlog {n:06d} " + "x" * 1000 for n in range(2000 * scale)],
        "echo >> per line": [f"echo {n}" for n in range(500 * scale)],
        "held open, a line a tick": [f"held {n}" for n in range(100 * scale)],
        "a line in two parts": [f"split {n} first, second" for n in range(20 * scale)],
    }
    tallies = {name: Tally(f"inbox: {name}") for name in patterns}
    overall = Tally("inbox writers")
    with measured(overall) as run:
        write_lines(inbox, patterns["backlog (written while down)"], chunks=1)
        size = inbox.stat().st_size
        service = run.service(write_config(folder, inbox=QUIET))
        script = f'for n in $(seq 0 {len(patterns["echo >> per line"]) - 1}); do echo "echo $n" >> "{inbox}"; done'
        subprocess.run(["sh", "-c", script], check=True, timeout=600)
        with inbox.open("a", encoding="utf-8") as held:
            for line in patterns["held open, a line a tick"]:
                held.write(line + "\n")
                held.flush()
                wait_ticks(service, 1)
        with inbox.open("a", encoding="utf-8") as halves:
            for n in range(len(patterns["a line in two parts"])):
                halves.write(f"split {n} first, ")
                halves.flush()
                wait_ticks(service, 2)
                halves.write("second\n")
                halves.flush()
        total = sum(len(lines) for lines in patterns.values())
        wait_until(lambda: _stored(service) >= total, timeout_s=1800, what="every line stored")
        wait_inbox_empty(folder, timeout_s=600)
        assert stop_cleanly(service) == 0
    everything = [line for lines in patterns.values() for line in lines]
    overall.scenario = "inbox: all writers together"
    tally_database(overall, folder / "data" / "being.duckdb", everything, replies=False)
    for name, lines in patterns.items():
        tally = tallies[name]
        tally_database(tally, folder / "data" / "being.duckdb", lines, replies=False, part=True)
        tally.failed = overall.failed
        tally.seconds = overall.seconds
    tallies["backlog (written while down)"].notes.append(f"{size / 1e6:.1f} MB before the start")
    return [*tallies.values(), overall]


SCENARIOS: dict[str, Callable[[Path, bool], Any]] = {
    "kills": kills,
    "sigterms": sigterms,
    "down": llm_down,
    "hung": llm_hung,
    "chaos": chaos,
    "inbox": inbox_writers,
}
