"""``reflect``: principles from the recent past, each stored once (normalised), with the evidence in the episode."""

from __future__ import annotations

from pathlib import Path

from sinks import DeadLetterRow, DuckWriter, EpisodeRow, PrincipleRow, open_database, read_principles
from tests.agent.mind.tools.tool_support import NOW, call, context, failed_with, of_type
from tests.sinks.mind_support import sink


def ep(n: int, outcome: str) -> EpisodeRow:
    return EpisodeRow(id=f"e{n}", time=NOW, type="user.reply", description=f"reply {n}", outcome=outcome)


RECENT = (ep(1, "success"), ep(2, "fallback"), ep(3, "success"), ep(4, "failure"))


def test_reflect_stores_new_principles_and_cites_the_failures() -> None:
    args = {
        "principles": ["Answer shortly when the model is slow.", "Check the breaker first."],
        "because": "two fallbacks",
    }
    result = call("reflect", args, context(recent=RECENT))
    assert result.outcome == "success"
    assert [p.text for p in of_type(result, PrincipleRow)] == [
        "Answer shortly when the model is slow.",
        "Check the breaker first.",
    ]
    assert all(p.source == "reflect" and p.time == NOW for p in of_type(result, PrincipleRow))
    (episode,) = of_type(result, EpisodeRow)
    assert episode.type == "mind.reflect"
    assert episode.data["failures"] == 2 and episode.data["successes"] == 2
    assert episode.data["evidence"] == ["e2", "e4"] and episode.data["because"] == "two fallbacks"


def test_a_principle_already_known_is_not_stored_again_whatever_its_case_and_spacing() -> None:
    ctx = context(recent=RECENT, principles=("Check the breaker first.",))
    result = call("reflect", {"principles": ["check  the BREAKER first.", "Be brief.", "be brief."]}, ctx)
    assert [p.text for p in of_type(result, PrincipleRow)] == ["Be brief."]
    assert of_type(result, EpisodeRow)[0].data["known"] == ["check the BREAKER first.", "be brief."]
    only_known = call("reflect", {"principles": ["Check the breaker first."]}, ctx)
    assert only_known.outcome == "success" and of_type(only_known, PrincipleRow) == []
    assert only_known.summary.startswith("already known")


def test_dead_letters_count_as_failures() -> None:
    letter = DeadLetterRow(id="d1", time=NOW, source="mind", reason="timeout: x", raw="{}")
    result = call("reflect", {"principles": ["Give tools time."]}, context(recent=(letter,)))
    assert of_type(result, EpisodeRow)[0].data["evidence"] == ["d1"]


def test_nothing_to_learn_from_is_refused() -> None:
    result = call("reflect", {"principles": ["Be kind."]}, context(recent=(ep(1, "skipped"),)))
    assert result.outcome == "refused" and result.rows == ()


def test_bad_reflect_arguments_are_refused() -> None:
    failed_with(call("reflect", {"principles": []}, context(recent=RECENT)), "invalid_arguments")
    failed_with(call("reflect", {"principles": ["a", "b", "c", "d"]}, context(recent=RECENT)), "invalid_arguments")
    failed_with(call("reflect", {"principles": ["x" * 301]}, context(recent=RECENT)), "invalid_arguments")
    failed_with(call("reflect", {"principle": "Be kind."}, context(recent=RECENT)), "invalid_arguments")


def test_principles_round_trip_through_the_real_sink_once(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    sink(writer, call("reflect", {"principles": ["Be brief."]}, context(recent=RECENT)).rows)
    # a second thought that has not seen the first's principle yet: the sink keeps it once
    sink(writer, call("reflect", {"principles": ["BE BRIEF."]}, context(thought_id="t2", recent=RECENT)).rows)
    assert writer.call("read", lambda con: [p.text for p in read_principles(con)], timeout_s=10) == ["Be brief."]
    writer.close()
