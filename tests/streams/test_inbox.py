"""The inbox source: claim, read (also what is appended later), acknowledge, let go; with backpressure."""

from __future__ import annotations

from pathlib import Path

from streams import INVALID_INPUT, InboxPolicy
from tests.streams.inbox_support import QUIET, Harness, append, harness_on


def test_lines_become_events_with_the_scheduler_time(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "hello\n!URGENT the house is on fire\n")
    path = harness.path
    events = harness.tick(5.0)
    assert [e.type for e in events] == ["user.message", "user.urgent"]
    assert events[0].payload["text"] == "hello"
    assert events[1].payload["text"] == "the house is on fire"
    assert {e.time for e in events} == {harness.scheduler.now}
    assert all(e.source == "inbox" and e.payload["recovered"] is False for e in events)
    assert not path.exists()


def test_a_claim_is_deleted_once_everything_is_acknowledged_and_it_is_quiet(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "a\nb\nc\n")
    events = harness.tick(1.0)
    harness.ack(events[:2])
    harness.tick(1.0 + QUIET + 1)
    assert len(harness.claimed()) == 1  # one event is not acknowledged yet
    harness.ack(events[2:])
    harness.tick(1.0 + QUIET + 2)
    assert harness.claimed() == []


def test_a_claim_is_kept_until_quiet_even_when_acknowledged(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "a\n")
    harness.ack(harness.tick(1.0))
    harness.tick(1.5)
    assert len(harness.claimed()) == 1
    harness.tick(1.0 + QUIET)
    assert harness.claimed() == []


def test_lines_written_through_a_handle_held_across_the_claim_are_read(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    with path.open("a", encoding="utf-8") as writer:  # a writer that keeps the file open
        append(writer, "first\n")
        harness = Harness(path)
        first = harness.tick(1.0)
        append(writer, "second\n")
        harness.ack(first)
        second = harness.tick(2.0)
    assert [e.payload["text"] for e in first + second] == ["first", "second"]
    assert second[0].payload["line"] == 2
    harness.ack(second)
    harness.tick(2.0 + QUIET)
    assert harness.claimed() == []


def test_a_line_still_being_written_waits_for_its_newline_or_for_quiet(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    with path.open("a", encoding="utf-8") as writer:
        append(writer, "done\nhalf a li")
        harness = Harness(path)
        assert [e.payload["text"] for e in harness.tick(1.0)] == ["done"]
        append(writer, "ne\nno newline at the end")
        assert [e.payload["text"] for e in harness.tick(1.5)] == ["half a line"]
    assert harness.tick(2.0) == []  # the file changed at 1.5: not quiet yet
    assert [e.payload["text"] for e in harness.tick(1.5 + QUIET)] == ["no newline at the end"]


def test_messages_appended_after_a_claim_go_to_a_new_claim(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "first\n")
    path = harness.path
    first = harness.tick(1.0)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("second\n")
    second = harness.tick(2.0)
    assert [e.payload["text"] for e in first + second] == ["first", "second"]
    assert len({e.id for e in first + second}) == 2
    assert len(harness.claimed()) == 2


def test_backpressure_holds_events_until_earlier_ones_are_acknowledged(tmp_path: Path) -> None:
    harness = harness_on(
        tmp_path, "".join(f"m{n}\n" for n in range(10)), InboxPolicy(max_pending_events=3, quiet_s=QUIET)
    )
    path = harness.path
    first = harness.tick(1.0)
    assert [e.payload["text"] for e in first] == ["m0", "m1", "m2"]
    assert harness.tick(2.0) == []
    harness.ack(first[:2])
    assert [e.payload["text"] for e in harness.tick(3.0)] == ["m3", "m4"]
    path.write_text("later\n", encoding="utf-8")
    harness.tick(4.0)
    assert path.exists()  # no new claim while the current one still has lines to send


def test_a_crash_before_the_ack_replays_the_claim_marked_recovered(tmp_path: Path) -> None:
    crashed = harness_on(tmp_path, "keep me\n")
    path = crashed.path
    before = crashed.tick(1.0)
    crashed.subscription.dispose()  # the process died: no ack ever came...
    crashed.state.close()  # ...and its files were closed

    restarted = Harness(path)
    after = restarted.tick(100.0)
    assert [e.payload["text"] for e in after] == ["keep me"]
    assert [e.id for e in after] == [e.id for e in before]
    assert after[0].payload["recovered"] is True
    restarted.ack(after)
    restarted.tick(100.0 + QUIET)
    assert restarted.claimed() == []


def test_acknowledgements_after_the_source_stopped_still_release_the_claim(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "a\nb\n")
    events = harness.tick(1.0)
    harness.subscription.dispose()  # the sources stop at shutdown...
    harness.ack(events)  # ...while the drain commits the rows
    claimed = harness.claimed()
    assert harness.state.release_finished() == claimed
    assert harness.claimed() == []


def test_release_keeps_claims_that_are_not_done(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "a\nb\n")
    events = harness.tick(1.0)
    harness.ack(events[:1])
    assert harness.state.release_finished() == []
    assert len(harness.claimed()) == 1


def test_undecodable_line_becomes_invalid_input_and_is_acknowledged_like_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_bytes(b"fine\n\xff\xfe\xfd broken\n")
    harness = Harness(path)
    events = harness.tick(1.0)
    assert [e.type for e in events] == ["user.message", INVALID_INPUT]
    assert "undecodable" in events[1].payload["reason"]
    assert events[1].payload["raw"] == "\\xff\\xfe\\xfd broken"


def test_the_predecessors_utf16_inbox(tmp_path: Path, legacy_dir: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_bytes((legacy_dir / "inbox-utf16.txt").read_bytes())
    (event,) = Harness(path).tick(1.0)
    assert event.payload["text"] == "Привет! Расскажи о своих возможностях"
    assert event.payload["encoding"] == "utf-16-le"


def test_a_utf16_line_without_its_newline_is_read_once_quiet(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.write_bytes(b"\xff\xfe" + "one\r\ntwo".encode("utf-16-le"))
    harness = Harness(path)
    assert [e.payload["text"] for e in harness.tick(1.0)] == ["one"]
    assert [e.payload["text"] for e in harness.tick(1.0 + QUIET)] == ["two"]


def test_a_file_larger_than_max_bytes_is_read_whole_in_pieces(tmp_path: Path) -> None:
    # max_bytes used to set such a file aside whole as ".rejected"; now it only bounds a read.
    path = tmp_path / "inbox.txt"
    path.write_bytes(b"".join(b"line %04d\n" % n for n in range(500)))  # 5000 bytes
    harness = Harness(path, InboxPolicy(max_bytes=1024, max_line_bytes=100, max_pending_events=1000))
    events = harness.tick(1.0)
    assert [e.payload["text"] for e in events] == [f"line {n:04d}" for n in range(500)]
    assert list(tmp_path.glob("inbox.txt.*.rejected")) == []


def test_missing_or_empty_inbox_emits_nothing(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    harness = Harness(path)
    assert harness.tick(1.0) == []
    path.write_text("", encoding="utf-8")
    assert harness.tick(2.0) == []
    path.write_text("\n\n\r\n", encoding="utf-8")  # truly empty lines (whitespace-only ones are dead letters)
    assert harness.tick(3.0) == []
    harness.tick(3.0 + QUIET)
    assert harness.claimed() == []


def test_file_system_errors_are_reported_and_the_next_tick_tries_again(tmp_path: Path) -> None:
    folder = tmp_path / "box"
    folder.write_text("a file where the inbox's folder should be", encoding="utf-8")
    path = folder / "inbox.txt"
    harness = Harness(path)
    assert harness.tick(1.0) == []
    assert harness.errors and harness.errors[0][0] == "read inbox"
    assert isinstance(harness.errors[0][1], NotADirectoryError)
    assert harness.errors[0][1].filename == str(path)
    folder.unlink()
    folder.mkdir()
    path.write_text("back\n", encoding="utf-8")
    assert [e.payload["text"] for e in harness.tick(2.0)] == ["back"]


def test_a_directory_at_the_inbox_path_is_one_dead_letter_and_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    path.mkdir()
    harness = Harness(path)
    (event,) = harness.tick(1.0)
    assert event.type == INVALID_INPUT
    assert event.payload["reason"].startswith("not_regular: inbox.txt is a directory")
    assert harness.tick(2.0) == [] and harness.tick(3.0) == []
    assert [what for what, _ in harness.errors] == ["read inbox"]
    path.rmdir()
    path.write_text("back\n", encoding="utf-8")
    assert [e.payload["text"] for e in harness.tick(4.0)] == ["back"]


def test_an_inbox_name_with_glob_characters_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "in[box].txt"
    path.write_text("odd name\n", encoding="utf-8")
    Harness(path).tick(1.0)
    assert [e.payload["text"] for e in Harness(path).tick(50.0)] == ["odd name"]


def test_completes_with_its_trigger(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "inbox.txt")
    harness.trigger.on_completed()
    assert harness.completed


def test_claims_in_the_same_instant_get_distinct_names(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    harness = Harness(path)
    path.write_text("one\n", encoding="utf-8")
    first = harness.tick(1.0)
    path.write_text("two\n", encoding="utf-8")
    second = harness.tick(1.0)
    assert [e.payload["text"] for e in first + second] == ["one", "two"]
    assert len(harness.claimed()) == 2


def test_a_bare_urgent_prefix_is_an_empty_dead_letter(tmp_path: Path) -> None:
    events = harness_on(tmp_path, "!URGENT\n!URGENT   \n!URGENT\u200b\n!URGENT now\n   \n").tick(1.0)
    assert [e.type for e in events] == [INVALID_INPUT, INVALID_INPUT, INVALID_INPUT, "user.urgent", INVALID_INPUT]
    assert all(str(e.payload["reason"]).startswith("empty: ") for e in events if e.type == INVALID_INPUT)
    assert events[0].payload["raw"] == "!URGENT" and events[0].payload["line"] == 1
    assert events[3].payload["text"] == "now"
