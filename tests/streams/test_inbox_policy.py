"""InboxPolicy's defaults, bounds and messages, and the names the inbox gives the files it sets aside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streams import InboxPolicy
from streams._inbox_events import stamp
from tests.operators.policy_shape import assert_policy_shape
from tests.streams.inbox_support import Harness, harness_on


def test_the_documented_defaults_and_the_policy_shape() -> None:
    p = InboxPolicy()
    assert (p.max_bytes, p.max_line_bytes, p.max_pending_events) == (1024 * 1024, 64 * 1024, 256)
    assert (p.urgent_prefix, p.quiet_s) == ("!URGENT", 2.0)
    assert_policy_shape(InboxPolicy)


def test_policy_bounds_themselves_are_allowed() -> None:
    InboxPolicy(max_bytes=5, max_line_bytes=1, max_pending_events=1, quiet_s=0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_bytes": 0}, "InboxPolicy.max_bytes: expected >= 1, got 0"),
        ({"max_line_bytes": 0}, "InboxPolicy.max_line_bytes: expected >= 1, got 0"),
        ({"max_pending_events": 0}, "InboxPolicy.max_pending_events: expected >= 1, got 0"),
        ({"max_pending_events": -3}, "InboxPolicy.max_pending_events: expected >= 1, got -3"),
        (
            {"max_bytes": 4, "max_line_bytes": 1},
            "InboxPolicy.max_bytes: expected >= max_line_bytes + 4 = 5 (room for the longest line and its newline),"
            " got 4",
        ),
        ({"quiet_s": -0.5}, "InboxPolicy.quiet_s: expected >= 0, got -0.5"),
        ({"quiet_s": float("nan")}, "InboxPolicy.quiet_s: expected >= 0, got nan"),
    ],
)
def test_policy_checks_say_what_expected_and_got(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        InboxPolicy(**kwargs)
    assert str(raised.value) == message


def test_two_claims_at_the_same_time_get_two_names(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "first\n")
    path = harness.path
    harness.tick(1.0)
    path.write_text("second\n", encoding="utf-8")
    harness.tick(1.0)
    at = stamp(harness.scheduler.now)
    assert [p.name for p in harness.claimed()] == [f"inbox.txt.{at}-1.claimed", f"inbox.txt.{at}.claimed"]


def test_a_claim_takes_the_first_of_a_thousand_free_names_and_with_none_left_the_inbox_waits(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    harness = Harness(path)
    harness.tick(0.5)  # started: what lies beside the inbox from now on is not a leftover claim
    harness.scheduler.advance_to(1.0)
    at = stamp(harness.scheduler.now)
    names = [tmp_path / f"inbox.txt.{at}{'' if n == 0 else f'-{n}'}.claimed" for n in range(1000)]
    for name in names[:999]:
        name.write_text("", encoding="utf-8")
    path.write_text("first\n", encoding="utf-8")
    assert [e.payload["text"] for e in harness.tick(1.0)] == ["first"]
    assert names[999].read_text(encoding="utf-8") == "first\n"  # the last free name
    path.write_text("second\n", encoding="utf-8")
    assert harness.tick(1.0) == []
    assert path.read_text(encoding="utf-8") == "second\n"  # left in place for the next tick
    ((what, error),) = harness.errors
    assert what == "read inbox" and isinstance(error, FileExistsError)
    assert str(error) == f"no free name to set {path} aside"
