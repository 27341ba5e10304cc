"""Reading a recording pauses the garbage collector and leaves it as it found it, whatever happens."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

import sinks._recording_read as recording_read
from sinks import Recording, RecordingError, read_recording
from tests.sinks.recording_support import event, head, item, write_jsonl


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was_on = gc.isenabled()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
        else:
            gc.disable()


@pytest.mark.parametrize("on", [True, False])
def test_paused_while_reading_and_left_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    if on:
        gc.enable()
    else:
        gc.disable()
    path = write_jsonl(tmp_path / "rec.jsonl", [head(), item(event(1))])
    seen: list[bool] = []
    original = recording_read._read_jsonl

    def watched(p: Path) -> Recording:
        seen.append(gc.isenabled())
        return original(p)

    monkeypatch.setattr(recording_read, "_read_jsonl", watched)
    recording = read_recording(path)
    assert [e.id for e in recording.events] == ["e1"]
    assert seen == [False]
    assert gc.isenabled() is on


def test_on_again_after_a_file_that_is_not_a_recording(tmp_path: Path) -> None:
    gc.enable()
    path = write_jsonl(tmp_path / "rec.jsonl", ["not json"])
    with pytest.raises(RecordingError, match="header is not JSON"):
        read_recording(path)
    assert gc.isenabled()
