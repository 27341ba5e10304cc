"""Messages over NATS JetStream against the real process and a real ``nats-server -js``.

Acknowledged only once the reply is stored, delivered again after a kill -9 and answered once,
de-duplicated by ``Nats-Msg-Id``, poison terminated as dead letters, NATS down at start and
restarted during a run, and given back at a graceful shutdown.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from streams import stable_id
from tests.e2e.nats_client import ack_floor, consumer, delete_stream, publish
from tests.e2e.service_process import ServiceProcess, SimulatorThread, being_command, query, write_config
from tests.nats_server import NatsServer
from tests.support import wait_until

pytestmark = pytest.mark.e2e

UNLIMITED: dict[str, dict[str, object]] = {
    "resilience.rate_limit": {"enabled": False},
    "resilience.budget": {"enabled": False},
}


def config(folder: Path, server: NatsServer, simulator: SimulatorThread, **nats: object) -> Path:
    return write_config(
        folder,
        reply={"enabled": True},
        llm={"base_url": simulator.base_url},
        nats={"enabled": True, "url": server.url, **nats},
        **UNLIMITED,
    )


def event_id(msg_id: str) -> str:
    return stable_id("nats", msg_id)


def rows(folder: Path, message_id: str) -> tuple[int, int]:
    """(message episodes, reply episodes) of one message, read after the service exited."""
    database = folder / "data" / "being.duckdb"
    messages = query(
        database,
        "SELECT count(*) FROM episodes WHERE type IN ('user.message', 'user.urgent')"
        f" AND json_extract_string(data, '$.event_id') = '{message_id}'",
    )
    replies = query(
        database,
        "SELECT count(*) FROM episodes WHERE type = 'user.reply'"
        f" AND json_extract_string(data, '$.event_id') = '{message_id}'",
    )
    return messages[0][0], replies[0][0]


def acked_up_to(server: NatsServer, sequence: int) -> bool:
    info = consumer(server.url)
    return ack_floor(info) >= sequence and info.num_ack_pending == 0


def held_call(simulator: SimulatorThread) -> bool:
    return bool(simulator.call(lambda: simulator.simulator.stats.in_flight) >= 1)


def test_a_message_is_acknowledged_only_once_its_reply_is_stored_and_a_repeat_is_dropped(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    simulator.call(simulator.simulator.hold)  # the reply cannot be stored until the test lets it
    service = ServiceProcess(config(tmp_path, server, simulator))
    try:
        body = json.dumps({"text": "hello over nats", "sender": "ana"}).encode()
        [first] = publish(server.url, (body, "m-1"))
        wait_until(lambda: held_call(simulator), what="the reply's LLM call")
        info = consumer(server.url)
        assert info.num_ack_pending == 1 and ack_floor(info) == 0  # delivered, not acknowledged
        [again] = publish(server.url, (body, "m-1"))  # the publisher retries: JetStream drops the copy
        assert again.duplicate is True and again.seq == first.seq
        simulator.call(simulator.simulator.release)
        wait_until(lambda: acked_up_to(server, first.seq), timeout_s=30, what="the acknowledgement")
        assert service.metric("being_nats_messages_settled_total", 'how="acked"') == 1
        service.signal()
        assert service.wait() == 0, "".join(service.raw_stderr[-20:])
    finally:
        service.stop()
    assert rows(tmp_path, event_id("m-1")) == (1, 1)
    [(source, sender)] = query(
        tmp_path / "data" / "being.duckdb",
        "SELECT data->>'source', data->>'sender' FROM episodes WHERE type = 'user.message'",
    )
    assert (source, sender) == ("nats", "ana")
    [line] = [json.loads(x) for x in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert line["in_reply_to"] == event_id("m-1")


def test_after_a_kill_9_the_message_is_delivered_again_and_answered_once(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    path = config(tmp_path, server, simulator, ack_wait_s=2.0)
    simulator.call(simulator.simulator.hold)
    first = ServiceProcess(path)
    try:
        [ack] = publish(server.url, (json.dumps({"text": "remember me", "urgent": True}).encode(), "m-kill"))
        wait_until(lambda: held_call(simulator), what="the held call")
        assert first.kill() == -9
    finally:
        first.stop()
    simulator.call(simulator.simulator.release)
    second = ServiceProcess(path)
    try:
        wait_until(lambda: acked_up_to(server, ack.seq), timeout_s=30, what="the redelivered message's ack")
        assert second.metric("being_nats_messages_received_total", 'delivery="redelivered"') == 1
        second.signal()
        assert second.wait() == 0, "".join(second.raw_stderr[-20:])
    finally:
        second.stop()
    assert rows(tmp_path, event_id("m-kill")) == (1, 1)


POISON = [
    (b"not json at all", "not JSON"),
    (b'{"text": "caf\xe9"}', "not UTF-8"),
    (json.dumps({"text": "x" * 200}).encode(), "ingest.max_text_bytes"),
    (json.dumps({"text": "hi", "colour": "red"}).encode(), "unknown field"),
    (json.dumps({"text": 5}).encode(), "text: expected a string"),
    (json.dumps(["a", "list"]).encode(), "expected a JSON object"),
]


def test_poison_messages_become_dead_letters_and_are_terminated_not_delivered_again(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    path = config(tmp_path, server, simulator, ack_wait_s=1.0)
    text = path.read_text(encoding="utf-8") + "[ingest]\nmax_text_bytes = 64\n"
    path.write_text(text, encoding="utf-8")
    service = ServiceProcess(path)
    try:
        acks = publish(
            server.url,
            *[(body, f"bad-{n}") for n, (body, _) in enumerate(POISON)],
            (json.dumps({"text": "and a good one"}).encode(), "good"),
        )
        wait_until(lambda: acked_up_to(server, acks[-1].seq), timeout_s=30, what="every message settled")
        assert service.metric("being_nats_messages_settled_total", 'how="termed"') == len(POISON)
        assert service.metric("being_nats_messages_settled_total", 'how="acked"') == 1
        info = consumer(server.url)
        assert info.num_redelivered == 0 and info.num_pending == 0
        service.signal()
        assert service.wait() == 0, "".join(service.raw_stderr[-20:])
    finally:
        service.stop()
    letters = query(tmp_path / "data" / "being.duckdb", "SELECT reason, raw FROM dead_letters WHERE source = 'nats'")
    assert len(letters) == len(POISON)
    for body, expected in POISON:
        assert any(expected in reason for reason, _ in letters), expected
        assert any(raw.startswith(body[:8].decode("utf-8", "backslashreplace")) for _, raw in letters)
    assert rows(tmp_path, event_id("good")) == (1, 1)


def test_a_message_still_not_answered_at_its_last_delivery_becomes_a_dead_letter(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    path = config(tmp_path, server, simulator, ack_wait_s=1.0, max_deliver=2)
    simulator.call(simulator.simulator.hold)  # every try to answer it hangs (a message that kills its instance)
    first = ServiceProcess(path)
    try:
        [ack] = publish(server.url, (json.dumps({"text": "a poison pill"}).encode(), "pill"))
        wait_until(lambda: held_call(simulator), what="the first try")
        assert first.kill() == -9
    finally:
        first.stop()
    second = ServiceProcess(path)  # its delivery is the second: the last of max_deliver = 2
    try:
        wait_until(lambda: acked_up_to(server, ack.seq), timeout_s=30, what="the pill terminated")
        assert second.metric("being_nats_messages_settled_total", 'how="termed"') == 1
        second.signal()
        simulator.call(simulator.simulator.release)
        assert second.wait() == 0, "".join(second.raw_stderr[-20:])
    finally:
        second.stop()
    [(reason, raw)] = query(tmp_path / "data" / "being.duckdb", "SELECT reason, raw FROM dead_letters")
    assert reason.startswith("undelivered: delivered 2 times (nats.max_deliver = 2)") and raw == "a poison pill"
    assert rows(tmp_path, event_id("pill"))[1] == 0  # never answered (its own episode may or may not be stored)


def test_with_nats_down_the_service_does_not_start_and_says_why(tmp_path: Path, server: NatsServer) -> None:
    url = server.url
    server.stop()
    path = write_config(tmp_path, nats={"enabled": True, "url": url}, checks={"remote_timeout_s": 0.5})
    done = subprocess.run(
        [*being_command(), "run", "--config", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    assert "nats server" in done.stderr and url in done.stderr and "nats.enabled = false" in done.stderr
    assert not (tmp_path / "data" / "being.duckdb").exists()  # stopped before anything was written


def test_a_nats_restart_during_a_run_loses_nothing(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    service = ServiceProcess(config(tmp_path, server, simulator, ack_wait_s=3.0))
    try:
        before = publish(server.url, *[(json.dumps({"text": f"before {n}"}).encode(), f"b-{n}") for n in range(3)])
        wait_until(lambda: acked_up_to(server, before[-1].seq), timeout_s=30, what="the first messages answered")
        simulator.call(simulator.simulator.hold)
        [held] = publish(server.url, (json.dumps({"text": "across the restart"}).encode(), "across"))
        wait_until(lambda: held_call(simulator), what="the call of the message in flight")
        server.stop()
        wait_until(
            lambda: service.get("/readyz").json()["components"]["nats"]["status"] == "degraded",
            timeout_s=30,
            what="nats degraded",
        )
        server.start()
        simulator.call(simulator.simulator.release)
        wait_until(
            lambda: service.get("/readyz").json()["components"]["nats"]["status"] == "ok",
            timeout_s=30,
            what="nats back",
        )
        after = publish(server.url, *[(json.dumps({"text": f"after {n}"}).encode(), f"a-{n}") for n in range(3)])
        wait_until(lambda: acked_up_to(server, after[-1].seq), timeout_s=60, what="every message answered")
        assert service.metric("being_nats_reconnects") >= 1
        service.signal()
        assert service.wait() == 0, "".join(service.raw_stderr[-20:])
    finally:
        service.stop()
    for msg_id in ["b-0", "b-1", "b-2", "across", "a-0", "a-1", "a-2"]:
        assert rows(tmp_path, event_id(msg_id)) == (1, 1), msg_id
    assert held.seq == before[-1].seq + 1


def test_a_graceful_shutdown_gives_back_what_it_holds_so_the_next_instance_takes_it_at_once(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    path = config(tmp_path, server, simulator, ack_wait_s=600.0)  # only a nak can bring it back within the test
    text = path.read_text(encoding="utf-8") + "[shutdown]\ndrain_timeout_s = 0.5\n"
    path.write_text(text, encoding="utf-8")
    simulator.call(simulator.simulator.hold)
    first = ServiceProcess(path)
    try:
        [ack] = publish(server.url, (json.dumps({"text": "take me elsewhere"}).encode(), "handed"))
        wait_until(lambda: held_call(simulator), what="the held call")
        first.signal()
        assert first.wait() == 0, "".join(first.raw_stderr[-20:])
        [closed] = [e for e in first.logs if e.get("event") == "nats.closed"]
        assert closed["given_back"] == 1  # naked: queued for delivery again at once, not after ack_wait
    finally:
        first.stop()
    simulator.call(simulator.simulator.release)
    second = ServiceProcess(path)
    try:
        wait_until(lambda: acked_up_to(server, ack.seq), timeout_s=30, what="the next instance's answer")
        second.signal()
        assert second.wait() == 0, "".join(second.raw_stderr[-20:])
    finally:
        second.stop()
    assert rows(tmp_path, event_id("handed")) == (1, 1)


def test_a_stream_deleted_under_the_service_is_made_again_and_messages_flow_again(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    service = ServiceProcess(config(tmp_path, server, simulator, consumer_check_interval_s=0.2))
    try:
        [before] = publish(server.url, (json.dumps({"text": "before"}).encode(), "d-0"))
        wait_until(lambda: acked_up_to(server, before.seq), timeout_s=30, what="the first message answered")
        delete_stream(server.url, "BEING_BEING_IN")  # an operator's mistake, or a server that lost its store
        wait_until(
            lambda: any(e.get("event") == "nats.consumer_made_again" for e in service.logs),
            timeout_s=30,
            what="the stream and the consumer made again",
        )
        assert any(e.get("event") == "nats.consumer_gone" for e in service.logs)
        [after] = publish(server.url, (json.dumps({"text": "after"}).encode(), "d-1"))
        wait_until(lambda: acked_up_to(server, after.seq), timeout_s=30, what="a message after it answered")
        assert service.get("/readyz").json()["components"]["nats"]["status"] == "ok"
        service.signal()
        assert service.wait() == 0, "".join(service.raw_stderr[-20:])
    finally:
        service.stop()
    assert rows(tmp_path, event_id("d-1")) == (1, 1)
