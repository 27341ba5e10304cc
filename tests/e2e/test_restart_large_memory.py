"""A service that has run for a while starts again: its vector memory may by then be larger than DuckDB's
memory limit, and everything read at the start (the index, the recall's seed) must still fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm import LexicalEmbedder
from sinks import open_database
from tests.e2e.service_process import ServiceProcess, SimulatorThread, write_config
from tests.sinks._memory_helpers import insert_random_vectors
from tests.support import wait_until

pytestmark = pytest.mark.e2e

LIMIT_MB = 64
VECTORS = 60_000  # 384 values each: 92 MB of embeddings, beyond the limit


def test_a_restart_with_more_vectors_than_duckdbs_memory_limit_holds_starts_and_answers(tmp_path: Path) -> None:
    embedder = LexicalEmbedder(384).name  # the default [memory.search] embedder: the recall seeds from these
    with SimulatorThread() as simulator:
        config = write_config(
            tmp_path,
            storage={"duckdb_memory_limit_mb": LIMIT_MB},
            reply={"enabled": True},
            llm={"base_url": simulator.base_url},
            **{"resilience.rate_limit": {"enabled": False}, "resilience.budget": {"enabled": False}},
        )
        con = open_database(tmp_path / "data" / "being.duckdb", memory_limit_mb=LIMIT_MB)
        insert_random_vectors(con, VECTORS, dim=384, embedder=embedder)
        con.close()
        with ServiceProcess(config) as service:
            assert service.metric("being_vectors_stored") >= VECTORS
            (tmp_path / "inbox.txt").write_text("hello after the restart\n", encoding="utf-8")
            replied = 'type="user.reply"'
            wait_until(
                lambda: service.metric("being_episodes_written_total", replied) >= 1, timeout_s=60, what="a reply"
            )
            service.stop_gracefully()
