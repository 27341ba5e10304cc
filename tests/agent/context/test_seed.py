"""Seeding the memory from a real database: recent episodes and the conversation read apart."""

from __future__ import annotations

from pathlib import Path

from agent._routes import user_episode
from agent.context import BeingMemory, read_memory_episodes
from sinks import open_database, write_rows
from tests.agent.context.memory_support import episode, message_event, reply_row


def test_the_seed_pairs_exchanges_that_many_newer_episodes_would_crowd_out(tmp_path: Path) -> None:
    con = open_database(tmp_path / "being.duckdb")
    rows = []
    for n in range(5):
        event = message_event(n, f"message {n}", sender="ann", t=n * 10)
        rows += [user_episode(event), reply_row(event, f"reply {n}", t=n * 10 + 1)]
    rows += [episode(100 + n, type="heavy_tick.observe", t=1_000 + n) for n in range(300)]
    write_rows(con, rows)
    seed = read_memory_episodes(con, recent=10, conversation=100)
    assert read_memory_episodes(con, recent=0, conversation=0) == []
    con.close()
    assert len(seed) == 20  # ten ticks and ten conversation rows
    assert [r.time for r in seed] == sorted(r.time for r in seed)
    memory = BeingMemory(max_recent=10)
    memory.seed(recent=seed)
    assert [r.id for r in memory.recent(10)] == [f"e{n}" for n in range(390, 400)]
    assert memory.exchanges_with("ann", 10) == tuple((f"message {n}", f"reply {n}") for n in range(5))
    assert seed[0].data["event_id"] == "m0" and seed[0].time == rows[0].time
