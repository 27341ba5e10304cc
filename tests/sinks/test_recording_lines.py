"""A recording's lines: bad ones become problems and the rest is read; order, repeats and times a replay cannot hold."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from sinks import (
    FORMAT_VERSION,
    read_recording,
)
from tests.sinks.recording_support import (
    T0,
    event,
    event_line,
    exchange_line,
    head,
    item,
    write_jsonl,
)


def test_bad_lines_become_problems_and_the_rest_is_read(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "rec.jsonl",
        [
            head(),
            item(event(0)),
            "{this is not json",
            json.dumps({"kind": "telemetry", "telemetry": {}}),
            json.dumps({"kind": "event", "event": {"id": "x", "type": "t"}}),
            '["a list"]',
            item(event(1)),
            '{"kind": "event", "event": {"id": "e2", "ty',
        ],
        last_newline=False,
    )
    recording = read_recording(path)
    assert [e.id for e in recording.events] == ["e0", "e1"]
    reasons = [p.reason for p in recording.problems]
    assert reasons[0].startswith("malformed line: not JSON")
    assert reasons[1] == "unknown item kind 'telemetry'"
    assert reasons[2].startswith("event: field 'time'")
    assert reasons[3] == "malformed line: not an object"
    assert reasons[4].startswith("truncated last line")
    assert [p.where for p in recording.problems] == [f"rec.jsonl:{n}" for n in (3, 4, 5, 6, 8)]


def test_a_newer_format_is_read_as_far_as_possible(tmp_path: Path) -> None:
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", [head(FORMAT_VERSION + 1), item(event(0))]))
    assert [e.id for e in recording.events] == ["e0"]
    assert "newer than this service reads" in recording.problems[0].reason


def test_events_out_of_order_are_put_back_within_the_window_and_refused_beyond_it(tmp_path: Path) -> None:
    lines = [
        head(),
        item(event(1, at=T0 + timedelta(seconds=100))),
        item(event(2, at=T0 + timedelta(seconds=70))),  # 30 s late: reordered
        item(event(3, at=T0 + timedelta(seconds=110))),
        item(event(4, at=T0 + timedelta(seconds=5))),  # 105 s late: refused
        item(event(5, at=T0 + timedelta(seconds=110))),
    ]
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", lines), reorder_window_s=60)
    assert [e.id for e in recording.events] == ["e2", "e1", "e3", "e5"]
    assert len(recording.problems) == 1
    assert "out of order" in recording.problems[0].reason and "e4" in recording.problems[0].raw


def test_malformed_exchanges_and_episodes_are_problems_not_crashes(tmp_path: Path) -> None:
    lines = [
        head(),
        json.dumps({"kind": "exchange", "exchange": {"key": "k"}}),
        json.dumps({"kind": "episode", "episode": {"id": 5}}),
        json.dumps({"kind": "episode", "episode": {"id": "a", "time": "2026-02-21T12:00:00", "type": "t"}}),
        item(event(0)),
    ]
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", lines), since=T0 - timedelta(days=1))
    assert recording.exchanges == []
    assert [p.reason.split(":")[0] for p in recording.problems] == ["exchange", "episode"]
    assert recording.episodes == []  # the zone-less time is outside any window
    assert [e.id for e in recording.events] == ["e0"]


def test_a_line_longer_than_the_limit_is_refused_without_holding_it(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with path.open("wb") as handle:
        handle.write(head().encode() + b"\n")
        handle.write(b'{"kind": "event", "event": "' + b"x" * (17 * 1024 * 1024) + b'"}\n')
        handle.write(item(event(0)).encode() + b"\n")
    recording = read_recording(path)
    assert [e.id for e in recording.events] == ["e0"]
    assert "longer than" in recording.problems[0].reason


def test_events_the_virtual_clock_cannot_hold_are_problems_naming_the_event_and_its_time(tmp_path: Path) -> None:
    lines = [
        head(),
        event_line("far", "9999-12-31T23:59:59+00:00"),
        event_line("first", "0001-01-01T00:00:00+00:00"),
        event_line("ancient", "0099-12-31T23:59:59+00:00"),
        event_line("before-utc", "0001-01-01T00:00:00+01:00"),
        item(event(0)),
    ]
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", lines))
    assert [e.id for e in recording.events] == ["e0"]
    problems = {p.where: p.reason for p in recording.problems}
    assert problems["event 'far'"].startswith(
        "9999-12-31T23:59:59+00:00 is outside the times a replay's virtual clock holds"
        " (0100-01-01T00:00:00+00:00 to 9900-01-01T00:00:00+00:00); not replayed"
    )
    assert "0001-01-01T00:00:00+00:00 is outside" in problems["event 'first'"]
    assert "0099-12-31T23:59:59+00:00 is outside" in problems["event 'ancient'"]
    assert "beyond the years 1 to 9999" in problems["rec.jsonl:5"]
    assert json.loads(next(p.raw for p in recording.problems if p.where == "event 'far'"))["id"] == "far"


def test_a_repeated_id_is_refused_unless_the_copy_is_a_recovery(tmp_path: Path) -> None:
    lines = [
        head(),
        event_line("a", "2026-02-21T12:00:00+00:00", "user.message", text="hi", recovered=False),
        event_line("a", "2026-02-21T12:00:00+00:00", "user.message", text="hi", recovered=False),  # a pasted line
        event_line("a", "2026-02-21T12:05:00+00:00", "user.message", text="hi", recovered=True),  # the restart
        event_line("a", "2026-02-21T12:06:00+00:00", "user.message", text="hi", recovered="yes"),
    ]
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", lines))
    assert [(e.id, e.payload["recovered"]) for e in recording.events] == [("a", False), ("a", True)]
    assert [p.where for p in recording.problems] == ["event 'a'", "event 'a'"]
    assert recording.problems[0].reason == (
        "at 2026-02-21T12:00:00+00:00: its id was already read (at 2026-02-21T12:00:00+00:00)"
        " and this copy does not say recovered: true; not replayed"
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (exchange_line(duration_s=float("nan")), "exchange: field duration_s: expected seconds"),
        (exchange_line(duration_s=float("inf")), "exchange: field duration_s: expected seconds"),
        (exchange_line(duration_s=-1), "exchange: field duration_s: expected seconds"),
        (exchange_line(duration_s=True), "exchange: field duration_s: expected seconds"),
        (exchange_line(first_chunk_s="soon"), "exchange: field first_chunk_s: expected seconds"),
        (exchange_line(error="boom"), "exchange: field error: expected an object or null"),
        (
            exchange_line(error={"type": "OverloadedError", "message": "busy", "retry_after_s": float("nan")}),
            "exchange: error.retry_after_s: expected seconds",
        ),
        (exchange_line(response={"content": 10**40}), "exchange: exchange.response.content: integer"),
        (exchange_line(response=json.loads("[" * 100 + "]" * 100)), "nested deeper than 64 levels"),
        (
            '{"kind": "exchange", "exchange": {"key": "k", "operation": "chat", "backend": "b", "request": {},'
            ' "duration_s": 1, "response": {"content": "\\ud800"}}}',
            "text is not valid Unicode",
        ),
        ('{"kind": "episode", "episode": {"id": "\\udc00", "time": "t", "type": "t"}}', "episode: episode.id: text"),
        (event_line("x", "2026-02-21T12:00:00+00:00", n=10**30), "event: field payload.n: integer"),
        (json.dumps({"kind": ["event"], "event": {}}), "unknown item kind ['event']"),
    ],
)
def test_exchanges_episodes_and_events_a_replay_could_not_store_are_problems(
    tmp_path: Path, line: str, reason: str
) -> None:
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", [head(), line, item(event(0))]))
    assert [e.id for e in recording.events] == ["e0"]
    assert recording.exchanges == [] and recording.episodes == []
    assert len(recording.problems) == 1
    assert recording.problems[0].reason.startswith(reason) or reason in recording.problems[0].reason
    assert recording.problems[0].where == "rec.jsonl:2"


def test_a_sound_exchange_with_a_retry_after_is_kept(tmp_path: Path) -> None:
    line = exchange_line(error={"type": "OverloadedError", "message": "busy", "retry_after_s": 2}, response=None)
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", [head(), line]))
    assert recording.problems == [] and len(recording.exchanges) == 1


@pytest.mark.parametrize("window", [float("nan"), float("inf"), -1.0])
def test_a_reorder_window_must_be_finite_seconds(tmp_path: Path, window: float) -> None:
    with pytest.raises(ValueError, match="reorder_window_s: expected a finite number of seconds >= 0"):
        read_recording(write_jsonl(tmp_path / "rec.jsonl", [head()]), reorder_window_s=window)


def test_a_huge_reorder_window_takes_any_order(tmp_path: Path) -> None:
    lines = [head(), item(event(1, at=T0 + timedelta(days=3650))), item(event(2, at=T0))]
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", lines), reorder_window_s=1e300)
    assert [e.id for e in recording.events] == ["e2", "e1"] and recording.problems == []


def test_the_fast_way_reads_a_recording_as_the_exact_way_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # every kind of event line, good and bad; the exact way is the reader with the fast way stepping aside
    good = [item(event(n)) for n in range(3)]
    odd = [
        '{"kind": "event", "event": {"id": "f", "type": "t", "time": "2026-02-21T12:00:05+00:00", "source": "s",'
        ' "payload": {"big": -9223372036854775809, "fine": 1.5}}}',
        '{"kind": "event", "event": {"id": "g", "type": "t", "time": "2026-02-21T12:00:06+00:00", "source": "s",'
        ' "payload": {"x": NaN}}}',
        '{"kind": "event", "event": {"id": "h", "type": "t", "time": "2026-02-21T12:00:07+00:00", "source": "s",'
        ' "payload": {"x": "\\ud800"}}}',
        '{"kind": "event", "event": {"id": "i", "type": "t", "time": "2026-02-21T12:00:08", "source": "s"}}',
        '{"kind": "event", "event": {"id": "j", "type": "t", "time": "2026-02-21T12:00:09+00:00", "source": "s",'
        ' "payload": {"x": 1e15, "y": "caf\\u00e9"}}}',
        item(event(1)),  # a repeat, not a recovery
        '{"kind": "event", "extra": 1, "event": {"id": "k", "type": "t", "time": "2026-02-21T12:00:10+00:00",'
        ' "source": "s", "payload": {}}}',
    ]
    path = write_jsonl(tmp_path / "rec.jsonl", [head(), *good, *odd, exchange_line()])
    fast = read_recording(path)
    monkeypatch.setattr("sinks._recording_read._plain_event_line", lambda _line: None)
    exact = read_recording(path)
    assert [(e.id, e.time, repr(dict(e.payload))) for e in fast.events] == [
        (e.id, e.time, repr(dict(e.payload))) for e in exact.events
    ]
    assert fast.problems == exact.problems
    assert fast.exchanges == exact.exchanges
    assert [e.id for e in fast.events] == ["e0", "e1", "e2", "j", "k"]
    assert len(fast.problems) == 5
