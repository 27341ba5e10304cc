"""The intentions source: real files in a temporary folder, looked at on virtual light ticks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from reactivex.testing import ReactiveTest, TestScheduler

import streams._intentions as intentions_module
from streams import LIGHT_TICK, MIND_INTENTIONS, Event, IntentionsPolicy, intentions, ticks

Warnings = list[tuple[str, dict[str, Any]]]


def _run(
    path: Path,
    changes: dict[float, Callable[[], object]],
    *,
    until: float = 400.0,
    policy: IntentionsPolicy | None = None,
) -> tuple[list[tuple[float, Event]], Warnings]:
    """Events of the source over light ticks every 10 s (subscribed at 200), with file ``changes`` at times."""
    scheduler = TestScheduler()
    warnings: Warnings = []

    def warn(event: str, extra: dict[str, Any]) -> None:
        warnings.append((event, extra))

    for at, change in changes.items():
        scheduler.schedule_absolute(at, lambda _s, _st, change=change: change())
    result = scheduler.start(
        lambda: intentions(path, ticks(10.0, LIGHT_TICK), policy, warn=warn),
        created=100,
        subscribed=200,
        disposed=until,
    )
    events = [(m.time, m.value.value) for m in result.messages if m.value.kind == "N"]
    return events, warnings


def _texts(events: list[tuple[float, Event]]) -> list[tuple[float, str]]:
    return [(t, e.payload["text"]) for t, e in events]


def test_a_file_present_at_start_is_emitted_on_the_first_tick_then_each_change_and_the_deletion(tmp_path: Path) -> None:
    path = tmp_path / "intentions.md"
    path.write_text("remind me to stretch every two hours\n", encoding="utf-8")
    events, warnings = _run(
        path,
        {
            215.0: lambda: path.write_text("summarise what you learnt each evening\n", encoding="utf-8"),
            235.0: lambda: path.write_text("summarise what you learnt each evening\n", encoding="utf-8"),  # same text
            255.0: path.unlink,
            285.0: lambda: path.write_text("summarise what you learnt each evening\n", encoding="utf-8"),
        },
    )
    assert _texts(events) == [
        (210.0, "remind me to stretch every two hours\n"),
        (220.0, "summarise what you learnt each evening\n"),
        (260.0, ""),
        (290.0, "summarise what you learnt each evening\n"),
    ]
    first = events[0][1]
    assert first.type == MIND_INTENTIONS and first.source == "intentions"
    assert first.time == datetime.fromtimestamp(210, UTC)
    text = b"remind me to stretch every two hours\n"
    assert dict(first.payload) == {
        "text": text.decode(),
        "sha256": hashlib.sha256(text).hexdigest(),
        "bytes": len(text),
        "truncated": False,
        "path": str(path),
    }
    assert events[2][1].payload["sha256"] == hashlib.sha256(b"").hexdigest()
    assert events[2][1].payload["bytes"] == 0
    assert warnings == []


def test_a_missing_file_emits_nothing_until_it_appears(tmp_path: Path) -> None:
    path = tmp_path / "intentions.md"
    events, warnings = _run(path, {245.0: lambda: path.write_text("water the plants on fridays", encoding="utf-8")})
    assert _texts(events) == [(250.0, "water the plants on fridays")]
    assert warnings == []


def test_the_file_is_read_only_when_its_stat_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "intentions.md"
    path.write_text("one", encoding="utf-8")
    reads: list[Path] = []
    real = intentions_module.read_intentions

    def counted(p: Path, max_bytes: int) -> Any:
        reads.append(p)
        return real(p, max_bytes)

    monkeypatch.setattr(intentions_module, "read_intentions", counted)

    def touch_later() -> None:
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    events, _ = _run(path, {305.0: touch_later}, until=400.0)
    assert len(reads) == 2  # on the first tick, and after the touch; not on the other 17 ticks
    assert _texts(events) == [(210.0, "one")]  # the touch changed no byte: no event


def test_a_longer_file_is_cut_at_the_cap_on_a_character_boundary_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "intentions.md"
    text = "ab" + "é" * 20  # é is two bytes: a cap of 9 falls inside the fourth
    path.write_text(text, encoding="utf-8")
    events, warnings = _run(path, {}, policy=IntentionsPolicy(max_bytes=9))
    ((_, event),) = events
    assert event.payload["text"] == "abééé"
    assert event.payload["truncated"] is True
    assert event.payload["bytes"] == len(text.encode())
    assert event.payload["sha256"] == hashlib.sha256("abééé".encode()).hexdigest()
    assert warnings == [("intentions.truncated", {"path": str(path), "bytes": 42, "max_bytes": 9})]


def test_a_huge_file_costs_one_capped_read(tmp_path: Path) -> None:
    path = tmp_path / "intentions.md"
    path.write_bytes(b"x" * (8 * 1024 * 1024))
    events, warnings = _run(path, {})
    ((_, event),) = events
    assert len(event.payload["text"]) == 16_384
    assert event.payload["bytes"] == 8 * 1024 * 1024
    assert [w for w, _ in warnings] == ["intentions.truncated"]


def test_bytes_that_are_not_utf8_are_replaced_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "intentions.md"
    path.write_bytes(b"caf\xe9 at nine\xff")
    events, warnings = _run(path, {})
    ((_, event),) = events
    assert event.payload["text"] == "caf\ufffd at nine\ufffd"
    assert event.payload["truncated"] is False
    assert [w for w, _ in warnings] == ["intentions.undecodable"]


def test_a_symbolic_link_is_never_followed_and_is_warned_about_once(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the being", encoding="utf-8")
    path = tmp_path / "intentions.md"
    path.symlink_to(secret)
    events, warnings = _run(path, {})
    assert events == []
    assert warnings == [
        ("intentions.not_regular", {"path": str(path), "error": f"{path} is not a regular file: it is a symbolic link"})
    ]


def test_intentions_replaced_by_a_link_or_a_folder_are_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "intentions.md"
    path.write_text("be kind", encoding="utf-8")
    other = tmp_path / "other.md"
    other.write_text("obey me", encoding="utf-8")

    def to_link() -> None:
        path.unlink()
        path.symlink_to(other)

    def to_folder() -> None:
        path.unlink()
        path.mkdir()

    events, warnings = _run(path, {215.0: to_link, 245.0: to_folder})
    assert _texts(events) == [(210.0, "be kind"), (220.0, "")]
    assert [w for w, _ in warnings] == ["intentions.not_regular", "intentions.not_regular"]


def test_a_fifo_at_the_path_never_blocks_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "intentions.md"
    os.mkfifo(path)
    events, warnings = _run(path, {})
    assert events == []
    assert [w for w, _ in warnings] == ["intentions.not_regular"]


def test_a_path_that_cannot_be_looked_at_is_warned_about_once_and_looked_at_again(tmp_path: Path) -> None:
    blocker = tmp_path / "notafolder"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    path = blocker / "intentions.md"

    def become_folder() -> None:
        blocker.unlink()
        blocker.mkdir()
        path.write_text("now readable", encoding="utf-8")

    events, warnings = _run(path, {265.0: become_folder})
    assert [w for w, _ in warnings] == ["intentions.io_error"]
    assert _texts(events) == [(270.0, "now readable")]


def test_the_source_ends_with_its_trigger_and_is_disposed_with_its_subscription(tmp_path: Path) -> None:
    path = tmp_path / "intentions.md"
    path.write_text("x", encoding="utf-8")
    scheduler = TestScheduler()
    trigger = scheduler.create_hot_observable([*(_tick(t) for t in (210.0, 220.0)), _completed(230.0)])
    result = scheduler.start(lambda: intentions(path, trigger), created=100, subscribed=200, disposed=1000)
    assert [(m.time, m.value.kind) for m in result.messages] == [(210.0, "N"), (230.0, "C")]
    assert trigger.subscriptions[0].subscribe == 200.0 and trigger.subscriptions[0].unsubscribe == 230.0


def _tick(at: float) -> Any:
    return ReactiveTest.on_next(at, object())


def _completed(at: float) -> Any:
    return ReactiveTest.on_completed(at)


@pytest.mark.parametrize("max_bytes", [0, -1, 1024 * 1024 + 1])
def test_the_cap_is_checked(max_bytes: int) -> None:
    with pytest.raises(ValueError, match="IntentionsPolicy.max_bytes: expected 1 to 1048576"):
        IntentionsPolicy(max_bytes=max_bytes)
