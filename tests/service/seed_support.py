"""Live runs on a database that already holds history: recorded, exported and replayed."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from llm.simulator import FaultPlan
from service.cli import main
from sinks import GoalRow, MemoryBlockRow, open_database, write_rows
from tests.metrics_support import LiveService, live_service

HEAVY_S = 4.0

SECTIONS: dict[str, dict[str, Any]] = {
    "mind": {"enabled": True},
    # One heavy tick in a run, seconds after the messages are answered: the mind then thinks once,
    # on what every reply left, as a replay (where an answer takes no virtual time) does too.
    "ticks": {"light_interval_s": 0.05, "heavy_interval_s": HEAVY_S},
    "memory": {"upkeep_interval_s": 3600.0},
}


async def _count(service: LiveService, kind: str) -> int:
    response = await service.client.get("/episodes", params={"type": kind, "limit": "1000"})
    assert response.status_code == 200, response.text
    return len(response.json()["episodes"])


async def _wait(service: LiveService, kind: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while await _count(service, kind) < count:
        assert time.monotonic() < deadline, f"no {count} {kind} episodes after a minute"
        await asyncio.sleep(0.02)


async def live_run(folder: Path, lines: list[str], plan: FaultPlan | None = None) -> None:
    """One start of the service in ``folder`` (its database kept between runs), the simulator following ``plan``.

    Says ``lines`` one at a time, each once the previous one is answered, then waits for the
    mind to act on the first heavy tick.
    """
    async with live_service(
        folder, plan=plan, mind=SECTIONS["mind"], ticks=SECTIONS["ticks"], memory=SECTIONS["memory"]
    ) as service:
        replies, actions = await _count(service, "user.reply"), await _count(service, "mind.action")
        for n, line in enumerate(lines, start=1):
            service.say(line)
            await _wait(service, "user.reply", replies + n)
        await _wait(service, "mind.action", actions + 1)


def thought_after_replies(database: Path) -> bool:
    """Whether the last live run had one heavy tick, and only after its last reply was stored.

    A replay answers in no virtual time, so its one thought sees every reply; a live run on a
    loaded machine can tick while a reply is still on its way (or tick twice), and then its
    thought saw something else: such a run is not the run these tests are about.
    """
    con = duckdb.connect(str(database), read_only=True)
    try:
        row = con.execute(
            """
            WITH run AS (SELECT run_id, started_at FROM runs WHERE kind = 'live' ORDER BY started_at DESC LIMIT 1)
            SELECT
                (SELECT count(*) FROM events WHERE run_id = (SELECT run_id FROM run) AND type = 'tick.heavy'),
                (SELECT min(time) FROM events WHERE run_id = (SELECT run_id FROM run) AND type = 'tick.heavy'),
                (SELECT max(time) FROM episodes WHERE type = 'user.reply' AND time >= (SELECT started_at FROM run))
            """
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    ticks, tick_time, last_reply = row
    return bool(ticks == 1 and last_reply is not None and tick_time > last_reply)


def add_history(database: Path, *, goal: str, block: str, sender: str = "inbox") -> None:
    """What a person (or ``being goals add``) puts into the database between two runs: a goal and a block."""
    now = datetime.now(UTC)
    con = open_database(database)
    try:
        write_rows(
            con,
            [
                GoalRow(
                    id=f"goal-{goal[:8]}",
                    text=goal,
                    status="open",
                    due=now - timedelta(minutes=1),
                    created=now,
                    done=None,
                    time=now,
                    source="user",
                ),
                MemoryBlockRow(name="self", text=block, time=now),
                MemoryBlockRow(name=f"user:{sender}", text=f"{sender} likes short answers", time=now),
            ],
        )
    finally:
        con.close()


def started_at(database: Path) -> list[datetime]:
    """The start time of every recorded live run, oldest first."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        rows = con.execute("SELECT started_at FROM runs WHERE kind = 'live' ORDER BY started_at").fetchall()
        return [r[0] for r in rows]
    finally:
        con.close()


def export(config: Path, out: Path, *extra: str) -> None:
    assert main(["record", "export", "--config", str(config), str(out), *extra]) == 0


def replay(config: Path, source: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    """``being replay SOURCE --compare --json``: its summary; exit 0 asserted (no miss)."""
    capsys.readouterr()
    code = main(["replay", str(source), "--config", str(config), "--out", str(out), "--compare", "--json", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary: dict[str, Any] = json.loads(captured.out)
    return summary
