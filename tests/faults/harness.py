"""Running the real service for the fault tests: its config, the simulator, waiting on what it did."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from service.settings import Settings
from tests.e2e.service_process import ServiceProcess, SimulatorThread, write_config
from tests.support import wait_until

# inbox.quiet_s: a claim is let go of this long after its last change (2 s by default), so tests that
# wait for every claim to go are not held up
QUIET: dict[str, Any] = {"quiet_s": 0.5}

MAX_CONCURRENT = Settings().reply.max_concurrent  # the default: the replies that can be in flight at a kill


def replying_config(folder: Path, base_url: str, **sections: dict[str, Any]) -> Path:
    """A config that answers every message through the LLM at ``base_url`` (other settings: defaults)."""
    merged: dict[str, dict[str, Any]] = {"reply": {"enabled": True}, "llm": {"base_url": base_url}}
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    return write_config(folder, **merged)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_requests(simulator: SimulatorThread, count: int, *, timeout_s: float = 60.0) -> None:
    """Until the simulator has received ``count`` chat requests in all."""
    wait_until(lambda: simulator.requests() >= count, timeout_s=timeout_s, what=f"{count} LLM requests")


def light_ticks(service: ServiceProcess) -> float:
    return service.metric("being_events_in_total", 'type="tick.light"')


def wait_ticks(service: ServiceProcess, ticks: int = 3, *, timeout_s: float = 30.0) -> None:
    """Until the service has had ``ticks`` more light ticks (each one reads the inbox)."""
    start = light_ticks(service)
    wait_until(lambda: light_ticks(service) >= start + ticks, timeout_s=timeout_s, what=f"{ticks} light ticks")


def inbox_files(folder: Path, name: str = "inbox.txt") -> list[Path]:
    """The inbox and every file the inbox made beside it (claims, rejected, quarantined)."""
    return sorted(folder.glob(f"{name}*"))


def open_claims(folder: Path, name: str = "inbox.txt") -> list[Path]:
    """The inbox and its claims still being read (files set aside for a person are not counted)."""
    return sorted([*folder.glob(name), *folder.glob(f"{name}.*.claimed")])


def wait_inbox_empty(folder: Path, *, timeout_s: float = 60.0) -> None:
    """Until the inbox and all its claims are gone: every message read, stored, answered and let go."""
    wait_until(lambda: open_claims(folder) == [], timeout_s=timeout_s, what="every inbox claim to be let go")


def stop_cleanly(service: ServiceProcess, *, timeout_s: float = 60.0) -> int:
    """SIGTERM and the exit code."""
    import signal

    service.signal(signal.SIGTERM)
    return service.wait(timeout_s=timeout_s)


def metric_sum(service: ServiceProcess, name: str) -> float:
    """The sum of every sample of ``name`` on /metrics, whatever its labels (0 when absent)."""
    total = 0.0
    for line in service.get("/metrics").text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.split()[-1])
    return total


def replies_with(service: ServiceProcess, outcome: str) -> int:
    """``user.reply`` episodes with this outcome, asked of the running service (GET /episodes)."""
    found = service.get(f"/episodes?type=user.reply&outcome={outcome}&limit=10000").json()
    return int(found["count"])
