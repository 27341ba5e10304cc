"""``goal``: the lifecycle (add, update, complete, drop), ids derived from the thought, due times, bad arguments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.mind.tools import ToolResult, parse_due
from sinks import DuckWriter, EpisodeRow, GoalRow, open_database, read_goals
from streams import stable_id
from tests.agent.mind.tools.tool_support import NOW, call, context, failed_with, of_type
from tests.sinks.mind_support import sink


def goal_of(result: ToolResult) -> GoalRow:
    assert result.outcome == "success", result
    (row,) = of_type(result, GoalRow)
    assert isinstance(row, GoalRow)
    return row


def test_the_lifecycle_add_update_complete_and_drop() -> None:
    added = call("goal", {"op": "add", "text": "remind Ana to stretch", "due": "in 2 hours"})
    g = goal_of(added)
    assert g == GoalRow(
        id=stable_id("thought-1", "remind Ana to stretch"),
        text="remind Ana to stretch",
        status="open",
        due=NOW + timedelta(hours=2),
        created=NOW,
        done=None,
        time=NOW,
        source="mind",
    )
    (episode,) = of_type(added, EpisodeRow)
    assert episode.type == "mind.goal"
    assert episode.data == {
        "op": "add",
        "id": g.id,
        "text": g.text,
        "status": "open",
        "due": "2026-03-01T14:00:00+00:00",
    }

    later = NOW + timedelta(minutes=30)
    ctx = context(now=later, thought_id="thought-2", goals={g.id: g})
    updated = goal_of(call("goal", {"op": "update", "id": g.id, "due": "2026-03-01T18:00:00Z"}, ctx))
    assert (updated.text, updated.due, updated.created, updated.time) == (
        g.text,
        datetime(2026, 3, 1, 18, tzinfo=UTC),
        NOW,
        later,
    )
    renamed = goal_of(call("goal", {"op": "update", "id": g.id, "text": "remind Ana to walk"}, ctx))
    assert (renamed.text, renamed.due, renamed.id) == ("remind Ana to walk", g.due, g.id)

    done = goal_of(call("goal", {"op": "complete", "id": g.id}, ctx))
    assert (done.status, done.done, done.id, done.created) == ("done", later, g.id, NOW)
    dropped = goal_of(call("goal", {"op": "drop", "id": g.id}, ctx))
    assert (dropped.status, dropped.done) == ("dropped", later)


def test_adding_a_goal_already_open_changes_nothing() -> None:
    g = goal_of(call("goal", {"op": "add", "text": "Water the plants"}))
    again = call("goal", {"op": "add", "text": "water  the PLANTS"}, context(thought_id="t9", goals={g.id: g}))
    assert again.outcome == "success" and again.rows == () and again.data["id"] == g.id


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"op": "add"}, "'text' is a required property"),
        ({"op": "add", "text": "x", "id": "mine"}, "should not be valid"),
        ({"op": "complete"}, "'id' is a required property"),
        ({"op": "finish", "id": "g"}, "'finish' is not one of"),
        ({"op": "complete", "id": "nope"}, "id: no open goal 'nope' (open: none)"),
        ({"op": "add", "text": "x", "due": "tomorrow-ish"}, "due: expected an ISO 8601 time"),
        ({"op": "add", "text": "x", "due": "2020-01-01T00:00:00Z"}, "due: expected a time after now"),
        ({"op": "add", "text": "x", "due": "in 400 days"}, "at most 366 days ahead"),
        ({"op": "add", "text": "x", "due": "in 0 minutes"}, "a count >= 1"),
        ({"op": "add", "text": "x" * 501}, "text: expected maxLength 500"),
        ({"op": "add", "text": "x", "priority": 1}, "Additional properties"),
    ],
)
def test_bad_goal_arguments_are_a_failure_with_a_dead_letter(arguments: dict[str, object], says: str) -> None:
    assert says in failed_with(call("goal", arguments), "invalid_arguments").reason


def test_an_update_needs_something_to_change() -> None:
    g = goal_of(call("goal", {"op": "add", "text": "x"}))
    result = call("goal", {"op": "update", "id": g.id}, context(goals={g.id: g}))
    assert "expected a new text or due, got neither" in failed_with(result, "invalid_arguments").reason


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("in 1 minute", NOW + timedelta(minutes=1)),
        ("in 90 Minutes", NOW + timedelta(minutes=90)),
        ("  in 3 days ", NOW + timedelta(days=3)),
        ("2026-03-01T13:00:00", datetime(2026, 3, 1, 13, tzinfo=UTC)),
        ("2026-03-01T15:00:00+02:00", datetime(2026, 3, 1, 13, tzinfo=UTC)),
    ],
)
def test_due_accepts_iso_and_relative_times(text: str, due: datetime) -> None:
    assert parse_due(text, NOW) == due


def test_a_goal_round_trips_through_the_real_sink(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    added = call("goal", {"op": "add", "text": "summarise the day", "due": "in 6 hours"})
    sink(writer, added.rows)
    g = goal_of(added)
    (stored,) = writer.call("read", lambda con: read_goals(con, status="open"), timeout_s=10)
    assert stored == g
    done = call("goal", {"op": "complete", "id": g.id}, context(now=NOW + timedelta(hours=6), goals={g.id: stored}))
    sink(writer, done.rows)
    assert writer.call("read", lambda con: read_goals(con, status="open"), timeout_s=10) == []
    (finished,) = writer.call("read", read_goals, timeout_s=10)
    assert finished == goal_of(done) and finished.done == NOW + timedelta(hours=6)
    writer.close()
