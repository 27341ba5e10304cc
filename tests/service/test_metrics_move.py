"""Every ``being_`` family the service exports moves in a scenario: no dead series.

Each family is owned by one scenario (``MOVED_BY``); the scenario's first scrape is the
baseline, and the family must differ from it in one of the later scrapes (a gauge that went up
and came back counts: it is caught up). The live run also proves that the service exports
exactly the families listed here, so a new family without a scenario fails this test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from service._version import VERSION
from tests.metrics_support import Snapshot, families_of, snapshot
from tests.service.metrics_scenarios import SCENARIOS

CONSTANT = {"being_build_info", "being_disk_free_bytes"}
"""Families that hold a fact, not a movement of the service: checked for their value instead."""

MOVED_BY: dict[str, str] = {
    **dict.fromkeys(
        [
            "being_archive_runs",
            "being_archived_episodes",
            "being_breaker_failure_rate",
            "being_breaker_slow_call_rate",
            "being_cache_store_errors",
            "being_database_bytes",
            "being_duckdb_memory_bytes",
            "being_dead_letters",
            "being_event_loop_lag_seconds",
            "being_events_in",
            "being_heavy_tick_seconds",
            "being_inbox_claims_pending",
            "being_inbox_lag_seconds",
            "being_inbox_unanswered",
            "being_lane_waiting",
            "being_llm_call_duration_seconds",
            "being_llm_output_tokens",
            "being_llm_prompt_tokens",
            "being_llm_time_to_first_token_seconds",
            "being_message_answer_seconds",
            "being_vector_index_bytes",
            "being_vectors_stored",
            "being_wal_bytes",
        ],
        "live_run",
    ),
    **dict.fromkeys(
        [
            "being_breaker_call_duration_seconds",
            "being_breaker_calls",
            "being_breaker_state",
            "being_breaker_transitions",
            "being_budget_rejected",
            "being_budget_remaining",
            "being_bulkhead_in_flight",
            "being_bulkhead_rejected",
            "being_bulkhead_waiting",
            "being_cache_entries",
            "being_cache_evictions",
            "being_cache_hits",
            "being_cache_misses",
            "being_call_timeouts",
            "being_fallbacks",
            "being_rate_limit_rejected",
            "being_rate_limit_tokens",
            "being_rate_limit_wait_seconds",
            "being_retry_attempts",
            "being_retry_give_ups",
        ],
        "every_limit",
    ),
    **dict.fromkeys(
        [
            "being_episodes_written",
            "being_rows_inserted",
            "being_rows_skipped",
            "being_sink_admitted_over_bound",
            "being_sink_batch_rows",
            "being_sink_flush_seconds",
            "being_sink_over_bound_seconds",
            "being_sink_pending_jobs",
            "being_sink_queue_wait_seconds",
        ],
        "writer_over_bound",
    ),
    **dict.fromkeys(
        [
            "being_http_connections_open",
            "being_http_connections_refused",
            "being_http_header_timeouts",
            "being_http_request_duration_seconds",
            "being_http_requests",
            "being_http_requests_refused",
        ],
        "http_at_its_limits",
    ),
    **dict.fromkeys(
        [
            "being_events_clients",
            "being_events_clients_dropped",
            "being_events_published",
            "being_events_resumes",
            "being_events_sent",
            "being_http_limit_clients",
            "being_http_rate_limited",
        ],
        "access_and_events",
    ),
    **dict.fromkeys(
        [
            "being_mind_gate",
            "being_mind_goals_open",
            "being_mind_overlap_skips",
            "being_mind_step_seconds",
            "being_mind_thought_seconds",
            "being_mind_thoughts",
            "being_mind_tool_calls",
        ],
        "mind_thinks",
    ),
    **dict.fromkeys(
        ["being_shared_limits_errors", "being_shared_limits_fallbacks", "being_shared_limits_shared"],
        "limits_outage",
    ),
    "being_checks": "checks_run",
    "being_ready": "health_changes",
    "being_component_status": "health_changes",
}


def _moved(family: str, snapshots: list[Snapshot]) -> bool:
    first = snapshots[0].get(family)
    return any(later.get(family) != first for later in snapshots[1:])


async def _run(name: str, folder: Path) -> list[str]:
    registry = CollectorRegistry()
    return [text async for text in SCENARIOS[name](folder, registry)]


@pytest.mark.parametrize("name", sorted(set(MOVED_BY.values())))
async def test_each_scenario_moves_every_family_it_owns(name: str, tmp_path: Path) -> None:
    texts = await _run(name, tmp_path)
    snapshots = [snapshot(text) for text in texts]
    owned = sorted(f for f, owner in MOVED_BY.items() if owner == name)
    still = [family for family in owned if not _moved(family, snapshots)]
    assert not still, f"{name}: these families did not move: {still}"
    if name == "live_run":
        exported = families_of(texts[-1])
        assert exported - MOVED_BY.keys() - CONSTANT == set(), "families the service exports with no scenario"
        assert MOVED_BY.keys() - exported == set(), "families listed here that the service does not export"
        assert len(exported) >= 40
        info = snapshots[-1]["being_build_info"]
        assert [dict(labels)["version"] for _, labels in info] == [VERSION]
        assert list(info.values()) == [1.0]
        (free,) = snapshots[-1]["being_disk_free_bytes"].values()
        assert 0 < free <= shutil.disk_usage(tmp_path).total
        assert {"process_resident_memory_bytes", "process_open_fds", "python_info"} <= families_of(texts[-1], "")


def test_each_family_is_owned_by_a_scenario_that_exists() -> None:
    assert set(MOVED_BY.values()) <= SCENARIOS.keys()
    assert not CONSTANT & MOVED_BY.keys()
