"""What a fault test asserts about a database after the service stopped: stored once, answered once.

The ledger is read from the database file with the service stopped; the inbox lines are the
test's own record of what was written. Every assertion is an exact count.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.service_process import query

ANSWERS = frozenset({"success", "fallback"})
DEFERRED = "deferred"


@dataclass(frozen=True, slots=True)
class Ledger:
    """The user messages and replies one database holds.

    Attributes:
        messages: event id → text, one entry per ``user.message``/``user.urgent`` episode.
        stored: how many such episodes there are (more than ``len(messages)`` means a message twice).
        replies: event id → outcome → how many ``user.reply`` episodes with that outcome.
        orphans: replies whose event id names no stored message.
    """

    messages: dict[str, str]
    stored: int
    replies: dict[str, Counter[str]] = field(default_factory=dict)
    orphans: int = 0

    @property
    def texts(self) -> list[str]:
        return sorted(self.messages.values())

    def answered(self) -> set[str]:
        """Message ids with at least one success or fallback reply."""
        return {mid for mid, outcomes in self.replies.items() if sum(outcomes[o] for o in ANSWERS) > 0}

    def outcomes(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for outcomes in self.replies.values():
            total.update(outcomes)
        return total


def read_ledger(database: Path) -> Ledger:
    """The messages and replies in ``database`` (the service must have exited)."""
    rows = query(
        database,
        "SELECT data->>'event_id', data->>'text' FROM episodes WHERE type IN ('user.message', 'user.urgent')",
    )
    messages = {str(event_id): str(text) for event_id, text in rows}
    replies: dict[str, Counter[str]] = {}
    orphans = 0
    reply_rows = query(database, "SELECT data->>'event_id', outcome FROM episodes WHERE type = 'user.reply'")
    for event_id, outcome in reply_rows:
        if event_id not in messages:
            orphans += 1
            continue
        replies.setdefault(str(event_id), Counter())[str(outcome)] += 1
    return Ledger(messages=messages, stored=len(rows), replies=replies, orphans=orphans)


def assert_stored_once(ledger: Ledger, lines: Sequence[str]) -> None:
    """Every line written is one message episode, and nothing else is (the lines are distinct)."""
    assert len(set(lines)) == len(lines), "the test must write distinct lines"
    assert ledger.stored == len(ledger.messages), f"{ledger.stored - len(ledger.messages)} message episodes twice"
    written, stored = Counter(lines), Counter(ledger.messages.values())
    lost = sorted((written - stored).elements())
    extra = sorted((stored - written).elements())
    assert not lost, f"{len(lost)} of {len(lines)} lines lost, e.g. {lost[:3]}"
    assert not extra, f"{len(extra)} messages nobody wrote (or split lines), e.g. {extra[:3]}"


def assert_answered_once(ledger: Ledger, *, outcomes: Iterable[str] = ANSWERS) -> None:
    """Every message has exactly one success/fallback reply and at most one deferred one; nothing else."""
    allowed = set(outcomes)
    assert ledger.orphans == 0, f"{ledger.orphans} replies to no stored message"
    unanswered = [mid for mid in ledger.messages if mid not in ledger.replies]
    assert not unanswered, f"{len(unanswered)} of {len(ledger.messages)} messages without a reply"
    for mid, counts in ledger.replies.items():
        answers = sum(counts[o] for o in ANSWERS)
        assert answers == 1, f"message {mid} ({ledger.messages[mid]!r}): {answers} answers, {dict(counts)}"
        assert counts[DEFERRED] <= 1, f"message {mid}: {counts[DEFERRED]} deferred replies"
        unexpected = set(counts) - allowed - {DEFERRED}
        assert not unexpected, f"message {mid}: replies with outcome {sorted(unexpected)}"


def write_lines(inbox: Path, lines: Sequence[str], *, chunks: int = 10) -> None:
    """Append ``lines`` in ``chunks`` appends (open, write, close), as `echo >>` does."""
    size = max(1, len(lines) // chunks)
    for start in range(0, len(lines), size):
        with inbox.open("a", encoding="utf-8") as handle:
            handle.write("".join(f"{line}\n" for line in lines[start : start + size]))


def stop_data(database: Path) -> list[tuple[str, dict[str, object]]]:
    """(outcome, data) of every ``system.stop`` episode, oldest first."""
    rows = query(database, "SELECT outcome, data::VARCHAR FROM episodes WHERE type = 'system.stop' ORDER BY time")
    return [(str(outcome), json.loads(data)) for outcome, data in rows]
