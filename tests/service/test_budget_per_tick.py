"""A call budget "until reset" (``window_s = 0``) is a budget per heavy tick: each heavy tick starts it again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from reactivex.subject import Subject

from service._assembly import Parts, assemble
from service.settings import MindSettings, ResilienceSettings, Settings, SharedLimitsSettings
from service.settings._resilience import BudgetSettings
from sinks import DuckWriter, open_database
from streams import HEAVY_TICK, LIGHT_TICK, Event
from tests.fake_chat import FakeChatBackend

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def tick(kind: str, n: int) -> Event:
    return Event(id=f"{kind}{n}", type=kind, time=T0 + timedelta(seconds=n), source="ticks", payload={"n": n})


def test_each_heavy_tick_gives_the_budget_back_and_a_light_tick_does_not(tmp_path: Path) -> None:
    budget = BudgetSettings(enabled=True, max_calls=2, window_s=0.0)
    settings = Settings(resilience=ResilienceSettings(budget=budget), mind=MindSettings(enabled=False))
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    events: Subject[Event] = Subject()
    try:
        assembled = assemble(settings, events, Parts(writer=writer, run_id="r", backend=FakeChatBackend()))
        assert assembled.protection is not None and assembled.protection.budget is not None
        calls = assembled.protection.budget
        subscription = assembled.committed.subscribe()
        calls.spend(0.0)
        calls.spend(0.0)
        assert calls.remaining(0.0) == 0
        events.on_next(tick(LIGHT_TICK, 1))
        assert calls.remaining(0.0) == 0
        events.on_next(tick(HEAVY_TICK, 2))
        assert calls.remaining(0.0) == 2
        subscription.dispose()
    finally:
        writer.close()


def test_a_budget_with_a_window_is_not_reset_by_heavy_ticks(tmp_path: Path) -> None:
    budget = BudgetSettings(enabled=True, max_calls=2, window_s=3600.0)
    settings = Settings(resilience=ResilienceSettings(budget=budget), mind=MindSettings(enabled=False))
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    events: Subject[Event] = Subject()
    try:
        assembled = assemble(settings, events, Parts(writer=writer, run_id="r", backend=FakeChatBackend()))
        assert assembled.protection is not None and assembled.protection.budget is not None
        calls = assembled.protection.budget
        subscription = assembled.committed.subscribe()
        calls.spend(0.0)
        events.on_next(tick(HEAVY_TICK, 1))
        assert calls.remaining(0.0) == 1
        subscription.dispose()
    finally:
        writer.close()


def test_a_shared_budget_until_reset_is_refused_naming_both_settings() -> None:
    with pytest.raises(ValueError, match=r"resilience\.budget\.window_s.*shared_limits"):
        ResilienceSettings(
            budget=BudgetSettings(enabled=True, max_calls=5, window_s=0.0),
            shared_limits=SharedLimitsSettings(backend="redis"),
        )
