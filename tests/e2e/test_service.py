"""End to end: the real `being run` process, its real files and port, real signals."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.service_process import ServiceProcess, being_command, query, write_config
from tests.support import wait_until

pytestmark = pytest.mark.e2e


def append_lines(inbox: Path, lines: list[str], chunks: int = 10) -> None:
    size = max(1, len(lines) // chunks)
    for start in range(0, len(lines), size):
        with inbox.open("a", encoding="utf-8") as handle:
            handle.write("".join(f"{line}\n" for line in lines[start : start + size]))


def test_thousand_messages_survive_a_sigterm(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    service = ServiceProcess(config)
    try:
        messages = [f"message {n} — привет" for n in range(1000)]
        append_lines(tmp_path / "inbox.txt", messages)
        wait_until(
            lambda: service.metric("being_episodes_written_total", 'type="user.message"') >= 1000,
            timeout_s=60,
            what="1000 messages on /metrics",
        )
        assert service.get("/healthz").json()["status"] == "ok"
        assert service.get("/readyz").status_code == 200
        assert service.metric("being_events_in_total", 'type="user.message"') == 1000
        service.signal(signal.SIGTERM)
        assert service.wait() == 0
    finally:
        service.stop()
    database = tmp_path / "data" / "being.duckdb"
    stored = query(database, "SELECT description FROM episodes WHERE type = 'user.message'")
    assert sorted(r[0] for r in stored) == sorted(messages)
    assert query(database, "SELECT count(*) FROM episodes WHERE type = 'system.start'") == [(1,)]
    assert query(database, "SELECT outcome FROM episodes WHERE type = 'system.stop'") == [("success",)]
    assert list(tmp_path.glob("inbox.txt.*")) == []
    events = [entry.get("event") for entry in service.logs]
    assert "shutdown.drained" in events and "shutdown.done" in events


def test_second_signal_cuts_off_and_a_restart_loses_and_repeats_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    inbox = tmp_path / "inbox.txt"
    messages = [f"m{n}" for n in range(30_000)]
    first = ServiceProcess(config)
    try:
        append_lines(inbox, messages, chunks=1)
        wait_until(lambda: not inbox.exists(), timeout_s=30, what="the inbox to be claimed")
        first.signal(signal.SIGTERM)
        first.signal(signal.SIGTERM)
        assert first.wait() == 130
    finally:
        first.stop()
    assert "cut off" in "".join(first.raw_stderr)

    second = ServiceProcess(config)
    try:
        wait_until(lambda: list(tmp_path.glob("inbox.txt.*.claimed")) == [], timeout_s=60, what="recovery")
        second.signal(signal.SIGTERM)
        assert second.wait() == 0
    finally:
        second.stop()
    stored = query(tmp_path / "data" / "being.duckdb", "SELECT description FROM episodes WHERE type = 'user.message'")
    assert len(stored) == len(messages)
    assert sorted(r[0] for r in stored) == sorted(messages)


def test_bad_settings_exit_2_with_one_line_and_touch_nothing(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase_path = "{tmp_path / "data" / "x.duckdb"}"\n[http]\nport = "high"\n')
    done = subprocess.run(
        [*being_command(), "run", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "http.port" in done.stderr and "'high'" in done.stderr and "integer" in done.stderr
    assert not (tmp_path / "data").exists()


def test_check_reports_each_check_and_fails_on_a_busy_port(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    done = subprocess.run(
        [*being_command(), "check", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["ok"] * 5

    service = ServiceProcess(config)
    try:
        busy = write_config(tmp_path, http={"port": service.port})
        done = subprocess.run(
            [*being_command(), "check", "--config", str(busy)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1
        assert any(line.startswith("FAIL  http port") for line in done.stdout.splitlines())
    finally:
        service.signal(signal.SIGTERM)
        service.wait()
        service.stop()


def test_episodes_command_reads_from_the_service_then_from_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    service = ServiceProcess(config)
    try:
        append_lines(tmp_path / "inbox.txt", ["hello there"], chunks=1)
        wait_until(lambda: service.metric("being_episodes_written_total", 'type="user.message"') >= 1, what="message")
        live = subprocess.run(
            [*being_command(), "episodes", "--config", str(config), "--type", "user.message", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert live.returncode == 0, live.stderr
        assert '"source": "service"' in live.stdout and "hello there" in live.stdout
    finally:
        service.signal(signal.SIGTERM)
        service.wait()
        service.stop()
    offline = subprocess.run(
        [*being_command(), "episodes", "--config", str(config), "--limit", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert offline.returncode == 0, offline.stderr
    assert "system.stop" in offline.stdout and "hello there" in offline.stdout
