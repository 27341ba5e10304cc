"""A real headless Chromium for the console's tests: Debian's ``chromium`` and ``chromium-driver``, driven by Selenium.

No browser is downloaded: the binaries are the system's (``.ci/run`` installs them), and
Selenium is given both paths so its driver manager never runs. Without them (or without
Selenium) a test is skipped, but fails under CI (env ``CI``), like the Redis tests; test modules
import nothing of Selenium themselves, so a missing package is reported here too. Screenshots go to ``test-artifacts/``
at the repository's root (or the folder in env ``TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support import REPO

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

# The machine may have no network: without these Chromium keeps trying to reach Google's services.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI must not skip the browser tests")
    pytest.skip(reason)


def chromium_paths() -> tuple[str, str]:
    """``(chromium, chromedriver)`` from PATH; skips the test when missing, fails it under CI."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        _missing("chromium and chromedriver are not installed (apt-get install chromium chromium-driver; .ci/run does)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        _missing("selenium is not installed (pip install -e '.[dev]')")
    assert browser is not None and driver is not None
    return browser, driver


def artifacts_dir() -> Path:
    """Where the tests write their screenshots."""
    folder = Path(os.environ.get("TEST_ARTIFACTS") or REPO / "test-artifacts") / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile, quit (and its profile removed) at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = chromium_paths()
    profile = tempfile.mkdtemp(prefix="being-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield session
    finally:
        session.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(session: WebDriver, name: str) -> Path:
    """Save the page as ``<artifacts>/<name>.png``; returns the path."""
    path = artifacts_dir() / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
    assert session.save_screenshot(str(path)), f"the screenshot {path} was not written"
    return path


def wait_for(session: WebDriver, condition: Callable[[], Any], *, timeout_s: float = 30.0, what: str) -> Any:
    """Poll ``condition`` (it reads the page) until it gives a true value; fail after ``timeout_s``.

    The failure names what was awaited and saves a screenshot of the page as it was.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            shot = screenshot(session, f"timeout-{what}")
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (page: {shot})")
        time.sleep(0.05)


def find(session: WebDriver, selector: str) -> list[WebElement]:
    """The elements matching a CSS selector, in document order."""
    return session.find_elements("css selector", selector)


def by_id(session: WebDriver, element_id: str) -> WebElement:
    """The element with this id (fails when there is none)."""
    return session.find_element("id", element_id)


def text_of(session: WebDriver, element_id: str) -> str:
    """The visible text of the element with this id ('' when there is none yet)."""
    found = session.find_elements("id", element_id)
    return found[0].text if found else ""


def policy_violations(session: WebDriver) -> list[str]:
    """Browser log lines about the Content-Security-Policy refusing something."""
    return [
        entry["message"]
        for entry in session.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]
