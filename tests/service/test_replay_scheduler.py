"""ReplayScheduler: reactivex's scheduling contract on the replay's own light queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import reactivex
from reactivex import operators as ops
from reactivex.disposable import Disposable

from service.replay import ReplayScheduler

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_items_run_by_due_time_and_in_scheduling_order_within_one_time() -> None:
    scheduler = ReplayScheduler(T0)
    ran: list[tuple[str, datetime]] = []

    def note(name: str) -> Any:
        return lambda s, _state: ran.append((name, s.now))

    scheduler.schedule_relative(2.0, note("late"))
    scheduler.schedule_relative(1.0, note("first"))
    scheduler.schedule_relative(1.0, note("second"))
    scheduler.schedule_absolute(T0 + timedelta(seconds=1), note("third"))
    assert scheduler.step() == T0 + timedelta(seconds=1)
    assert ran == [(n, T0 + timedelta(seconds=1)) for n in ("first", "second", "third")]
    assert scheduler.step() == T0 + timedelta(seconds=2)
    assert ran[-1] == ("late", T0 + timedelta(seconds=2))
    assert scheduler.step() is None and scheduler.next_due() is None


def test_work_scheduled_now_by_a_step_runs_in_that_step() -> None:
    scheduler = ReplayScheduler(T0)
    ran: list[str] = []

    def outer(s: Any, _state: Any) -> None:
        ran.append("outer")
        s.schedule(lambda _s, _st: ran.append("inner"))

    scheduler.schedule_relative(5.0, outer)
    assert scheduler.step() == T0 + timedelta(seconds=5)
    assert ran == ["outer", "inner"]


def test_a_disposed_item_never_runs_and_never_stops_the_clock() -> None:
    scheduler = ReplayScheduler(T0)
    ran: list[str] = []
    early = scheduler.schedule_relative(1.0, lambda _s, _st: ran.append("early"))
    scheduler.schedule_relative(3.0, lambda _s, _st: ran.append("late"))
    early.dispose()
    early.dispose()  # twice is harmless
    assert scheduler.next_due() == T0 + timedelta(seconds=3)
    assert scheduler.step() == T0 + timedelta(seconds=3)
    assert ran == ["late"] and scheduler.now == T0 + timedelta(seconds=3)


def test_what_an_action_returns_is_disposed_with_its_item() -> None:
    scheduler = ReplayScheduler(T0)
    disposed: list[str] = []
    item = scheduler.schedule_relative(1.0, lambda _s, _st: Disposable(lambda: disposed.append("returned")))
    scheduler.step()
    assert disposed == []
    item.dispose()
    assert disposed == ["returned"]


def test_an_item_disposed_while_it_runs_disposes_what_it_returns() -> None:
    scheduler = ReplayScheduler(T0)
    disposed: list[str] = []
    holder: list[Any] = []

    def action(_s: Any, _st: Any) -> Any:
        holder[0].dispose()
        return Disposable(lambda: disposed.append("returned"))

    holder.append(scheduler.schedule_relative(1.0, action))
    scheduler.step()
    assert disposed == ["returned"]


def test_reactivex_operators_and_advance_to_run_on_it() -> None:
    scheduler = ReplayScheduler(T0)
    seen: list[tuple[int, datetime]] = []
    reactivex.interval(10.0).pipe(ops.take(3)).subscribe(lambda n: seen.append((n, scheduler.now)), scheduler=scheduler)
    scheduler.advance_to(T0 + timedelta(seconds=25))
    assert seen == [(0, T0 + timedelta(seconds=10)), (1, T0 + timedelta(seconds=20))]
    scheduler.advance_by(timedelta(seconds=10))
    assert seen[-1] == (2, T0 + timedelta(seconds=30))
    assert scheduler.now == T0 + timedelta(seconds=35)


def test_steps_runs_instants_in_turn_up_to_its_limit() -> None:
    scheduler = ReplayScheduler(T0)
    ran: list[tuple[int | None, datetime]] = []
    for n in (1, 2, 3, 4):
        scheduler.schedule_relative(float(n), lambda s, state: ran.append((state, s.now)), n)
    assert scheduler.steps(3, lambda: False) == T0 + timedelta(seconds=3)
    assert ran == [(n, T0 + timedelta(seconds=n)) for n in (1, 2, 3)]
    assert scheduler.steps(10, lambda: False) == T0 + timedelta(seconds=4)
    assert scheduler.steps(10, lambda: False) is None and scheduler.now == T0 + timedelta(seconds=4)


def test_steps_stops_after_the_instant_whose_work_asks_it_to() -> None:
    scheduler = ReplayScheduler(T0)
    ran: list[str] = []
    wanted = [False]

    def call(_s: Any, _state: Any) -> None:
        ran.append("call")
        wanted[0] = True
        scheduler.schedule(lambda _s, _st: ran.append("same instant"))

    scheduler.schedule_relative(1.0, lambda _s, _st: ran.append("before"))
    scheduler.schedule_relative(2.0, call)
    scheduler.schedule_relative(3.0, lambda _s, _st: ran.append("after"))
    assert scheduler.steps(10, lambda: wanted[0]) == T0 + timedelta(seconds=2)
    assert ran == ["before", "call", "same instant"]
    assert scheduler.next_due() == T0 + timedelta(seconds=3)
