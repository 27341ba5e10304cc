"""A replay keeps what existed when its drive began out of the collector's full passes, and gives it back at the end."""

from __future__ import annotations

import asyncio
import gc
from datetime import datetime
from pathlib import Path

import pytest

from service.replay import ReplayOptions, run_replay
from service.replay._run import REPLAY_GC_THRESHOLD
from tests.service.test_replay import base_recording, episodes, settings_for


def test_the_recording_is_frozen_while_the_replay_drives_and_unfrozen_after(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "[reply]\nenabled = false\n")
    recording = base_recording()
    before = gc.get_freeze_count()
    thresholds = gc.get_threshold()
    during: list[int] = []
    young: list[int] = []

    def on_progress(_done: int, _now: datetime) -> None:
        during.append(gc.get_freeze_count())
        young.append(gc.get_threshold()[0])

    report = asyncio.run(
        run_replay(
            settings,
            recording,
            ReplayOptions(out=tmp_path / "frozen.duckdb"),
            on_progress=on_progress,
            install_signals=False,
        )
    )
    assert report.events == len(recording.events)
    assert during and min(during) > before  # the recording and the wiring were in the permanent generation
    assert gc.get_freeze_count() == before  # and are back in the collector's care
    assert young and min(young) >= REPLAY_GC_THRESHOLD  # young passes were rarer meanwhile
    assert gc.get_threshold() == thresholds  # and are as they were
    assert episodes(tmp_path / "frozen.duckdb")  # the replay itself did its work


def test_a_replay_that_fails_unfreezes_too(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "[reply]\nenabled = false\n")
    before = gc.get_freeze_count()
    thresholds = gc.get_threshold()

    def on_progress(_done: int, _now: datetime) -> None:
        raise RuntimeError("a progress report that breaks")

    with pytest.raises(RuntimeError, match="breaks"):
        asyncio.run(
            run_replay(
                settings,
                base_recording(),
                ReplayOptions(out=tmp_path / "broken.duckdb"),
                on_progress=on_progress,
                install_signals=False,
            )
        )
    assert gc.get_freeze_count() == before
    assert gc.get_threshold() == thresholds
