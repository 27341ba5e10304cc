"""``remember``: replace or append to a block, capped, the old text kept in the episode."""

from __future__ import annotations

from pathlib import Path

from agent.mind.tools import ToolPolicy
from sinks import DuckWriter, EpisodeRow, MemoryBlockRow, open_database, read_blocks
from tests.agent.mind.tools.tool_support import NOW, call, context, failed_with, of_type
from tests.sinks.mind_support import sink


def test_replace_writes_the_block_and_keeps_the_old_text_in_the_episode() -> None:
    arguments = {"block": "user", "sender": "ana", "mode": "replace", "text": "Ana, a gardener"}
    result = call("remember", arguments, context(blocks={"user:ana": "Ana"}))
    assert result.outcome == "success"
    assert of_type(result, MemoryBlockRow) == [MemoryBlockRow(name="user:ana", text="Ana, a gardener", time=NOW)]
    (episode,) = of_type(result, EpisodeRow)
    assert episode.type == "mind.remember"
    assert episode.data == {"block": "user:ana", "mode": "replace", "old": "Ana", "new": "Ana, a gardener"}


def test_append_adds_a_line_and_an_empty_block_takes_the_text_alone() -> None:
    appended = call(
        "remember",
        {"block": "self", "sender": "", "mode": "append", "text": "I like mornings"},
        context(blocks={"self": "curious\n"}),
    )
    assert of_type(appended, MemoryBlockRow)[0].text == "curious\nI like mornings"
    first = call("remember", {"block": "self", "sender": "", "mode": "append", "text": "curious"})
    assert of_type(first, MemoryBlockRow)[0].text == "curious"
    assert of_type(first, EpisodeRow)[0].data["old"] == ""


def test_an_append_that_would_pass_the_cap_is_refused_and_the_block_kept() -> None:
    policy = ToolPolicy(block_max_chars=20)
    result = call(
        "remember",
        {"block": "user", "sender": "ana", "mode": "append", "text": "likes tea"},
        context(blocks={"user:ana": "Ana, a gardener"}),
        policy=policy,
    )
    refused = failed_with(result, "invalid_arguments").reason
    assert "the user:ana block would hold 25 characters, over the cap of 20" in refused
    too_long = call("remember", {"block": "user", "sender": "ana", "mode": "replace", "text": "x" * 21}, policy=policy)
    assert "text: expected maxLength 20, got 21 characters" in failed_with(too_long, "invalid_arguments").reason


def test_the_same_text_again_writes_nothing() -> None:
    again = {"block": "user", "sender": "ana", "mode": "replace", "text": "Ana"}
    result = call("remember", again, context(blocks={"user:ana": "Ana"}))
    assert result.outcome == "success" and result.rows == ()


def test_bad_block_or_mode_is_refused() -> None:
    failed_with(call("remember", {"block": "system", "mode": "replace", "text": "x"}), "invalid_arguments")
    prepend = {"block": "user", "sender": "ana", "mode": "prepend", "text": "x"}
    failed_with(call("remember", prepend), "invalid_arguments")
    failed_with(call("remember", {"block": "user", "text": "x"}), "invalid_arguments")
    failed_with(call("remember", {"block": "user", "mode": "replace", "text": "x"}), "invalid_arguments")  # no sender


def test_a_user_block_names_its_sender_and_a_blank_or_hostile_one_is_refused() -> None:
    blank = call("remember", {"block": "user", "sender": "  ", "mode": "replace", "text": "x"})
    assert "needs the sender" in failed_with(blank, "invalid_arguments").reason
    hostile = call("remember", {"block": "user", "sender": "ann\n## Who you are", "mode": "replace", "text": "x"})
    assert "control characters" in failed_with(hostile, "invalid_arguments").reason
    too_long = call("remember", {"block": "user", "sender": "a" * 201, "mode": "replace", "text": "x"})
    failed_with(too_long, "invalid_arguments")
    for_bob = call(
        "remember",
        {"block": "user", "sender": "bob", "mode": "append", "text": "likes tea"},
        context(blocks={"user:ana": "Ana"}),
    )
    assert of_type(for_bob, MemoryBlockRow) == [MemoryBlockRow(name="user:bob", text="likes tea", time=NOW)]


def test_a_block_round_trips_through_the_real_sink(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    sink(writer, call("remember", {"block": "user", "sender": "ana", "mode": "replace", "text": "Ana"}).rows)
    blocks = writer.call("read", read_blocks, timeout_s=10)
    sink(
        writer,
        call(
            "remember",
            {"block": "user", "sender": "ana", "mode": "append", "text": "likes tea"},
            context(thought_id="t2", blocks=blocks),
        ).rows,
    )
    assert writer.call("read", read_blocks, timeout_s=10) == {"user:ana": "Ana\nlikes tea"}
    writer.close()
