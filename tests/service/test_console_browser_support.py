"""The browser tests' support: without Chromium a test is skipped on a workstation and fails under CI."""

from __future__ import annotations

import shutil

import pytest

from tests import browser


def test_a_missing_browser_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium-driver"):
        browser.chromium_paths()


def test_a_missing_browser_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI must not skip the browser tests"):
        browser.chromium_paths()


def test_the_flags_keep_chromium_off_the_network() -> None:
    for flag in ("--headless", "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        assert flag in browser.CHROMIUM_FLAGS
