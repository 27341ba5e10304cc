"""``POST /messages`` against the real process: answered once, the same message under retries, and after a kill -9."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.service_process import ServiceProcess, SimulatorThread, query, write_config
from tests.support import wait_until

pytestmark = pytest.mark.e2e

UNLIMITED: dict[str, dict[str, object]] = {
    "resilience.rate_limit": {"enabled": False},
    "resilience.budget": {"enabled": False},
}


def post(service: ServiceProcess, body: dict[str, object], key: str | None = None) -> httpx.Response:
    headers = {**service.auth(), **({"Idempotency-Key": key} if key is not None else {})}
    return httpx.post(f"http://127.0.0.1:{service.port}/messages", json=body, headers=headers, timeout=10)


def counts(database: Path, message_id: str) -> tuple[int, int, int]:
    """(message episodes, reply episodes, ingest rows) of one message, read after the service exited."""
    messages = query(
        database,
        f"SELECT count(*) FROM episodes WHERE type LIKE 'user.%' AND type <> 'user.reply'"
        f" AND json_extract_string(data, '$.event_id') = '{message_id}'",
    )
    replies = query(
        database,
        "SELECT count(*) FROM episodes WHERE type = 'user.reply'"
        f" AND json_extract_string(data, '$.event_id') = '{message_id}'",
    )
    stored = query(database, f"SELECT count(*) FROM ingest WHERE id = '{message_id}'")
    return messages[0][0], replies[0][0], stored[0][0]


def test_a_posted_message_is_answered_once_and_a_retry_with_its_key_is_the_same_message(tmp_path: Path) -> None:
    simulator = SimulatorThread()
    try:
        config = write_config(tmp_path, reply={"enabled": True}, llm={"base_url": simulator.base_url}, **UNLIMITED)
        service = ServiceProcess(config)
        try:
            key = str(uuid.uuid4())
            first = post(service, {"text": "hello over http", "sender": "ana"}, key)
            assert first.status_code == 202, first.text
            body = first.json()
            assert body["state"] == "queued" and body["duplicate"] is False
            assert first.headers["Location"] == f"/messages/{body['id']}"
            again = post(service, {"text": "hello over http", "sender": "ana"}, key)
            assert again.status_code == 202
            assert again.json()["id"] == body["id"] and again.json()["duplicate"] is True
            assert again.headers["Idempotent-Replayed"] == "true"
            other = post(service, {"text": "something else"}, key)
            assert other.status_code == 422 and "Idempotency-Key" in other.json()["error"]

            answer = service.get(f"/messages/{body['id']}?wait_s=20", timeout_s=30).json()
            assert answer["state"] == "answered" and answer["sender"] == "ana"
            assert answer["reply"]["outcome"] == "success" and answer["reply"]["text"]
            assert answer["replies"] == [answer["reply"]]
            late = post(service, {"text": "hello over http", "sender": "ana"}, key)
            assert late.json()["state"] == "answered" and late.json()["duplicate"] is True
            service.signal()
            assert service.wait() == 0
        finally:
            service.stop()
    finally:
        simulator.stop()
    assert counts(tmp_path / "data" / "being.duckdb", body["id"]) == (1, 1, 1)
    [line] = [json.loads(x) for x in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert line["in_reply_to"] == body["id"] and line["text"] == answer["reply"]["text"]


def test_a_message_taken_before_a_kill_9_is_answered_once_after_the_restart(tmp_path: Path) -> None:
    simulator = SimulatorThread()
    try:
        config = write_config(tmp_path, reply={"enabled": True}, llm={"base_url": simulator.base_url}, **UNLIMITED)
        simulator.call(simulator.simulator.hold)  # the reply cannot come before the kill
        first = ServiceProcess(config)
        try:
            accepted = post(first, {"text": "remember me", "urgent": True}, "kill-key")
            assert accepted.status_code == 202
            message_id = accepted.json()["id"]
            wait_until(lambda: simulator.call(lambda: simulator.simulator.stats.in_flight) >= 1, what="the held call")
            assert first.kill() == -9
        finally:
            first.stop()
        simulator.call(simulator.simulator.release)
        second = ServiceProcess(config)
        try:
            retry = post(second, {"text": "remember me", "urgent": True}, "kill-key")  # the client retries too
            assert retry.status_code == 202 and retry.json()["id"] == message_id and retry.json()["duplicate"]
            answer = second.get(f"/messages/{message_id}?wait_s=30", timeout_s=40).json()
            assert answer["state"] == "answered" and answer["urgent"] is True
            assert post(second, {"text": "and another"}).status_code == 202  # the done mark rides with it
            second.signal()
            assert second.wait() == 0
        finally:
            second.stop()
    finally:
        simulator.stop()
    assert counts(tmp_path / "data" / "being.duckdb", message_id) == (1, 1, 1)
    done = query(tmp_path / "data" / "being.duckdb", f"SELECT done FROM ingest WHERE id = '{message_id}'")
    assert done == [(True,)]


def outbox_ids(folder: Path, *, stopped: bool = True) -> list[str]:
    """The ids in the outbox files, oldest first; while the service runs, a line being written is left out."""
    files = [*sorted(folder.glob("outbox.jsonl.*"), key=lambda p: -int(p.suffix[1:])), folder / "outbox.jsonl"]
    found: list[str] = []
    for file in files:
        data = file.read_bytes() if file.exists() else b""
        if stopped:
            assert not data or data.endswith(b"\n"), f"{file.name} ends in a torn line"
        found += [json.loads(line)["id"] for line in data.split(b"\n")[:-1] if line]
    return found


def test_after_a_kill_9_mid_stream_the_outbox_holds_each_reply_exactly_once(tmp_path: Path) -> None:
    simulator = SimulatorThread()
    messages = [f"question {n}" for n in range(200)]
    try:
        config = write_config(
            tmp_path, reply={"enabled": True, "max_concurrent": 4}, llm={"base_url": simulator.base_url}, **UNLIMITED
        )
        first = ServiceProcess(config)
        try:
            (tmp_path / "inbox.txt").write_text("".join(f"{m}\n" for m in messages), encoding="utf-8")
            wait_until(
                lambda: first.metric("being_episodes_written_total", 'type="user.reply"') >= 40,
                timeout_s=60,
                what="some replies",
            )
            assert first.kill() == -9
        finally:
            first.stop()
        second = ServiceProcess(config)
        try:
            wait_until(
                lambda: len(outbox_ids(tmp_path, stopped=False)) >= len(messages),
                timeout_s=120,
                what="every reply in the outbox",
            )
            second.signal()
            assert second.wait() == 0
        finally:
            second.stop()
    finally:
        simulator.stop()
    replies = query(tmp_path / "data" / "being.duckdb", "SELECT id FROM episodes WHERE type = 'user.reply'")
    written = outbox_ids(tmp_path)
    assert len(written) == len(set(written)) == len(messages)
    assert set(written) == {r[0] for r in replies}
