"""``recall`` searches memory through the context and writes nothing; ``observe`` does nothing."""

from __future__ import annotations

from collections.abc import Sequence

from tests.agent.mind.tools.tool_support import call, context, failed_with


def test_recall_asks_the_context_and_its_summary_holds_what_was_found() -> None:
    asked: list[tuple[str, int]] = []

    def recall(query: str, k: int) -> Sequence[str]:
        asked.append((query, k))
        return ["Ana likes tea", "Ana\nwaters the plants on Sundays", "extra"][:k]

    result = call("recall", {"query": "what does Ana like", "k": 2}, context(recall=recall))
    assert asked == [("what does Ana like", 2)]
    assert result.outcome == "success" and result.rows == ()
    assert result.summary == "recalled 2 for 'what does Ana like': Ana likes tea | Ana waters the plants on Sundays"
    assert result.data["found"] == ["Ana likes tea", "Ana waters the plants on Sundays"]
    call("recall", {"query": "tea"}, context(recall=recall))
    assert asked[-1] == ("tea", 4)


def test_recall_with_nothing_found_or_no_memory() -> None:
    result = call("recall", {"query": "tea"})
    assert result.outcome == "success" and result.summary == "recalled nothing for 'tea'"


def test_recall_that_fails_is_a_failure_with_a_dead_letter() -> None:
    def broken(query: str, k: int) -> Sequence[str]:
        raise OSError("index gone")

    assert (
        "OSError: index gone"
        in failed_with(call("recall", {"query": "x"}, context(recall=broken)), "tool_error").reason
    )


def test_recall_keeps_at_most_k_even_when_the_memory_gives_more() -> None:
    result = call("recall", {"query": "x", "k": 1}, context(recall=lambda q, k: ["a", "b", "c"]))
    assert result.data["found"] == ["a"]


def test_observe_does_nothing_and_says_so() -> None:
    result = call("observe", {})
    assert result.outcome == "success" and result.rows == () and result.summary == "observed"
    assert call("observe", {"note": "all quiet"}).summary == "observed: all quiet"
    failed_with(call("observe", {"shell": "ls"}), "invalid_arguments")
