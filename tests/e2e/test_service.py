"""End to end: the real `being run` process, its real files and port, real signals."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.checks import CHECKS
from streams import Event, encode_event
from tests.e2e.service_process import ServiceProcess, SimulatorThread, being_command, query, write_config
from tests.support import wait_until

pytestmark = pytest.mark.e2e

# The default rate limit (1 call/s) and budget (120 calls/h) protect a real LLM server; these
# tests answer hundreds of messages from the local simulator.
UNLIMITED: dict[str, dict[str, object]] = {
    "resilience.rate_limit": {"enabled": False},
    "resilience.budget": {"enabled": False},
}


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
    simulator = SimulatorThread()
    try:
        config = write_config(
            tmp_path,
            reply={"enabled": True},
            llm={"base_url": simulator.base_url},
            shutdown={"drain_timeout_s": 120.0},
            **UNLIMITED,
        )
        inbox = tmp_path / "inbox.txt"
        messages = [f"m{n}" for n in range(300)]
        simulator.call(simulator.simulator.hold)  # every LLM call hangs: the drain cannot finish
        first = ServiceProcess(config)
        try:
            append_lines(inbox, messages, chunks=1)
            wait_until(lambda: simulator.call(lambda: simulator.simulator.stats.in_flight) >= 1, what="a hung call")
            first.signal(signal.SIGTERM)
            wait_until(lambda: any(e.get("event") == "shutdown.requested" for e in first.logs), what="shutdown")
            first.signal(signal.SIGTERM)
            assert first.wait() == 130
        finally:
            first.stop()
        assert "cut off" in "".join(first.raw_stderr)

        simulator.call(simulator.simulator.release)
        second = ServiceProcess(config)
        try:
            wait_until(lambda: list(tmp_path.glob("inbox.txt.*.claimed")) == [], timeout_s=60, what="recovery")
            wait_until(
                lambda: second.metric("being_episodes_written_total", 'type="user.reply"') >= len(messages),
                timeout_s=60,
                what="a reply to every message",
            )
            second.signal(signal.SIGTERM)
            assert second.wait() == 0
        finally:
            second.stop()
    finally:
        simulator.stop()
    database = tmp_path / "data" / "being.duckdb"
    stored = query(database, "SELECT description FROM episodes WHERE type = 'user.message'")
    assert sorted(r[0] for r in stored) == sorted(messages)
    replies = query(database, "SELECT count(*), count(DISTINCT id) FROM episodes WHERE type = 'user.reply'")
    assert replies == [(len(messages), len(messages))]


def test_replies_are_recorded_exported_and_replayed_to_the_same_episodes(tmp_path: Path) -> None:
    simulator = SimulatorThread()
    try:
        config = write_config(tmp_path, reply={"enabled": True}, llm={"base_url": simulator.base_url}, **UNLIMITED)
        service = ServiceProcess(config)
        try:
            append_lines(tmp_path / "inbox.txt", ["hello", "what is your name?", "!URGENT help"], chunks=1)
            wait_until(
                lambda: service.metric("being_episodes_written_total", 'type="user.reply"') >= 3, what="3 replies"
            )
            service.signal(signal.SIGTERM)
            assert service.wait() == 0
        finally:
            service.stop()
    finally:
        simulator.stop()
    database = tmp_path / "data" / "being.duckdb"
    outcomes = query(database, "SELECT outcome, count(*) FROM episodes WHERE type = 'user.reply' GROUP BY 1")
    assert outcomes == [("success", 3)]
    recorded_types = {r[0] for r in query(database, "SELECT DISTINCT type FROM events")}
    assert {"user.message", "user.urgent", "tick.light"} <= recorded_types
    assert query(database, "SELECT count(*) FROM llm_exchanges WHERE operation = 'chat'") == [(3,)]
    # the recorder is complete: every event an episode came from is in the events table
    missing = query(
        database,
        "SELECT count(*) FROM episodes WHERE data->>'event_id' IS NOT NULL"
        " AND data->>'event_id' NOT IN (SELECT id FROM events)",
    )
    assert missing == [(0,)]
    assert query(database, "SELECT count(DISTINCT run_id) FROM events") == [(1,)]

    found = subprocess.run(
        [*being_command(), "search", "--config", str(config), "--json", "--k", "3", "what is your name"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    assert "what is your name?" in json.loads(found.stdout)["hits"][0]["text"]

    recording = tmp_path / "recording.jsonl"
    exported = subprocess.run(
        [*being_command(), "record", "export", "--config", str(config), str(recording)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert exported.returncode == 0, exported.stderr
    replayed = subprocess.run(
        [*being_command(), "replay", str(recording), "--out", str(tmp_path / "replay.duckdb"), "--compare", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replayed.returncode == 0, replayed.stderr
    summary = json.loads(replayed.stdout)
    assert summary["llm_calls"] == 3
    compare = summary["compare"]
    assert compare["identical"] is True
    assert compare["ignored_runtime_episodes"] == 2  # the live run's system.start and system.stop


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
    *lines, summary = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ok"] * len(CHECKS)
    assert summary == f"{len(CHECKS)} checks: 0 critical failure(s), 0 warning(s)"

    service = ServiceProcess(config)
    try:
        busy = write_config(tmp_path, http={"port": service.port})
        done = subprocess.run(
            [*being_command(), "check", "--config", str(busy)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1
        lines = done.stdout.splitlines()
        assert any(line.startswith(f"FAIL  http port: cannot serve HTTP on 127.0.0.1:{service.port}") for line in lines)
        assert any(line.startswith("FAIL  database lock: ") and "is held by process" in line for line in lines)
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


def test_ctrl_c_mid_replay_keeps_a_consistent_output(tmp_path: Path) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    lines = [json.dumps({"format": "digital-being-recording", "version": 1, "settings": {}})]
    total = 5000
    for n in range(total):
        event = Event(
            id=f"h{n}", type="tick.heavy", time=start + timedelta(seconds=n), source="ticks", payload={"n": n}
        )
        lines.append(json.dumps({"kind": "event", "event": json.loads(encode_event(event))}))
    recording = tmp_path / "long.jsonl"
    recording.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.duckdb"
    proc = subprocess.Popen(
        [*being_command(), "replay", str(recording), "--out", str(out), "--speed", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert "replaying 5,000 events" in proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in stdout
    replayed = query(out, "SELECT count(*) FROM events")[0][0]
    assert 0 <= replayed < total
    assert query(out, "SELECT count(*) FROM episodes WHERE type = 'heavy_tick.observe'") == [(replayed,)]
    assert query(out, "SELECT kind FROM runs") == [("replay",)]


def test_a_drain_that_runs_out_of_time_records_what_was_cut_off(tmp_path: Path) -> None:
    simulator = SimulatorThread()
    try:
        config = write_config(
            tmp_path,
            reply={"enabled": True},
            llm={"base_url": simulator.base_url},
            shutdown={"drain_timeout_s": 0.5},
            **UNLIMITED,
        )
        simulator.call(simulator.simulator.hold)
        service = ServiceProcess(config)
        try:
            append_lines(tmp_path / "inbox.txt", ["are you there?"], chunks=1)
            wait_until(lambda: simulator.call(lambda: simulator.simulator.stats.in_flight) >= 1, what="a hung call")
            service.signal(signal.SIGTERM)
            assert service.wait() == 0
        finally:
            service.stop()
    finally:
        simulator.stop()
    database = tmp_path / "data" / "being.duckdb"
    ((outcome, data),) = query(database, "SELECT outcome, data::VARCHAR FROM episodes WHERE type = 'system.stop'")
    assert outcome == "cut_off"
    kept = json.loads(data)["inbox_claims_kept"]
    assert [p.name for p in tmp_path.glob("inbox.txt.*.claimed")] == kept


def test_with_no_llm_server_a_message_gets_the_fallback_reply_and_a_dead_letter(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = write_config(tmp_path, reply={"enabled": True}, llm={"base_url": f"http://127.0.0.1:{closed_port}"})
    service = ServiceProcess(config)
    try:
        append_lines(tmp_path / "inbox.txt", ["hello, anyone?"], chunks=1)
        wait_until(lambda: service.metric("being_episodes_written_total", 'type="user.reply"') >= 1, what="a reply")
        service.signal(signal.SIGTERM)
        assert service.wait() == 0
    finally:
        service.stop()
    database = tmp_path / "data" / "being.duckdb"
    assert query(database, "SELECT outcome FROM episodes WHERE type = 'user.reply'") == [("fallback",)]
    assert query(database, "SELECT description FROM episodes WHERE type = 'user.message'") == [("hello, anyone?",)]
    (reason,) = query(database, "SELECT reason FROM dead_letters WHERE source = 'llm:llm'")[0]
    assert "TransportError" in reason
