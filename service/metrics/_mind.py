"""Prometheus series of the mind: the ``MindListener`` that turns its reports into samples."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["GATE_DECISIONS", "MindMetrics"]

GATE_DECISIONS = ("idle", "think")
_SECONDS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class MindMetrics:
    """The mind's listener (``agent.mind.MindListener``), writing to the runtime's registry.

    Series (counters get Prometheus' ``_total`` suffix):

    - ``being_mind_gate_total{decision}``: heavy ticks the gate let idle (no LLM call) or think
    - ``being_mind_thoughts_total{outcome}`` and ``being_mind_thought_seconds`` (histogram)
    - ``being_mind_step_seconds{step,outcome}`` (histogram): monologue, decision, act...
    - ``being_mind_tool_calls_total{tool,outcome}``
    - ``being_mind_overlap_skips_total``: heavy ticks skipped because a thought was still running
    - ``being_mind_goals_open`` (gauge): open goals in the being's memory, read when scraped
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.gate = Counter(
            "being_mind_gate",
            "Heavy ticks by the gate's decision: idle (no LLM call) or think",
            ["decision"],
            registry=registry,
        )
        for decision in GATE_DECISIONS:
            self.gate.labels(decision=decision)
        self.thoughts = Counter("being_mind_thoughts", "Thoughts by outcome", ["outcome"], registry=registry)
        self.thought_seconds = Histogram(
            "being_mind_thought_seconds", "Duration of whole thoughts", buckets=_SECONDS, registry=registry
        )
        self.steps = Histogram(
            "being_mind_step_seconds",
            "Duration of a thought's steps, by step and outcome",
            ["step", "outcome"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.tools = Counter(
            "being_mind_tool_calls", "Tool calls by tool and outcome", ["tool", "outcome"], registry=registry
        )
        self.overlaps = Counter(
            "being_mind_overlap_skips", "Heavy ticks skipped because a thought was still running", registry=registry
        )
        self.goals_open = Gauge("being_mind_goals_open", "Open goals in the being's memory", registry=registry)

    def watch_goals(self, count: Callable[[], int]) -> None:
        """Read the open goals' count from ``count`` at each scrape (on the event loop, where /metrics runs)."""
        self.goals_open.set_function(lambda: float(count()))

    def on_gate(self, decision: Literal["idle", "think"]) -> None:
        self.gate.labels(decision=decision).inc()

    def on_thought(self, outcome: str, duration_s: float) -> None:
        self.thoughts.labels(outcome=outcome).inc()
        self.thought_seconds.observe(duration_s)

    def on_step(self, step: str, outcome: str, duration_s: float) -> None:
        self.steps.labels(step=step, outcome=outcome).observe(duration_s)

    def on_tool(self, tool: str, outcome: str) -> None:
        self.tools.labels(tool=tool, outcome=outcome).inc()

    def on_overlap_skip(self) -> None:
        self.overlaps.inc()
