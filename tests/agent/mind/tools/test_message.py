"""``message``: a being.message episode; refused in quiet hours and past the hourly limit (on the context's clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from agent.mind.tools import ToolPolicy
from sinks import DeadLetterRow, EpisodeRow
from tests.agent.mind.tools.tool_support import NOW, call, context, of_type


def test_a_message_is_a_being_message_episode() -> None:
    result = call("message", {"text": "Time to stretch!"})
    assert result.outcome == "success"
    (episode,) = of_type(result, EpisodeRow)
    assert (episode.type, episode.time, episode.outcome) == ("being.message", NOW, "success")
    assert episode.data == {"text": "Time to stretch!", "thought_id": "thought-1"}


def test_quiet_hours_refuse_a_message_without_a_dead_letter() -> None:
    policy = ToolPolicy(active_hours=(8, 22))
    at = {
        h: call("message", {"text": "hi"}, context(now=datetime(2026, 3, 1, h, 30, tzinfo=UTC)), policy=policy)
        for h in range(24)
    }
    assert [h for h, r in at.items() if r.outcome == "success"] == list(range(8, 22))
    quiet = at[23]
    assert quiet.outcome == "refused" and quiet.rows == () and "quiet hours" in quiet.summary
    assert quiet.data == {"reason": "quiet_hours", "hour": 23}
    assert of_type(quiet, DeadLetterRow) == []


def test_quiet_hours_are_read_in_utc_whatever_the_zone_of_now() -> None:
    policy = ToolPolicy(active_hours=(8, 22))
    tokyo = timezone(timedelta(hours=9))
    local_morning = datetime(2026, 3, 2, 7, 0, tzinfo=tokyo)  # 22:00 UTC the day before: quiet
    assert call("message", {"text": "hi"}, context(now=local_morning), policy=policy).outcome == "refused"


def test_quiet_hours_over_midnight() -> None:
    policy = ToolPolicy(active_hours=(20, 2))
    assert (
        call("message", {"text": "hi"}, context(now=datetime(2026, 3, 1, 1, tzinfo=UTC)), policy=policy).outcome
        == "success"
    )
    assert (
        call("message", {"text": "hi"}, context(now=datetime(2026, 3, 1, 2, tzinfo=UTC)), policy=policy).outcome
        == "refused"
    )


def test_the_hourly_limit_refuses_the_message_past_it() -> None:
    policy = ToolPolicy(messages_per_hour=2)
    assert call("message", {"text": "1"}, context(messages_last_hour=1), policy=policy).outcome == "success"
    refused = call("message", {"text": "3"}, context(messages_last_hour=2), policy=policy)
    assert refused.outcome == "refused" and refused.rows == ()
    assert refused.data == {"reason": "rate", "messages_last_hour": 2}
    never = ToolPolicy(messages_per_hour=0)
    assert call("message", {"text": "x"}, policy=never).outcome == "refused"


def test_a_message_over_its_cap_is_invalid() -> None:
    result = call("message", {"text": "x" * 2_001})
    assert result.outcome == "failure" and len(of_type(result, DeadLetterRow)) == 1
