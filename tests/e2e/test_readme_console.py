"""README's "Talk to it": it shows the three ways, and the console way works as written (real process, Chromium).

The inbox and ``curl`` ways are run as written by ``tests/e2e/test_readme_talk.py``; this runs
the third: open the address the README gives (on the test's port), give the token if the page
asks for it, type a message, see the reply.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from tests.browser import by_id, chromium, find, screenshot, text_of, wait_for
from tests.e2e.service_process import ServiceProcess, SimulatorThread, write_config
from tests.support import REPO

pytestmark = pytest.mark.e2e


def talk_to_it() -> str:
    """The README's text from "Talk to it" to the next heading."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("Talk to it")
    end = text.index("\n## ", start)
    return text[start:end]


def test_the_readme_shows_the_three_ways() -> None:
    section = talk_to_it()
    assert re.search(r"^echo .* >> inbox\.txt", section, flags=re.M), "the inbox file"
    assert re.search(r"^curl .*localhost:8766/messages", section, flags=re.M), "curl to /messages"
    assert "open `http://127.0.0.1:8766/`" in section, "the console"


@pytest.mark.xfail(strict=True, reason="needs POST /messages and GET /messages/{id} (the HTTP ingest) in this tree")
def test_the_console_way_works_as_written(tmp_path: Path) -> None:
    [address] = re.findall(r"open `(http://127\.0\.0\.1:8766/)`", talk_to_it())
    simulator = SimulatorThread()
    try:
        config = write_config(tmp_path, reply={"enabled": True}, llm={"base_url": simulator.base_url})
        service = ServiceProcess(config)
        try:
            with chromium() as browser:
                browser.get(address.replace(":8766", f":{service.port}"))
                wait_for(browser, lambda: text_of(browser, "readiness-badge") == "readiness: ready", what="readiness")
                token_file = tmp_path / "data" / "being.duckdb.token"
                if token_file.exists():  # the service asks for its token: give it as the page asks
                    wait_for(browser, lambda: "401" in text_of(browser, "token-status"), what="the token request")
                    by_id(browser, "token-input").send_keys(token_file.read_text(encoding="utf-8").strip())
                    by_id(browser, "token-use").click()
                by_id(browser, "chat-input").send_keys("Hello from the console")
                by_id(browser, "chat-send").click()
                wait_for(
                    browser,
                    lambda: find(browser, "#chat-log li.being") or "not available" in text_of(browser, "chat-status"),
                    what="the reply or the refusal",
                    timeout_s=60,
                )
                screenshot(browser, "readme-console-way")
                assert text_of(browser, "chat-status").startswith("sent as "), text_of(browser, "chat-status")
                [reply] = find(browser, "#chat-log li.being")
                assert reply.text.strip() and reply.get_attribute("data-outcome") == "success"
            service.signal(signal.SIGTERM)
            assert service.wait() == 0
        finally:
            service.stop()
    finally:
        simulator.stop()
