"""Messages without ``Nats-Msg-Id`` on both sides of a stream made again, against the real process and nats-server.

Such a message's id comes from its place in the stream, and a stream deleted and made again (an
operator's reset, a server that lost its store) numbers its messages from 1 again. The id also
names the stream's instance (its creation time), so a new message at an old sequence is a new
message: its own episode and its own reply are stored, not skipped as the old one's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.nats_client import delete_stream, publish
from tests.e2e.service_process import ServiceProcess, SimulatorThread, query
from tests.e2e.test_nats import acked_up_to, config
from tests.nats_server import NatsServer
from tests.support import wait_until

pytestmark = pytest.mark.e2e

STREAM = "BEING_BEING_IN"


def stored(folder: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """The (event id, text) of every message episode, and the message ids the replies answer; after the exit."""
    database = folder / "data" / "being.duckdb"
    messages = query(
        database,
        "SELECT data->>'event_id', data->>'text' FROM episodes WHERE type = 'user.message' ORDER BY time",
    )
    replies = query(database, "SELECT data->>'event_id' FROM episodes WHERE type = 'user.reply' ORDER BY time")
    return [(str(i), str(t)) for i, t in messages], [str(i) for (i,) in replies]


def stop(service: ServiceProcess) -> None:
    service.signal()
    assert service.wait() == 0, "".join(service.raw_stderr[-20:])


def assert_both_answered(folder: Path, texts: list[str]) -> None:
    messages, replies = stored(folder)
    assert [text for _, text in messages] == texts  # each its own episode: the second is not skipped
    ids = [event_id for event_id, _ in messages]
    assert len(set(ids)) == 2
    assert sorted(replies) == sorted(ids)  # each its own reply stored


def test_a_stream_made_again_between_two_runs_gives_its_first_message_a_new_id(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    path = config(tmp_path, server, simulator)
    first = ServiceProcess(path)
    try:
        [ack] = publish(server.url, (json.dumps({"text": "first, sequence 1"}).encode(), None))
        wait_until(lambda: acked_up_to(server, ack.seq), timeout_s=30, what="the first answer")
        stop(first)
    finally:
        first.stop()
    delete_stream(server.url, STREAM)  # the next start makes it again: its sequences start at 1
    second = ServiceProcess(path)
    try:
        [again] = publish(server.url, (json.dumps({"text": "another, sequence 1 again"}).encode(), None))
        assert again.seq == ack.seq == 1
        wait_until(lambda: acked_up_to(server, again.seq), timeout_s=30, what="the new message answered")
        assert not second.logged("jetstream.stream_made_again")  # read at the start: nothing fetched across it
        stop(second)
    finally:
        second.stop()
    assert simulator.requests() == 2
    assert_both_answered(tmp_path, ["first, sequence 1", "another, sequence 1 again"])


def test_a_stream_made_again_under_a_running_service_gives_its_first_message_a_new_id(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    service = ServiceProcess(config(tmp_path, server, simulator, consumer_check_interval_s=0.2))
    try:
        [ack] = publish(server.url, (json.dumps({"text": "before the reset"}).encode(), None))
        wait_until(lambda: acked_up_to(server, ack.seq), timeout_s=30, what="the first answer")
        delete_stream(server.url, STREAM)  # an operator's reset: the service makes stream and consumer again
        wait_until(lambda: service.logged("nats.consumer_made_again"), timeout_s=30, what="the stream made again")
        [again] = publish(server.url, (json.dumps({"text": "after the reset"}).encode(), None))
        assert again.seq == ack.seq == 1
        wait_until(lambda: acked_up_to(server, again.seq), timeout_s=30, what="the new message answered")
        [reset] = [e for e in service.logs if e.get("event") == "jetstream.stream_made_again"]
        assert reset["given_back"] == 1 and reset["was"] != reset["now"]  # fetched across the reset: given back
        assert service.metric("being_nats_messages_received_total", 'delivery="redelivered"') == 1
        stop(service)
    finally:
        service.stop()
    assert simulator.requests() == 2
    assert_both_answered(tmp_path, ["before the reset", "after the reset"])
