"""The console in a real headless Chromium, against a stand-in that serves the routes' documented shapes.

These check the page's side of each contract (the chat, the live stream, the panels, the token,
escaping, and what it says when a route is missing) independently of the service; the same page
against the real ``being run`` is ``tests/e2e/test_console.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from tests.browser import by_id, chromium, find, policy_violations, screenshot, text_of, wait_for
from tests.console_standin import StandIn

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

HOSTILE = 'hi <script>window.__pwned = 1</script><img src="/nope" onerror="window.__pwned = 2"> & "quotes"'
TOKEN = "s3cret+token/for=the%console's-test"  # characters a link must percent-encode (no spaces: auth's rule)
LINK_TOKEN = quote(TOKEN, safe="")


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """One Chromium for the module: each test's server has its own port, so its own origin and storage."""
    with chromium() as session:
        yield session


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn(token=TOKEN, reply_prefix="you said: ")
    server.goals.append({"id": "g1", "text": "water the <b>plants</b>", "status": "open", "due": None})
    server.goals.append({"id": "g2", "text": "an old goal", "status": "done", "due": None})
    server.dead_letters.append(
        {
            "id": "d1",
            "time": "2026-03-01T12:00:00+00:00",
            "source": "inbox",
            "reason": "undecodable",
            "raw": "<svg/onload=x>",
        }
    )
    yield server
    server.stop()


def send_in_page(session: WebDriver, text: str) -> None:
    box = by_id(session, "chat-input")
    box.clear()
    box.send_keys(text)
    by_id(session, "chat-send").click()


def being_lines(session: WebDriver) -> list[str]:
    return [line.text for line in find(session, "#chat-log li.being")]


def test_a_message_typed_in_the_page_gets_its_reply_shown_as_text(browser: WebDriver, standin: StandIn) -> None:
    standin.add_episode("system.start", "stored before the page opened")
    browser.get(f"{standin.url}/#token={LINK_TOKEN}")
    wait_for(browser, lambda: "#" not in browser.current_url, what="the token fragment to leave the address bar")
    assert browser.execute_script("return sessionStorage.getItem('being.token')") == TOKEN
    send_in_page(browser, HOSTILE)
    [reply] = wait_for(browser, lambda: being_lines(browser), what="the reply in the chat")
    assert reply == "you said: " + HOSTILE
    assert [line.text for line in find(browser, "#chat-log li.you")] == [HOSTILE]
    # the live stream got the message and its reply, as text
    wait_for(browser, lambda: "user.reply" in text_of(browser, "episodes"), what="the reply episode in the stream")
    episodes = text_of(browser, "episodes")
    assert HOSTILE in episodes
    # newest on top: the live ones above the one read back from GET /episodes
    assert episodes.index("user.reply") < episodes.index("user.message") < episodes.index("stored before the page")
    assert "live" in text_of(browser, "stream-status")
    assert browser.execute_script("return window.__pwned") is None
    assert find(browser, "main img, main script, main b, main svg") == []
    screenshot(browser, "chat-reply-standin")
    [posted] = [m for m in standin.messages.values()]
    assert (posted.text, posted.urgent, posted.sender) == (HOSTILE, False, "console")
    guarded = [s for s in standin.seen if s.path_qs != "/" and not s.path_qs.startswith(("/console/", "/readyz"))]
    assert guarded and all(s.authorization == f"Bearer {TOKEN}" for s in guarded)
    assert not any(LINK_TOKEN in s.path_qs or "s3cret" in s.path_qs for s in standin.seen)  # never in a URL
    assert {s.path_qs.split("?")[0] for s in guarded} >= {"/messages", "/events", "/status", "/goals", "/dead-letters"}
    assert policy_violations(browser) == []


def test_an_urgent_message_is_sent_urgent(browser: WebDriver, standin: StandIn) -> None:
    browser.get(f"{standin.url}/#token={LINK_TOKEN}")
    by_id(browser, "chat-urgent").click()
    send_in_page(browser, "the disk is full")
    wait_for(browser, lambda: being_lines(browser), what="the reply")
    [posted] = list(standin.messages.values())
    assert posted.urgent is True
    assert "user.urgent" in wait_for(browser, lambda: text_of(browser, "episodes"), what="episodes")


def test_the_panels_show_protections_goals_dead_letters_and_readiness(browser: WebDriver, standin: StandIn) -> None:
    browser.get(f"{standin.url}/#token={LINK_TOKEN}")
    protections = wait_for(browser, lambda: text_of(browser, "protections-list"), what="the protections")
    assert "reply" in protections and "closed" in protections
    assert "120 of 120" in protections and "0 hits" in protections
    goals = wait_for(browser, lambda: text_of(browser, "goals-list"), what="the goals")
    assert goals == "water the <b>plants</b>"  # open goals only, as text
    letters = wait_for(browser, lambda: text_of(browser, "dead-letters-list"), what="the dead letters")
    assert "undecodable" in letters and "<svg/onload=x>" in letters
    assert text_of(browser, "readiness-badge") == "readiness: ready"
    assert "<b>no</b> calls yet" in text_of(browser, "readiness-list")
    assert find(browser, "main b, main svg") == []
    screenshot(browser, "panels-standin")


def test_without_a_token_the_page_asks_for_it_once_and_keeps_it_for_the_tab(
    browser: WebDriver, standin: StandIn
) -> None:
    browser.get(standin.url + "/")
    wait_for(browser, lambda: "401" in text_of(browser, "token-status"), what="the page to say it needs the token")
    assert text_of(browser, "protections-list") == ""
    field = by_id(browser, "token-input")
    field.send_keys(TOKEN)
    by_id(browser, "token-use").click()
    wait_for(browser, lambda: "reply" in text_of(browser, "protections-list"), what="the protections with the token")
    assert browser.execute_script("return sessionStorage.getItem('being.token')") == TOKEN
    assert browser.execute_script("return localStorage.length") == 0
    assert browser.get_cookies() == []
    browser.refresh()  # the same tab keeps it
    wait_for(browser, lambda: "reply" in text_of(browser, "protections-list"), what="the protections after a reload")
    by_id(browser, "token-forget").click()
    assert browser.execute_script("return sessionStorage.getItem('being.token')") is None


def test_a_service_without_the_routes_is_said_plainly_and_the_stream_falls_back(browser: WebDriver) -> None:
    standin = StandIn(routes={"episodes"})  # today's service: no /messages, /events, /goals, /dead-letters
    try:
        standin.add_episode("user.message", "an <i>old</i> <script>window.__pwned = 3</script> message")
        browser.get(standin.url + "/")
        wait_for(browser, lambda: "old" in text_of(browser, "episodes"), what="the polled episode")
        assert "an <i>old</i> <script>window.__pwned = 3</script> message" in text_of(browser, "episodes")
        assert "no GET /events" in text_of(browser, "stream-status")
        assert "/episodes" in text_of(browser, "stream-status")
        standin.add_episode("user.reply", "a later one")
        wait_for(browser, lambda: "a later one" in text_of(browser, "episodes"), what="the next poll")
        for panel, route in (("goals", "/goals"), ("dead-letters", "/dead-letters"), ("protections", "/status")):
            note = wait_for(browser, lambda p=panel: text_of(browser, f"{p}-status").strip(" …"), what=panel)
            assert note == f"not available: this service has no GET {route}", panel
        send_in_page(browser, "anyone there?")
        wait_for(browser, lambda: "POST /messages" in text_of(browser, "chat-status"), what="the chat's refusal")
        assert text_of(browser, "chat-status") == "not available: this service has no POST /messages"
        assert being_lines(browser) == []
        assert browser.execute_script("return window.__pwned") is None
        screenshot(browser, "degraded-standin")
    finally:
        standin.stop()


def test_after_a_fallback_the_page_shows_the_deferred_answer_when_it_comes(browser: WebDriver) -> None:
    standin = StandIn(reply_prefix="the LLM is down: ", reply_outcome="fallback")
    try:
        browser.get(standin.url + "/")
        send_in_page(browser, "are you there?")
        wait_for(browser, lambda: being_lines(browser), what="the fallback")
        assert being_lines(browser) == ["(fallback) the LLM is down: are you there?"]
        standin.add_reply("yes, I am here", "deferred")
        wait_for(browser, lambda: len(being_lines(browser)) == 2, what="the deferred answer")
        assert being_lines(browser)[1] == "(deferred) yes, I am here"
        assert [li.get_attribute("data-outcome") for li in find(browser, "#chat-log li.being")] == [
            "fallback",
            "deferred",
        ]
    finally:
        standin.stop()


def test_a_service_with_replies_off_says_the_message_is_stored(browser: WebDriver) -> None:
    standin = StandIn(reply_outcome=None)
    try:
        browser.get(standin.url + "/")
        send_in_page(browser, "hello")
        wait_for(browser, lambda: find(browser, "#chat-log li.failed"), what="the stored note", timeout_s=40)
        [note] = find(browser, "#chat-log li.failed")
        assert note.text == "stored; this service does not answer (replies are off)"
        assert being_lines(browser) == []
    finally:
        standin.stop()


def test_a_refused_send_tried_again_is_the_same_message(browser: WebDriver, standin: StandIn) -> None:
    standin.refuse_posts = 1
    browser.get(f"{standin.url}/#token={LINK_TOKEN}")
    send_in_page(browser, "once only")
    wait_for(browser, lambda: "503" in text_of(browser, "chat-status"), what="the refusal")
    assert "try again" in text_of(browser, "chat-status")
    by_id(browser, "chat-send").click()  # the text is still in the box: send it again
    wait_for(browser, lambda: being_lines(browser), what="the reply")
    send_in_page(browser, "once only")  # the same words again, on purpose: a new message
    wait_for(browser, lambda: len(being_lines(browser)) == 2, what="the second reply")
    keys = [s.idempotency_key for s in standin.seen if s.method == "POST"]
    assert len(keys) == 3 and keys[0] == keys[1] != keys[2]
    assert len(standin.messages) == 2
