"""MindMetrics: the mind's reports become being_mind_* series on the registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from service.metrics import MindMetrics


def test_gate_decisions_show_from_the_start_and_count(registry: CollectorRegistry) -> None:
    metrics = MindMetrics(registry)
    assert registry.get_sample_value("being_mind_gate_total", {"decision": "idle"}) == 0
    assert registry.get_sample_value("being_mind_gate_total", {"decision": "think"}) == 0
    for decision in ("idle", "idle", "think"):
        metrics.on_gate(decision)  # type: ignore[arg-type]
    assert registry.get_sample_value("being_mind_gate_total", {"decision": "idle"}) == 2
    assert registry.get_sample_value("being_mind_gate_total", {"decision": "think"}) == 1


def test_thoughts_steps_tools_and_overlaps(registry: CollectorRegistry) -> None:
    metrics = MindMetrics(registry)
    metrics.on_thought("success", 1.5)
    metrics.on_thought("degraded", 0.2)
    metrics.on_thought("success", 0.5)
    metrics.on_step("monologue", "success", 0.75)
    metrics.on_step("decision", "repaired", 2.0)
    metrics.on_tool("goal", "success")
    metrics.on_tool("note", "refused")
    metrics.on_tool("goal", "success")
    metrics.on_overlap_skip()
    sample = registry.get_sample_value
    assert sample("being_mind_thoughts_total", {"outcome": "success"}) == 2
    assert sample("being_mind_thoughts_total", {"outcome": "degraded"}) == 1
    assert sample("being_mind_thought_seconds_count", {}) == 3
    assert sample("being_mind_thought_seconds_sum", {}) == 2.2
    assert sample("being_mind_step_seconds_count", {"step": "decision", "outcome": "repaired"}) == 1
    assert sample("being_mind_step_seconds_sum", {"step": "monologue", "outcome": "success"}) == 0.75
    assert sample("being_mind_tool_calls_total", {"tool": "goal", "outcome": "success"}) == 2
    assert sample("being_mind_tool_calls_total", {"tool": "note", "outcome": "refused"}) == 1
    assert sample("being_mind_overlap_skips_total", {}) == 1


def test_open_goals_are_read_when_scraped(registry: CollectorRegistry) -> None:
    metrics = MindMetrics(registry)
    goals = {"a": 1}
    metrics.watch_goals(lambda: len(goals))
    assert registry.get_sample_value("being_mind_goals_open", {}) == 1
    goals["b"] = 2
    assert b"being_mind_goals_open 2.0" in generate_latest(registry)
