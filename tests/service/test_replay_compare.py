"""being replay --compare: one list of differences, from which the verdict, the JSON and the text are read."""

from __future__ import annotations

from typing import Any

from service.replay import compare_episodes, render_comparison


def episode(n: int, kind: str = "user.message", **changes: Any) -> dict[str, Any]:
    base = {
        "id": f"ep{n}",
        "time": f"2026-03-01T09:00:{n % 60:02d}.000000Z",
        "type": kind,
        "outcome": "success",
        "description": f"message {n}",
    }
    return {**base, **changes}


def test_the_same_episodes_are_identical() -> None:
    episodes = [episode(n) for n in range(5)]
    result = compare_episodes(episodes, list(reversed(episodes)))
    assert result.identical
    assert result.differences == ()
    assert result.to_json()["differences"] == 0
    assert "(identical)" in render_comparison(result)


def test_duplicated_ids_are_a_difference_and_never_identical() -> None:
    """A replay of a crash recovery gave 230 rows for 130 ids, and --compare said identical."""
    baseline = [episode(n) for n in range(130)]
    replayed = baseline + [episode(n, time="2026-03-01T09:05:00.000000Z") for n in range(100)]
    result = compare_episodes(baseline, replayed)
    assert not result.identical
    assert result.counts == [
        {"type": "user.message", "outcome": "success", "recording": 130, "replay": 230, "delta": 100}
    ]
    assert len(result.only_in_b) == 100 and all(e["duplicate_id"] for e in result.only_in_b)
    assert result.only_in_a == [] and result.changed == []
    shown = result.to_json()
    assert shown["identical"] is False
    assert shown["differences"] == 101  # the count row and the hundred copies
    assert shown["only_in_total"] == {"recording": 0, "replay": 100}
    assert len(shown["only_in"]["replay"]) == 50  # cut at the limit, and says how many there were
    text = render_comparison(result)
    assert "not identical: counts differ for 1 type/outcome, 100 only in replay" in text
    assert "only in replay (100, 50 shown):" in text and "(duplicate id)" in text


def test_a_duplicate_is_never_matched_by_type_and_time_to_another_episode() -> None:
    baseline = [episode(1), episode(2, id="legacy-7", time="2026-03-01T09:05:00.000000Z")]
    replayed = [episode(1), episode(1, time="2026-03-01T09:05:00.000000Z")]
    result = compare_episodes(baseline, replayed)
    assert [e["id"] for e in result.only_in_a] == ["legacy-7"]
    assert [e["id"] for e in result.only_in_b] == ["ep1"]
    assert not result.identical


def test_a_count_difference_alone_makes_it_not_identical() -> None:
    """Equal ids on both sides, yet one side holds an extra copy: the counts table shows it."""
    baseline = [episode(1), episode(1)]
    replayed = [episode(1)]
    result = compare_episodes(baseline, replayed)
    assert [d.kind for d in result.differences] == ["count", "only_in_a"]
    assert result.only_in_a[0]["duplicate_id"] is True
    assert not result.identical


def test_unmatched_ids_are_matched_by_type_and_time_as_before() -> None:
    baseline = [episode(1, id="legacy-1"), episode(2, id="legacy-2", outcome="failure")]
    replayed = [episode(1), episode(2)]
    result = compare_episodes(baseline, replayed)
    assert result.only_in_a == [] and result.only_in_b == []
    assert [(c["id"], c["outcome"]) for c in result.changed] == [("legacy-2", ["failure", "success"])]
    assert [d.kind for d in result.differences] == ["count", "count", "changed"]


def test_runtime_episodes_are_left_out_and_counted() -> None:
    result = compare_episodes([episode(1), episode(9, "system.start")], [episode(1)])
    assert result.identical and result.ignored == 1
