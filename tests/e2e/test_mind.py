"""End to end: the real `being run` thinks with the LLM simulator, takes a goal from the intentions file, acts."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.service_process import ServiceProcess, SimulatorThread, being_command, query, write_config
from tests.support import wait_until

pytestmark = pytest.mark.e2e

INTENTIONS = "remind me to stretch every two hours"


class Nudges:
    """Rewrites the intentions file now and then (each change wakes the mind) until a goal is taken.

    The simulator picks a tool (and a goal's op) from its prompt, so a thought adds a goal about one
    time in 28: the being is given a new version to think over every few heavy ticks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.polls = 0
        self.versions = 0
        path.write_text(INTENTIONS + "\n", encoding="utf-8")

    def poll(self) -> None:
        self.polls += 1
        if self.polls % 20 == 0:  # the file, said again in other words: another thought
            self.versions += 1
            self.path.write_text(f"{INTENTIONS} (said {self.versions} times)\n", encoding="utf-8")


def test_the_being_takes_a_goal_from_its_intentions_and_acts_on_it(tmp_path: Path) -> None:
    simulator = SimulatorThread()
    try:
        config = write_config(
            tmp_path,
            llm={"base_url": simulator.base_url},
            ticks={"light_interval_s": 0.05, "heavy_interval_s": 0.2},
            mind={"enabled": True},
            **{"resilience.rate_limit": {"enabled": False}, "resilience.budget": {"enabled": False}},
        )
        nudges = Nudges(tmp_path / "intentions.md")  # beside the inbox: the default place
        service = ServiceProcess(config)
        try:

            def goal_taken() -> bool:
                nudges.poll()
                if nudges.polls % 10:
                    return False
                actions = service.get("/episodes?type=mind.action&limit=1000").json()["episodes"]
                acted = [a for a in actions if a["data"].get("tool") == "goal" and a["outcome"] == "success"]
                return bool(acted) and service.get("/goals").json()["count"] >= 1

            wait_until(goal_taken, timeout_s=60, what="a goal taken from the intentions and a mind.action of it")
            assert service.metric("being_mind_gate_total", 'decision="think"') >= 1
            assert service.metric("being_mind_tool_calls_total", 'outcome="success",tool="goal"') >= 1
            assert service.metric("being_mind_goals_open") >= 0
            listed = subprocess.run(
                [*being_command(), "goals", "--json", "--config", str(config)],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            body = json.loads(listed.stdout)
            assert body["source"] == "service" and len(body["goals"]) >= 1
            service.signal(signal.SIGTERM)
            assert service.wait(timeout_s=60) == 0
        finally:
            service.stop()
    finally:
        simulator.stop()
    database = tmp_path / "data" / "being.duckdb"
    assert query(database, "SELECT count(*) FROM goals")[0][0] >= 1
    acted = query(database, "SELECT count(*) FROM episodes WHERE type = 'mind.action' AND data->>'tool' = 'goal'")[0][0]
    assert acted >= 1
    intentions = query(database, "SELECT data->>'text' FROM episodes WHERE type = 'mind.intentions' ORDER BY time")
    assert intentions[0][0] == INTENTIONS + "\n"
    assert query(database, "SELECT outcome FROM episodes WHERE type = 'system.stop'") == [("success",)]
