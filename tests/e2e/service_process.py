"""Start the real ``being`` process with a temporary config, read its logs, talk to it, signal it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import httpx

from tests.support import wait_until

if TYPE_CHECKING:
    from llm.simulator import FaultPlan


def being_command() -> list[str]:
    """The installed console script, or the module when the venv has no script."""
    script = Path(sys.executable).parent / "being"
    return [str(script)] if script.exists() else [sys.executable, "-m", "runtime"]


def write_config(folder: Path, **sections: dict[str, Any]) -> Path:
    """A config.toml in ``folder`` with the database and inbox inside it and a free port."""
    base: dict[str, dict[str, Any]] = {
        "storage": {"database_path": str(folder / "data" / "being.duckdb")},
        "inbox": {"path": str(folder / "inbox.txt")},
        "http": {"port": 0},
        "ticks": {"light_interval_s": 0.05, "heavy_interval_s": 3600.0},
        "sink": {"batch_max_wait_s": 0.05},
        "log": {"format": "json"},
        "reply": {"enabled": False},
        "mind": {"enabled": False},  # a test that wants the mind turns it on
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    lines: list[str] = []
    for name, values in base.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class ServiceProcess:
    """A running ``being run``; collects its JSON log lines from stderr."""

    def __init__(self, config: Path) -> None:
        self.config = config
        env = {k: v for k, v in os.environ.items() if not k.startswith("BEING_")}
        self.proc = subprocess.Popen(
            [*being_command(), "run", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.logs: list[dict[str, Any]] = []
        self.raw_stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = self._wait_for_port()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.raw_stderr.append(line)
            try:
                self.logs.append(json.loads(line))
            except json.JSONDecodeError:
                continue

    def _wait_for_port(self) -> int:
        def listening() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"being run exited with {self.proc.returncode}: {''.join(self.raw_stderr)}")
            return any(entry.get("event") == "http.listening" for entry in self.logs)

        wait_until(listening, timeout_s=30, what="the service to listen")
        return int(next(e["port"] for e in self.logs if e.get("event") == "http.listening"))

    @property
    def token(self) -> str:
        """The token the service generated (``<database>.token``, written before it listens)."""
        database = tomllib.loads(self.config.read_text(encoding="utf-8"))["storage"]["database_path"]
        return Path(f"{database}.token").read_text(encoding="ascii").strip()

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, *, timeout_s: float = 10) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", headers=self.auth(), timeout=timeout_s)

    def metric(self, name: str, labels: str = "") -> float:
        """The value of one sample on /metrics (0 when absent)."""
        wanted = f"{name}{{{labels}}}" if labels else name
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(wanted + " "):
                return float(line.split()[-1])
        return 0.0

    def signal(self, signum: signal.Signals = signal.SIGTERM) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout_s: float = 30) -> int:
        code = self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> int:
        """SIGKILL: no handler runs, nothing is flushed; returns the exit code (-9)."""
        self.proc.kill()
        return self.wait()

    def logged(self, event: str) -> bool:
        """Whether a log line with this ``event`` was printed."""
        return any(entry.get("event") == event for entry in list(self.logs))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop_gracefully(self, timeout_s: float = 30) -> None:
        """SIGTERM, then the exit code must be 0 (a graceful stop)."""
        self.signal(signal.SIGTERM)
        code = self.wait(timeout_s)
        assert code == 0, f"being run exited with {code} after SIGTERM"

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()  # killed if still running: a failed test leaves no process behind


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the database after the service has exited."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


class SimulatorThread:
    """The Ollama simulator on a loopback port, served from its own thread and event loop.

    Args:
        plan: its fault plan (by default: no faults, any model).
        port: the port to serve on (0 picks a free one); a fixed port lets a test bring the
            LLM up where a service was already told to look for it.
    """

    def __init__(self, plan: FaultPlan | None = None, *, port: int = 0) -> None:
        import asyncio

        from llm.simulator import FaultPlan, Simulator

        self._loop = asyncio.new_event_loop()
        self.simulator = Simulator(plan if plan is not None else FaultPlan(models=()))
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(self.simulator.start(port=port), self._loop)
        try:
            self.base_url = started.result(timeout=30)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            raise

    def requests(self, path: str = "/api/chat") -> int:
        """Requests the simulator received on ``path`` so far (failed and cut-off ones included)."""
        return int(self.call(lambda: self.simulator.stats.requests[path]))

    def call(self, fn: Any) -> Any:
        """Run ``fn()`` on the simulator's loop (its controls are not thread-safe)."""
        import asyncio

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def stop(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.simulator.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> SimulatorThread:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
