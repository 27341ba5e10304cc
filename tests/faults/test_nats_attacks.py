"""Hostile JetStream messages against the real ``being`` process and a real ``nats-server -js``.

A body the message rules cannot read in any way must become a dead letter and be terminated, and
the messages after it must still be answered: the source may not stall on one message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from streams import stable_id
from tests.e2e.nats_client import ack_floor, consumer, publish
from tests.e2e.service_process import ServiceProcess, SimulatorThread, query, write_config
from tests.nats_server import NatsServer, nats_binary
from tests.support import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path) -> Any:
    (tmp_path / "nats").mkdir()
    nats_server = NatsServer(nats_binary(), tmp_path / "nats")
    try:
        yield nats_server
    finally:
        nats_server.stop()


@pytest.fixture
def simulator() -> Any:
    sim = SimulatorThread()
    try:
        yield sim
    finally:
        sim.stop()


def _settled(server: NatsServer, sequence: int) -> bool:
    info = consumer(server.url)
    return ack_floor(info) >= sequence and info.num_ack_pending == 0


def test_a_number_of_more_digits_than_python_converts_is_a_dead_letter_and_the_next_message_is_answered(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    # json.loads raises a plain ValueError (not JSONDecodeError) for such a number; it used to escape
    # the message rules, kill the fetching and keep the message held (told in_progress) for ever.
    digits = sys.get_int_max_str_digits() + 1
    huge = [
        (b'{"text": ' + b"7" * digits + b"}", "huge-text"),
        (b'{"text": "hi", "urgent": ' + b"1" * digits + b"}", "huge-urgent"),
    ]
    path = write_config(
        tmp_path,
        reply={"enabled": True},
        llm={"base_url": simulator.base_url},
        nats={"enabled": True, "url": server.url, "ack_wait_s": 2.0},
        **{"resilience.rate_limit": {"enabled": False}, "resilience.budget": {"enabled": False}},
    )
    service = ServiceProcess(path)
    try:
        acks = publish(server.url, *huge, (json.dumps({"text": "still listening?"}).encode(), "after"))
        wait_until(lambda: _settled(server, acks[-1].seq), timeout_s=30, what="every message settled")
        assert service.metric("being_nats_messages_settled_total", 'how="termed"') == len(huge)
        assert service.metric("being_nats_messages_settled_total", 'how="acked"') == 1
        assert consumer(server.url).num_redelivered == 0
        service.signal()
        assert service.wait() == 0, "".join(service.raw_stderr[-20:])
    finally:
        service.stop()
    database = tmp_path / "data" / "being.duckdb"
    letters = query(database, "SELECT reason, raw FROM dead_letters WHERE source = 'nats' ORDER BY reason")
    assert len(letters) == len(huge)
    for reason, raw in letters:
        assert reason.startswith(
            f"refused: body: not JSON this service reads: a number of more than {digits - 1} digits"
        )
        assert raw.startswith('{"text": ')
    [(replies,)] = query(
        database,
        "SELECT count(*) FROM episodes WHERE type = 'user.reply'"
        f" AND json_extract_string(data, '$.event_id') = '{stable_id('nats', 'after')}'",
    )
    assert replies == 1
