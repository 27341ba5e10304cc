"""End to end: the real `being run` reads its intentions file as it changes, and serves /goals."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.e2e.service_process import ServiceProcess, SimulatorThread, query, write_config
from tests.support import wait_until

pytestmark = pytest.mark.e2e


def test_the_intentions_file_is_read_as_it_changes_and_recorded(tmp_path: Path) -> None:
    simulator = SimulatorThread()
    intentions = tmp_path / "intentions.md"  # beside the inbox: the default place
    intentions.write_text("remind me to stretch every two hours\n", encoding="utf-8")
    try:
        config = write_config(tmp_path, llm={"base_url": simulator.base_url}, mind={"enabled": True})
        service = ServiceProcess(config)
        try:

            def changes() -> float:
                return service.metric("being_events_in_total", 'type="mind.intentions"')

            wait_until(lambda: changes() == 1, timeout_s=30, what="the intentions read at start")
            intentions.write_text("summarise what you learnt each evening\n", encoding="utf-8")
            wait_until(lambda: changes() == 2, timeout_s=30, what="the changed intentions")
            intentions.unlink()
            wait_until(lambda: changes() == 3, timeout_s=30, what="the deleted intentions")
            assert service.get("/goals?status=someday").status_code == 400
            service.signal(signal.SIGTERM)
            assert service.wait() == 0
        finally:
            service.stop()
    finally:
        simulator.stop()
    database = tmp_path / "data" / "being.duckdb"
    said = query(database, "SELECT data->>'text' FROM episodes WHERE type = 'mind.intentions' ORDER BY time")
    assert said == [("remind me to stretch every two hours\n",), ("summarise what you learnt each evening\n",), ("",)]
    recorded = query(database, "SELECT count(*) FROM events WHERE type = 'mind.intentions'")
    assert recorded == [(3,)]
    assert query(database, "SELECT outcome FROM episodes WHERE type = 'system.stop'") == [("success",)]
