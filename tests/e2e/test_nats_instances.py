"""Two real ``being run`` instances sharing one being's stream: one killed or stopped mid-run, nothing lost or doubled.

Each instance has its own data folder and DuckDB file and the same ``[nats]`` (name, durable);
one LLM simulator over loopback answers both with some latency, so work is in flight when an
instance goes. What is checked is what a user of the out stream sees: ``being.being.out`` holds
one reply per message (by ``Nats-Msg-Id`` and ``Being-In-Reply-To``), and no more messages than
that; the consumer has every message acknowledged; and the two databases, exported with
``being export --parquet`` and read together by DuckDB as docs/scaling.md says, hold every
message and its reply.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agent import reply_id
from llm.simulator import FaultPlan
from streams import stable_id
from tests.e2e.nats_client import ack_floor, consumer, out_messages, publish, stream_count
from tests.e2e.service_process import ServiceProcess, SimulatorThread, being_command, write_config
from tests.nats_server import NatsServer
from tests.support import wait_until

pytestmark = pytest.mark.e2e

MESSAGES = 200


@pytest.fixture
def simulator() -> Any:
    sim = SimulatorThread(FaultPlan(models=(), latency_ms=40.0))  # each answer takes a while: work is in flight
    try:
        yield sim
    finally:
        sim.stop()


def instance(root: Path, name: str, server: NatsServer, simulator: SimulatorThread, **nats: object) -> Path:
    """One instance's folder and config: its own database, the shared stream, consumer and LLM."""
    folder = root / name
    folder.mkdir()
    return write_config(
        folder,
        reply={"enabled": True, "max_concurrent": 4},
        llm={"base_url": simulator.base_url},
        nats={"enabled": True, "url": server.url, "name": "being", "durable": "being", **nats},
        **{"resilience.rate_limit": {"enabled": False}, "resilience.budget": {"enabled": False}},
        shutdown={"drain_timeout_s": 0.3},
    )


def publish_all(server: NatsServer) -> dict[str, str]:
    """Publish the messages (``Nats-Msg-Id`` m-0 ...); returns event id → msg id."""
    bodies = [(json.dumps({"text": f"message {n}: what do you see?"}).encode(), f"m-{n}") for n in range(MESSAGES)]
    acks = publish(server.url, *bodies)
    assert [a.seq for a in acks] == list(range(1, MESSAGES + 1))
    return {stable_id("nats", f"m-{n}"): f"m-{n}" for n in range(MESSAGES)}


def all_settled(server: NatsServer) -> bool:
    info = consumer(server.url)
    return ack_floor(info) >= MESSAGES and info.num_ack_pending == 0 and info.num_pending == 0


def settled(service: ServiceProcess) -> float:
    return service.metric("being_nats_messages_settled_total", 'how="acked"')


def assert_answered_once_on_the_out_stream(server: NatsServer, ids: dict[str, str]) -> None:
    out = out_messages(server.url)
    answers = Counter(m.headers.get("Being-In-Reply-To") for m in out)
    missing = sorted(ids[e] for e in ids if answers[e] == 0)
    twice = sorted(ids.get(str(e), str(e)) for e, n in answers.items() if n > 1)
    assert not missing, f"{len(missing)} messages never answered on the out stream: {missing[:10]}"
    assert not twice, f"answered more than once on the out stream: {twice[:10]}"
    assert set(answers) == set(ids), f"replies to messages never sent: {set(answers) - set(ids)}"
    assert len(out) == MESSAGES  # the stream holds nothing else (no second copy under another id)
    for m in out:
        in_reply_to = m.headers["Being-In-Reply-To"]
        assert m.headers["Nats-Msg-Id"] == reply_id(in_reply_to)  # the same id whichever instance answered
        body = json.loads(m.body)
        assert (
            body["type"] == "user.reply" and body["in_reply_to"] == in_reply_to and body["id"] == reply_id(in_reply_to)
        )


def export(config: Path, shared: Path, name: str) -> None:
    done = subprocess.run(
        [*being_command(), "export", "--config", str(config), "--parquet", str(shared), "--instance", name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def union(shared: Path) -> dict[str, Any]:
    """The two instances' episodes read together (the query of docs/scaling.md)."""
    con = duckdb.connect()
    try:
        episodes = f"read_parquet('{shared}/*/episodes*.parquet', hive_partitioning = true)"
        messages = con.execute(
            f"SELECT data->>'event_id', count(DISTINCT instance) FROM {episodes}"
            " WHERE type = 'user.message' GROUP BY ALL"
        ).fetchall()
        replies = con.execute(
            f"SELECT id, any_value(data->>'event_id'), count(*) FROM {episodes} WHERE type = 'user.reply' GROUP BY id"
        ).fetchall()
        per_instance = con.execute(
            f"SELECT instance, count(*) FROM {episodes} WHERE type = 'user.reply' GROUP BY ALL"
        ).fetchall()
    finally:
        con.close()
    return {
        "messages": {event_id for event_id, _ in messages},
        "replies": {event_id for _, event_id, _ in replies},
        "reply_ids": {reply for reply, _, _ in replies},
        "per_instance": dict(per_instance),
    }


def assert_every_message_in_the_union(root: Path, configs: dict[str, Path], ids: dict[str, str]) -> dict[str, Any]:
    shared = root / "export"
    for name, config in configs.items():
        export(config, shared, name)
    found = union(shared)
    assert found["messages"] == set(ids), f"messages missing from both databases: {set(ids) - found['messages']}"
    assert found["replies"] == set(ids), f"replies missing from both databases: {set(ids) - found['replies']}"
    assert found["reply_ids"] == {reply_id(e) for e in ids}
    return found


def test_two_instances_share_the_stream_and_a_kill_9_loses_nothing_and_answers_nothing_twice(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    configs = {name: instance(tmp_path, name, server, simulator, ack_wait_s=3.0) for name in ("a", "b")}
    a = ServiceProcess(configs["a"])
    b = ServiceProcess(configs["b"])
    try:
        ids = publish_all(server)
        # both take work, and the one to die holds messages it has not acknowledged
        wait_until(lambda: settled(a) >= 10 and settled(b) >= 10, timeout_s=60, what="both instances answering")
        wait_until(lambda: a.metric("being_nats_in_flight") >= 8, timeout_s=60, what="instance a holding messages")
        assert stream_count(server.url) < MESSAGES - 8  # work is left: what a held is not answered yet
        assert a.kill() == -9
        # b takes what a held once ack_wait_s has passed without a's heartbeat
        wait_until(lambda: all_settled(server), timeout_s=120, what="every message acknowledged")
        assert b.metric("being_nats_messages_received_total", 'delivery="redelivered"') >= 1
        wait_until(lambda: stream_count(server.url) >= MESSAGES, timeout_s=30, what="every reply published")
        assert_answered_once_on_the_out_stream(server, ids)
        b.signal()
        assert b.wait(60) == 0, "".join(b.raw_stderr[-20:])
    finally:
        a.stop()
        b.stop()
    assert_answered_once_on_the_out_stream(server, ids)  # nothing more came out at b's shutdown
    found = assert_every_message_in_the_union(tmp_path, configs, ids)
    assert found["per_instance"]["a"] >= 10 and found["per_instance"]["b"] >= 10


def test_a_graceful_stop_of_one_instance_gives_back_what_it_holds_and_the_other_answers_it(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    # ack_wait_s long: only the instance's give-back (nak) can bring its messages to the other one in time
    configs = {name: instance(tmp_path, name, server, simulator, ack_wait_s=600.0) for name in ("a", "b")}
    a = ServiceProcess(configs["a"])
    b = ServiceProcess(configs["b"])
    try:
        ids = publish_all(server)
        wait_until(lambda: settled(a) >= 10 and settled(b) >= 10, timeout_s=60, what="both instances answering")
        # held first: what a holds from here can only be answered by a reply computed already (its write may lag)
        simulator.call(simulator.simulator.hold)
        wait_until(lambda: a.metric("being_nats_in_flight") >= 16, timeout_s=60, what="instance a holding messages")
        a.signal()
        assert a.wait(60) == 0, "".join(a.raw_stderr[-20:])
        simulator.call(simulator.simulator.release)
        [closed] = [e for e in a.logs if e.get("event") == "nats.closed"]
        assert closed["given_back"] >= 1  # more than its drain could answer: given back, not kept
        wait_until(lambda: all_settled(server), timeout_s=120, what="every message acknowledged")
        assert b.metric("being_nats_messages_received_total", 'delivery="redelivered"') >= closed["given_back"]
        wait_until(lambda: stream_count(server.url) >= MESSAGES, timeout_s=30, what="every reply published")
        assert_answered_once_on_the_out_stream(server, ids)
        b.signal()
        assert b.wait(60) == 0, "".join(b.raw_stderr[-20:])
    finally:
        a.stop()
        b.stop()
    assert_answered_once_on_the_out_stream(server, ids)
    assert_every_message_in_the_union(tmp_path, configs, ids)
